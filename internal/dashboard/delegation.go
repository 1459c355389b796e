package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/reconcile"
)

// DelegationStates gives the reconciler's last state of a delegated
// client domain (package reconcile): ok false (no error) when the
// reconciler has not seen the domain yet; an error means the states could
// not be read. It must be safe for concurrent use.
type DelegationStates interface {
	Get(ctx context.Context, domain string) (s reconcile.State, ok bool, err error)
}

// Delegation is where a delegated client domain (dns: delegated) stands:
// the reconciler's phase when it has one, else what the latest check
// says of the client's CNAMEs.
type Delegation struct {
	// Phase is one of reconcile's phases (waiting-for-cname,
	// cname-elsewhere, certificate-pending, serving, error), or "unknown"
	// before the reconciler and the checker have run.
	Phase  string `json:"phase"`
	Detail string `json:"detail"`
	// Since is when the domain entered Phase; Checked is the
	// reconciler's last run (zero without a reconciler state).
	Since   time.Time `json:"since,omitzero"`
	Checked time.Time `json:"checked,omitzero"`
	// CertificateStatus is the managed certificate's last status.
	CertificateStatus string `json:"certificate_status,omitempty"`
	// ClientRecords are the CNAMEs the client creates once.
	ClientRecords []DNSRecord `json:"client_records"`
	// Problems are the latest check's findings on the client's CNAMEs
	// (missing, or pointing elsewhere), one line each.
	Problems []string `json:"problems"`
}

// delegation returns d's Delegation, nil for a domain that is not
// delegated.
func (m *model) delegation(ctx context.Context, d config.Domain, chk *health.Result) (*Delegation, error) {
	del, ok := m.cfg.Delegated(d)
	if !ok {
		return nil, nil
	}
	out := &Delegation{Phase: "unknown", Detail: "the reconciler has not run for this domain yet",
		ClientRecords: []DNSRecord{}, Problems: []string{}}
	for _, r := range del.Records() {
		out.ClientRecords = append(out.ClientRecords, DNSRecord{Name: r.Name, Type: "CNAME", Value: r.Target})
	}
	elsewhere, missing := false, false
	if chk != nil {
		for _, f := range chk.Findings {
			switch f.Code {
			case health.CodeDelegationCNAMEMissing:
				missing = true
			case health.CodeDelegationCNAMEElsewhere:
				elsewhere = true
			default:
				continue
			}
			out.Problems = append(out.Problems, f.Message+"; "+f.Remedy)
		}
	}
	if m.delegated != nil {
		s, ok, err := m.delegated.Get(ctx, d.Name)
		if err != nil {
			return nil, fmt.Errorf("delegation state of %s: %w", d.Name, err)
		}
		if ok {
			out.Phase, out.Detail = string(s.Phase), s.Detail
			out.Since, out.Checked, out.CertificateStatus = s.Since, s.Checked, s.CertificateStatus
			return out, nil
		}
	}
	switch {
	case elsewhere:
		out.Phase, out.Detail = string(reconcile.PhaseCNAMEElsewhere), "a CNAME of the client points elsewhere (latest check)"
	case missing:
		out.Phase, out.Detail = string(reconcile.PhaseWaitingForCNAME), "waiting for the client's CNAMEs (latest check)"
	}
	return out, nil
}
