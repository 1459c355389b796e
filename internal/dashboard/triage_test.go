package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/triage"
)

// tlsReport is a TLS report of org about example.com for 2024-03-27 with
// success sessions and failed ones of result type rt at mx1.example.net
// from sending IP ip.
func tlsReport(org string, success, failed int, rt, ip string) []byte {
	details := "[]"
	if failed > 0 {
		details = fmt.Sprintf(`[{"result-type": %q, "sending-mta-ip": %q, "receiving-mx-hostname": "mx1.example.net",
			"failed-session-count": %d}]`, rt, ip, failed)
	}
	return fmt.Appendf(nil, `{"organization-name": %q, "date-range": {"start-datetime": "2024-03-27T00:00:00Z",
		"end-datetime": "2024-03-27T23:59:59Z"}, "contact-info": "tls@%s", "report-id": "triage-%s",
		"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com", "mx-host": ["*.mail.example.net"]},
		"summary": {"total-successful-session-count": %d, "total-failure-session-count": %d},
		"failure-details": %s}]}`, org, org, org, success, failed, details)
}

// TestAPIDomainTriage: the domain page's JSON carries a verdict per cluster
// of failed sessions with the reports and check it rests on.
func TestAPIDomainTriage(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{
		tlsReport("mitm.example", 3, 20, "starttls-not-supported", "192.0.2.10"),
		tlsReport("ok1.example", 100, 0, "", ""),
		tlsReport("ok2.example", 100, 0, "", ""),
		tlsReport("ok3.example", 100, 0, "", ""),
	}})
	if err := f.st.Save(context.Background(), health.Result{Domain: "example.com", CheckedAt: fixtureNow, Findings: []health.Finding{}}); err != nil {
		t.Fatal(err)
	}
	var dd struct {
		Triage []triage.Cluster `json:"triage"`
	}
	f.getJSON(t, "/api/v1/domains/example.com?from=2024-03-27&to=2024-03-27", 200, &dd)
	if len(dd.Triage) != 1 {
		t.Fatalf("triage %+v, want one cluster", dd.Triage)
	}
	c := dd.Triage[0]
	if c.MXHost != "mx1.example.net" || c.ResultType != "starttls-not-supported" || c.Day != "2024-03-27" ||
		c.Verdict != triage.Interception || c.FailedSessions != 20 || c.CheckedAt != "2024-03-28T12:00:00Z" {
		t.Fatalf("cluster %+v", c)
	}
	if !slices.Equal(c.Failing, []string{"mitm.example"}) || len(c.Succeeding) != 3 || len(c.Reports) != 4 ||
		!slices.Equal(c.Networks, []string{"192.0.2.0/24"}) {
		t.Errorf("evidence %+v", c)
	}
	keys := map[string]bool{}
	for _, r := range f.reports {
		keys[r.key] = true
	}
	for _, k := range c.Reports {
		if !keys[k] {
			t.Errorf("report %q is not one ingested", k)
		}
	}
	// A range without failures has an empty list, not null.
	var empty map[string]any
	f.getJSON(t, "/api/v1/domains/example.com?from=2018-01-01&to=2018-01-02", 200, &empty)
	if l, ok := empty["triage"].([]any); !ok || len(l) != 0 {
		t.Errorf("triage without failures: %#v", empty["triage"])
	}
}

// TestDomainPageTriage: the domain page shows each cluster's verdict, its
// reason and links to the reports it rests on.
func TestDomainPageTriage(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{
		tlsReport("mitm.example", 3, 20, "starttls-not-supported", "192.0.2.10"),
		tlsReport("ok1.example", 100, 0, "", ""),
		tlsReport("ok2.example", 100, 0, "", ""),
	}})
	if err := f.st.Save(context.Background(), health.Result{Domain: "example.com", CheckedAt: fixtureNow, Findings: []health.Finding{}}); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/domains/example.com?from=2024-03-27&to=2024-03-27")
	page := string(body)
	re := regexp.MustCompile(`(?s)<table id="triage-clusters">.*?<tr data-verdict="possible-interception"><th scope="row">2024-03-27</th><td>mx1.example.net</td><td><code>starttls-not-supported</code></td><td class="num">20</td>.*?failing: mitm.example; succeeding: 2; networks: 192.0.2.0/24`)
	if !re.MatchString(page) {
		t.Fatalf("no triage row in the domain page:\n%s", page)
	}
	for _, r := range f.reports {
		if strings.Contains(r.key, "triage-") && !strings.Contains(page, `href="/reports/`+url.PathEscape(r.key)+`"`) {
			t.Errorf("no link to report %s", r.key)
		}
	}
	_, body = f.get(t, "/domains/example.com?from=2018-01-01&to=2018-01-02")
	if !strings.Contains(string(body), "No failed sessions in this range.") {
		t.Error("no empty triage note")
	}
}
