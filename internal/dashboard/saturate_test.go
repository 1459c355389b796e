package dashboard

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// hugeReport is a report about example.com on 2024-03-27 whose 1,100
// policies each claim 2^53 successful and 2^53 failed sessions: its sums
// saturate at math.MaxInt64 in the store.
func hugeReport(id string) []byte { return hugeReportN(id, 1100, 1<<53) }

// hugeReportN is such a report with n policies of 2^53 successful and
// failures failed sessions each.
func hugeReportN(id string, policies int, failures int64) []byte {
	const n = 1 << 53
	var b strings.Builder
	fmt.Fprintf(&b, `{"organization-name":"Big Sender","date-range":{"start-datetime":"2024-03-27T00:00:00Z",`+
		`"end-datetime":"2024-03-27T23:59:59Z"},"contact-info":"tls@big.example","report-id":%q,"policies":[`, id)
	for i := range policies {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"policy":{"policy-type":"sts","policy-string":["version: STSv1"],"policy-domain":"example.com"},`+
			`"summary":{"total-successful-session-count":%d,"total-failure-session-count":%d}}`, n, failures)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestSaturatedSums: two reports of 1,100 × 2^53 sessions sum to
// math.MaxInt64 everywhere the dashboard adds (issue 14 §6): never a
// negative count, never a failure rate above 1.
func TestSaturatedSums(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{hugeReport("huge-1"), hugeReport("huge-2")}})
	checkWindow := func(what string, w Window) {
		t.Helper()
		if w.Success != math.MaxInt64 || w.Failure != math.MaxInt64 {
			t.Errorf("%s: %d/%d sessions, want both saturated at %d", what, w.Success, w.Failure, int64(math.MaxInt64))
		}
		if w.FailureRate == nil || *w.FailureRate < 0 || *w.FailureRate > 1 {
			t.Errorf("%s: failure rate %v, want within [0, 1]", what, w.FailureRate)
		}
	}
	var dd DomainDetail
	f.getJSON(t, "/api/v1/domains/example.com?days=7", 200, &dd)
	checkWindow("domain totals", dd.Totals)
	for _, p := range dd.Daily {
		if p.Success < 0 || p.Failure < 0 {
			t.Errorf("daily %s: %d/%d sessions", p.Day, p.Success, p.Failure)
		}
		if p.Day == "2024-03-27" && (p.Success != math.MaxInt64 || p.Failure != math.MaxInt64) {
			t.Errorf("daily %s: %d/%d sessions, want saturated", p.Day, p.Success, p.Failure)
		}
	}
	var o Overview
	f.getJSON(t, "/api/v1/overview", 200, &o)
	checkWindow("overview, last 7 days", o.Last7Days)
	for _, d := range o.Domains {
		if d.Domain == "example.com" {
			checkWindow("example.com, last 7 days", d.Last7Days)
		}
	}
	var l ReportList
	f.getJSON(t, "/api/v1/reports?domain=example.com&from=2024-03-27&to=2024-03-27", 200, &l)
	for _, r := range l.Reports {
		if r.Success < 0 || r.Failure < 0 {
			t.Errorf("report %s: %d/%d sessions", r.Key, r.Success, r.Failure)
		}
	}
}
