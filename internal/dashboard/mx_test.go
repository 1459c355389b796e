package dashboard

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mxhealth"
)

// tlsaSample is the tlsa report in testdata (see its SOURCES.md).
const tlsaSample = realReports + "/tlsa-microsoft-shape.json"

// TestAPIMXTLSA: the MX view of a domain with a tlsa report shows each
// host's DANE policies with their records (also those sent as one
// JSON-encoded string), sessions, failures with their remedies, and the
// check's DANE state.
func TestAPIMXTLSA(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true})
	if err := f.st.Save(context.Background(), health.Result{Domain: "example.com", CheckedAt: fixtureNow, Findings: []health.Finding{
		{Severity: health.SeverityInfo, Code: health.CodeDANEValid, Subject: "mx1.mail.example.net", Message: "2 TLSA records, validated"},
	}, DANE: []health.DANEState{{Host: "mx1.mail.example.net", Records: []string{"3 1 1 9f2e"}, Validated: true, Usable: 1}}}); err != nil {
		t.Fatal(err)
	}
	var v MXView
	f.getJSON(t, "/api/v1/domains/example.com/mx?from=2024-02-20&to=2024-02-20", 200, &v)
	hosts := map[string]MXHost{}
	for _, h := range v.Hosts {
		hosts[h.MXHost] = h
	}
	mx1, mx2 := hosts["mx1.mail.example.net"], hosts["mx2.mail.example.net"]
	if len(v.Hosts) != 2 || v.Hosts[0].MXHost != "mx2.mail.example.net" {
		t.Fatalf("hosts %+v, want mx2 (failures) then mx1", v.Hosts)
	}
	if mx1.Success != 42 || mx1.FailedSessions != 0 || len(mx1.TLSA) != 1 || len(mx1.TLSA[0].Records) != 2 ||
		!strings.HasPrefix(mx1.TLSA[0].Records[1], "2 1 1 6b4d") || mx1.DANE == nil || !mx1.DANE.Validated || len(mx1.Findings) != 1 {
		t.Errorf("mx1 %+v", mx1)
	}
	if mx2.Success != 11 || mx2.Failure != 4 || mx2.FailedSessions != 4 || len(mx2.TLSA) != 1 ||
		!slices.Equal(mx2.TLSA[0].Records, []string{"3 1 1 0d6a1f3c5e7b9d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f"}) ||
		!slices.Equal(mx2.TLSA[0].Organizations, []string{"microsoft corporation"}) ||
		len(mx2.ByNetwork) != 1 || mx2.ByNetwork[0].Key != "2a01:111:f403::/48" {
		t.Errorf("mx2 %+v", mx2)
	}
	if len(mx2.Remedies) != 1 || mx2.Remedies[0].ResultType != "tlsa-invalid" || mx2.Remedies[0].Remedy == "" {
		t.Errorf("mx2 remedies %+v, want the one of tlsa-invalid", mx2.Remedies)
	}
	if v.CheckedAt == nil || *v.CheckedAt != "2024-03-28T12:00:00Z" {
		t.Errorf("checked_at %v", v.CheckedAt)
	}

	// The page shows the same, and the report page the records.
	resp, body := f.get(t, "/domains/example.com/mx?from=2024-02-20&to=2024-02-20")
	page := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("MX page: %d", resp.StatusCode)
	}
	for _, s := range []string{`data-mx="mx2.mail.example.net"`, "0d6a1f3c5e7b9d2f", "2 1 1 6b4d2f0e", "tlsa-invalid</code>: the MX host", "_25._tcp.mx1.mail.example.net"} {
		if !strings.Contains(page, s) {
			t.Errorf("MX page lacks %q", s)
		}
	}
	var key string
	for _, in := range f.reports {
		if in.rep.ReportID == "133529310241234567+example.com" {
			key = in.key
		}
	}
	_, body = f.get(t, "/reports/"+key)
	if !strings.Contains(string(body), `<div class="sub remedy">the MX host&#39;s certificate matched none of its TLSA records`) {
		t.Error("report page: no remedy for tlsa-invalid")
	}
	if n := strings.Count(string(body), "<li><code>3 1 1 "); n != 2 || strings.Contains(string(body), "[&#34;3 1 1") {
		t.Errorf("report page: %d tlsa records shown as records, want 2 (the JSON-encoded one read as a list)", n)
	}

	// Errors: unknown domain, bad range.
	for path, status := range map[string]int{"/api/v1/domains/nope.example/mx": 404, "/api/v1/domains/example.com/mx?days=0": 400, "/domains/example.com/mx?from=x": 400} {
		if resp, _ := f.get(t, path); resp.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, status)
		}
	}
}

// mxReport is a report of org about example.com on day: success sessions
// and failed ones of certificate-expired at mx1.mail.example.net.
func mxReport(org, day string, success, failed int) []byte {
	details := "[]"
	if failed > 0 {
		details = fmt.Sprintf(`[{"result-type": "certificate-expired", "sending-mta-ip": "198.51.%d.7", "receiving-mx-hostname": "mx1.mail.example.net",
			"failed-session-count": %d}]`, len(org), failed)
	}
	return fmt.Appendf(nil, `{"organization-name": %q, "date-range": {"start-datetime": "%sT00:00:00Z",
		"end-datetime": "%sT23:59:59Z"}, "contact-info": "tls@%s", "report-id": "mx-%s-%s",
		"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com", "mx-host": ["*.mail.example.net"]},
		"summary": {"total-successful-session-count": %d, "total-failure-session-count": %d},
		"failure-details": %s}]}`, org, day, day, org, org, day, success, failed, details)
}

// onsetReports: the organisations report example.com healthy from
// 2024-03-20 to 2024-03-24, then all fail at mx1.mail.example.net from the
// 25th to the day last.
func onsetReports(orgs []string, last int) [][]byte {
	var l [][]byte
	for _, org := range orgs {
		for d := 20; d <= last; d++ {
			day := fmt.Sprintf("2024-03-%d", d)
			if d >= 25 {
				l = append(l, mxReport(org, day, 5, 20))
			} else {
				l = append(l, mxReport(org, day, 100, 0))
			}
		}
	}
	return l
}

// TestAPIMXOnset: an MX host healthy in the reports that starts failing for
// most senders shows as failing since the first failing day, with the
// evidence.
func TestAPIMXOnset(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true, extra: onsetReports([]string{"a.example", "b.example", "c.example"}, 26)})
	var v MXView
	f.getJSON(t, "/api/v1/domains/example.com/mx?from=2024-03-20&to=2024-03-28", 200, &v)
	if len(v.Hosts) != 1 || v.Hosts[0].Onset == nil {
		t.Fatalf("hosts %+v, want mx1 with an onset", v.Hosts)
	}
	o := v.Hosts[0].Onset
	if o.Since != "2024-03-25" || o.Last != "2024-03-26" || o.HealthyDays != 5 || o.FailedSessions != 120 ||
		!slices.Equal(o.Failing, []string{"a.example", "b.example", "c.example"}) || len(o.Networks) != 1 || len(o.Reports) != 6 {
		t.Errorf("onset %+v", *o)
	}
	if v.Thresholds != mxhealth.Default {
		t.Errorf("thresholds %+v", v.Thresholds)
	}
	// The API's names are snake_case like every other field.
	var raw struct {
		Thresholds map[string]any `json:"thresholds"`
	}
	f.getJSON(t, "/api/v1/domains/example.com/mx?from=2024-03-20&to=2024-03-28", 200, &raw)
	if _, ok := raw.Thresholds["min_failed_sessions"]; !ok || len(raw.Thresholds) != 6 {
		t.Errorf("thresholds keys %v, want the six snake_case names", slices.Collect(maps.Keys(raw.Thresholds)))
	}
	resp, body := f.get(t, "/domains/example.com/mx?from=2024-03-20&to=2024-03-28")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "failing since 2024-03-25") {
		t.Errorf("MX page: %d, no failing state", resp.StatusCode)
	}
	if _, err := os.Stat(tlsaSample); err != nil {
		t.Fatal(err)
	}
}

// TestMXRealMicrosoftTLSA: the real Microsoft report with a tlsa policy
// (testdata/tlsrpt/microsoft-2025-05-tlsa.json: no mx-host, the records as
// one JSON-encoded string) renders with its records. Its domain and day
// are moved into the fixture (example.com, 2024-03-27): the fixture's clock
// refuses a report from 2025, and random.net is not served.
func TestMXRealMicrosoftTLSA(t *testing.T) {
	raw, err := os.ReadFile(realReports + "/microsoft-2025-05-tlsa.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), "random.net", "example.com")
	s = strings.ReplaceAll(s, "2025-05-23", "2024-03-27")
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{[]byte(s)}})
	var v MXView
	f.getJSON(t, "/api/v1/domains/example.com/mx?from=2024-03-27&to=2024-03-27", 200, &v)
	want := []string{"3 1 1 6007EEE553E85D8DF007A845D19EC343283D4E416E9A33F9EF3040C8B7C285BC", "3 1 1 837C773D54C2E2BD71871A3FC352BE8214D5646CBAE5E3091401A7274717998B"}
	if len(v.TLSA) != 1 || !slices.Equal(v.TLSA[0].Records, want) || v.TLSA[0].Success != 2 || len(v.Hosts) != 0 {
		t.Fatalf("domain tlsa %+v, hosts %+v: want the two records of the one policy, 2 sessions", v.TLSA, v.Hosts)
	}
	_, body := f.get(t, "/domains/example.com/mx?from=2024-03-27&to=2024-03-27")
	if !strings.Contains(string(body), `id="domain-tlsa"`) || !strings.Contains(string(body), want[1]) {
		t.Error("MX page lacks the domain's tlsa policy")
	}
	var key string
	for _, in := range f.reports {
		if in.rep.ReportID == "133925885310113267+example.com" {
			key = in.key
		}
	}
	_, body = f.get(t, "/reports/"+key)
	for _, r := range want {
		if !strings.Contains(string(body), "<li><code>"+r+"</code></li>") {
			t.Errorf("report page does not list record %s", r)
		}
	}
}
