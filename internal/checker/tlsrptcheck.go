package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// checkTLSRPT checks the _smtp._tls TXT record (RFC 8460 §3): exactly one
// valid v=TLSRPTv1 record that includes every expected rua.
func (r *run) checkTLSRPT(ctx context.Context) {
	name := "_smtp._tls." + r.domain
	txt, err := lookupTXT(ctx, r.c.txt, name)
	if err != nil {
		r.add(dnsFinding(name, err))
		return
	}
	configured := r.t.Policy != nil || len(r.t.RUA) > 0
	want := ruaList(r.t.RUA)
	rec, err := tlsrpt.RecordFromTXT(txt)
	switch {
	case errors.Is(err, tlsrpt.ErrNoRecord):
		sev, remedy := health.SeverityWarning, "publish "+name+` TXT "v=TLSRPTv1; rua=mailto:…" to receive reports of failed deliveries`
		if configured {
			sev = health.SeverityError
			remedy = fmt.Sprintf("publish %s TXT %q (ststack deploy does)", name, "v=TLSRPTv1; rua="+want)
		}
		r.add(finding(sev, health.CodeTLSRPTRecordMissing, "",
			name+" has no v=TLSRPTv1 TXT record: senders send no TLS reports", remedy))
		return
	case errors.Is(err, tlsrpt.ErrMultipleRecords):
		// RFC 8460 §3: more than one record: senders send no report.
		r.add(finding(health.SeverityError, health.CodeTLSRPTRecordMultiple, "",
			name+" has more than one v=TLSRPTv1 TXT record: senders send no TLS reports",
			"keep exactly one v=TLSRPTv1 record at "+name))
		return
	case err != nil:
		r.add(finding(health.SeverityError, health.CodeTLSRPTRecordInvalid, "",
			fmt.Sprintf("%s: %s", name, oneLine(err)),
			"publish "+name+` TXT "v=TLSRPTv1; rua=…"`))
		return
	}
	for _, w := range r.t.RUA {
		if !hasRUA(rec.RUA, w) {
			r.add(finding(health.SeverityError, health.CodeTLSRPTMissingEndpoint, w.String(),
				fmt.Sprintf("%s does not send reports to %s (it has rua=%s)", name, w, ruaList(rec.RUA)),
				fmt.Sprintf("publish %s TXT %q (ststack deploy does)", name, "v=TLSRPTv1; rua="+want)))
		}
	}
}

// hasRUA reports whether list includes want. mailto addresses compare
// case-insensitively (mailbox local parts are, in practice), https URIs
// exactly.
func hasRUA(list []tlsrpt.RUA, want tlsrpt.RUA) bool {
	for _, g := range list {
		if !strings.EqualFold(g.Scheme, want.Scheme) {
			continue
		}
		if strings.EqualFold(g.Scheme, "mailto") && strings.EqualFold(g.String(), want.String()) ||
			g.String() == want.String() {
			return true
		}
	}
	return false
}

func ruaList(rua []tlsrpt.RUA) string {
	s := make([]string, len(rua))
	for i, u := range rua {
		s[i] = u.String()
	}
	return strings.Join(s, ",")
}
