package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// hostile is a report about example.com whose every free-text field tries
// to inject markup.
func hostile(t *testing.T) []byte {
	t.Helper()
	const x = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	r := &tlsrpt.Report{
		OrganizationName: "Evil " + x, ContactInfo: "evil@" + x, ReportID: "evil-1" + x,
		Start: time.Date(2024, 3, 27, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 3, 27, 23, 59, 59, 0, time.UTC),
		Policies: []tlsrpt.PolicyResult{{
			Type: tlsrpt.PolicyTypeSTS, Domain: "example.com", PolicyStrings: []string{"version: STSv1", x},
			MXHosts: []string{"mx.example.com"}, Success: 1, Failure: 2,
			Failures: []tlsrpt.FailureDetail{{ResultType: tlsrpt.ResultCertificateExpired, Count: 2,
				ReceivingMXHostname: "mx.example.com", ReasonCode: x, AdditionalInfo: x, ReceivingMXHelo: x}},
		}},
	}
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPagesEscapeReportData(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{hostile(t)}})
	key := f.reports[len(f.reports)-1].key
	for _, path := range []string{
		"/", "/domains/example.com?days=7", "/reports", "/reports?organization=evil", "/reports/" + key,
	} {
		resp, body := f.get(t, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte("<script")) || bytes.Contains(body, []byte("<img")) {
			t.Errorf("GET %s: report data reached the page unescaped", path)
		}
		if path != "/" && !bytes.Contains(body, []byte("&lt;script&gt;")) {
			t.Errorf("GET %s: the hostile text is not shown escaped", path)
		}
	}
	// The API keeps the text as data, in JSON that is not HTML.
	resp, body := f.get(t, "/api/v1/reports/"+key)
	if resp.StatusCode != 200 || bytes.Contains(body, []byte("<script")) {
		t.Errorf("API: %d, raw markup in JSON: %v", resp.StatusCode, bytes.Contains(body, []byte("<script")))
	}
	var v ReportView
	if err := json.Unmarshal(body, &v); err != nil || !strings.Contains(v.Report.OrganizationName, "<script>") {
		t.Errorf("API lost the organisation name: %v %q", err, v.Report.OrganizationName)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	key := f.reports[0].key
	for _, path := range []string{
		"/", "/domains/example.org", "/reports", "/reports/" + key, "/reports/" + key + "/raw",
		"/api/v1/overview", "/api/v1/domains/example.com", "/api/v1/reports", "/api/v1/reports/" + key,
		"/static/style.css", "/nothing", "/api/v1/nothing",
	} {
		resp, _ := f.get(t, path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

// TestPagesShowTheNumbers reads the numbers of the overview and of a
// domain page as HTML (the browser test does it in Chromium).
func TestPagesShowTheNumbers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	_, body := f.get(t, "/")
	page := string(body)
	if !strings.Contains(page, `id="sample-banner"`) {
		t.Error("no sample banner on the overview")
	}
	for _, d := range f.cfg.Domains {
		want := f.expect(d.Name, "2024-02-28", "2024-03-28")
		re := regexp.MustCompile(`(?s)<tr data-domain="` + regexp.QuoteMeta(d.Name) + `">.*?data-field="sessions-30d">([0-9,]+)<`)
		m := re.FindStringSubmatch(page)
		if m == nil || m[1] != formatInt(want.success+want.failure) {
			t.Errorf("%s: sessions shown %v, want %s", d.Name, m, formatInt(want.success+want.failure))
		}
	}
	// The days to certificate expiry are those of the stored checks.
	for _, chk := range f.checks {
		want := fmt.Sprintf("%d days", chk.Certificate.DaysLeft(fixtureNow))
		re := regexp.MustCompile(`(?s)<tr data-domain="` + regexp.QuoteMeta(chk.Domain) + `">.*?data-field="certificate"><span class="status cert-[a-z]+">([^<]*)<`)
		if m := re.FindStringSubmatch(page); m == nil || m[1] != want {
			t.Errorf("%s: certificate shown %v, want %q", chk.Domain, m, want)
		}
		_, body := f.get(t, "/domains/"+chk.Domain)
		if !regexp.MustCompile(`id="domain-cert">` + want + `<`).Match(body) {
			t.Errorf("%s: domain page does not show %q", chk.Domain, want)
		}
	}
	_, body = f.get(t, "/domains/example.org?days=30")
	page = string(body)
	want := f.expect("example.org", "2024-02-28", "2024-03-28")
	for id, n := range map[string]int64{"domain-success": want.success, "domain-failure": want.failure, "domain-reports": int64(want.reports)} {
		if !strings.Contains(page, fmt.Sprintf(`id="%s">%s<`, id, formatInt(n))) {
			t.Errorf("domain page: %s is not %s", id, formatInt(n))
		}
	}
	if n := strings.Count(page, `<g data-day=`); n != 2*30 {
		t.Errorf("%d chart bars, want 2 charts of 30 days", n)
	}
	for _, s := range []string{`id="sample-banner"`, "reports-sts-failures", "v=STSv1; id=", "certificate-expired"} {
		if !strings.Contains(page, s) {
			t.Errorf("domain page lacks %q", s)
		}
	}
}
