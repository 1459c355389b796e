package dashboard

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/reconcile"
	"github.com/ststack/ststack/internal/store/embedded"
)

const delegatedOrg = `organization: Operator
region: eu-west-1
domains:
  - {name: own.example, dns: {external: true}, policy: {mx: [mx.own.example]}}
  - {name: client.example, dns: delegated, policy: {mx: [mx.client.example]}}
delegation: {zone: clients.ops.example, hosted_zone_id: Z0123456789ABCDEFGHIJ}
reporting: {mailto: tlsrpt@own.example}
`

// TestDelegatedDomain: the domain page and the JSON API show a delegated
// domain's phase (the reconciler's state, else what the latest check says
// of the client's CNAMEs), what is wrong, and the client's records.
func TestDelegatedDomain(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse([]byte(delegatedOrg), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	states := &reconcile.MemoryStates{}
	h, err := New(Options{Config: cfg, Store: st, Delegation: states, Now: func() time.Time { return fixtureNow },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cfg: cfg, st: st, h: h, srv: httptest.NewServer(h)}
	t.Cleanup(f.srv.Close)
	key := config.DelegationKey("client.example")

	type apiDomain struct {
		DNS        DNSInfo     `json:"dns"`
		Records    []DNSRecord `json:"records"`
		Delegation *Delegation `json:"delegation"`
	}
	get := func(step string) apiDomain {
		t.Helper()
		var d apiDomain
		f.getJSON(t, "/api/v1/domains/client.example", 200, &d)
		if d.DNS.Kind != "delegated" || d.Delegation == nil || len(d.Delegation.ClientRecords) != 3 {
			t.Fatalf("%s: %+v", step, d)
		}
		if r := d.Delegation.ClientRecords[1]; r.Name != "_mta-sts.client.example" || r.Type != "CNAME" || r.Value != key+"._mta-sts.clients.ops.example" {
			t.Fatalf("%s: client record %+v", step, r)
		}
		return d
	}

	d := get("nothing yet")
	if d.Delegation.Phase != "unknown" || len(d.Delegation.Problems) != 0 {
		t.Errorf("before any run: %+v", d.Delegation)
	}
	if d.Records[0].Name != key+"._mta-sts.clients.ops.example" || d.Records[0].Type != "TXT" {
		t.Errorf("published records: %+v", d.Records)
	}

	// A check found the policy host's CNAME pointing elsewhere.
	msg := "mta-sts.client.example is a CNAME to old.example, not to " + key + ".mta-sts.clients.ops.example"
	if err := st.Save(ctx, health.Result{Domain: "client.example", CheckedAt: fixtureNow, Findings: []health.Finding{{
		Severity: health.SeverityError, Code: health.CodeDelegationCNAMEElsewhere, Subject: "mta-sts.client.example",
		Message: msg, Remedy: "the client changes the record"}}}); err != nil {
		t.Fatal(err)
	}
	d = get("check")
	if d.Delegation.Phase != string(reconcile.PhaseCNAMEElsewhere) || len(d.Delegation.Problems) != 1 || !strings.Contains(d.Delegation.Problems[0], msg) {
		t.Errorf("after the check: %+v", d.Delegation)
	}

	// The reconciler's state wins over what the check says.
	if err := states.Put(ctx, reconcile.State{Domain: "client.example", Phase: reconcile.PhaseCertificatePending,
		Detail: "ACM is validating", CertificateStatus: "pending-validation", Since: fixtureNow, Checked: fixtureNow}); err != nil {
		t.Fatal(err)
	}
	d = get("reconciler")
	if d.Delegation.Phase != "certificate-pending" || d.Delegation.CertificateStatus != "pending-validation" || len(d.Delegation.Problems) != 1 {
		t.Errorf("with a reconciler state: %+v", d.Delegation)
	}

	resp, body := f.get(t, "/domains/client.example")
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "certificate-pending") || !strings.Contains(page, "ACM is validating") ||
		!strings.Contains(page, key+".mta-sts.clients.ops.example") || !strings.Contains(page, "old.example") {
		t.Errorf("domain page: %d\n%s", resp.StatusCode, page)
	}
	// A domain that is not delegated has no delegation.
	var own apiDomain
	f.getJSON(t, "/api/v1/domains/own.example", 200, &own)
	if own.Delegation != nil {
		t.Errorf("own.example: %+v", own.Delegation)
	}
}
