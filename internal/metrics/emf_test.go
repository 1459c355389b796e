package metrics

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/metrics/emftest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

var now = time.Date(2024, 3, 28, 12, 0, 0, 0, time.UTC)

// entry is a stored report about example.com (40 successful, 7 failed:
// 5 certificate-expired in two rows, 2 starttls-not-supported) and
// example.org (3 successful).
func entry() store.Entry {
	return store.Entry{Facts: []store.Fact{
		{Domain: "example.com", Success: 40, Failure: 7, Failures: []store.FailureCount{
			{ResultType: tlsrpt.ResultCertificateExpired, MXHost: "mx1.example.com", Count: 3},
			{ResultType: tlsrpt.ResultSTARTTLSNotSupported, Count: 2},
			{ResultType: tlsrpt.ResultCertificateExpired, MXHost: "mx2.example.com", Count: 2},
		}},
		{Domain: "example.org", Success: 3},
	}}
}

// line renders a metric as "Name{k=v,…} value".
func line(m emftest.Metric) string {
	var dims []string
	for k, v := range m.Dimensions {
		dims = append(dims, k+"="+v)
	}
	slices.Sort(dims)
	return fmt.Sprintf("%s/%s{%s} %g %s", m.Namespace, m.Name, strings.Join(dims, ","), m.Value, m.Unit)
}

// TestEMFValid: what EMF writes is valid embedded metric format, one
// document a line, with the counts of the entry and of the check result;
// zero failures and healthy checks write nothing (each metric-hour costs).
func TestEMFValid(t *testing.T) {
	var out bytes.Buffer
	e := NewEMF(&out, func() time.Time { return now })
	e.Stored(entry())
	e.Checked(health.Result{Domain: "example.com", Findings: []health.Finding{
		{Severity: health.SeverityError}, {Severity: health.SeverityWarning}, {Severity: health.SeverityWarning}, {Severity: health.SeverityInfo}}})
	e.Checked(health.Result{Domain: "example.org", Findings: []health.Finding{}}) // healthy: nothing written
	ms, err := emftest.Lines(out.String())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, line(m))
	}
	want := []string{
		"ststack/Reports{Domain=example.com} 1 Count",
		"ststack/Sessions{Domain=example.com} 47 Count",
		"ststack/FailedSessions{Domain=example.com} 7 Count",
		"ststack/FailedSessions{Domain=example.com,ResultType=certificate-expired} 5 Count",
		"ststack/FailedSessions{Domain=example.com,ResultType=starttls-not-supported} 2 Count",
		"ststack/Reports{Domain=example.org} 1 Count",
		"ststack/Sessions{Domain=example.org} 3 Count",
		"ststack/Findings{Domain=example.com,Severity=error} 1 Count",
		"ststack/Findings{Domain=example.com,Severity=warning} 2 Count",
	}
	if !slices.Equal(got, want) {
		t.Errorf("metrics:\n got %q\nwant %q", got, want)
	}
	if n := strings.Count(out.String(), "\n"); n != 6 {
		t.Errorf("%d lines, want 6 documents", n)
	}
	if !strings.Contains(out.String(), fmt.Sprintf(`"Timestamp":%d`, now.UnixMilli())) {
		t.Errorf("no timestamp %d in\n%s", now.UnixMilli(), out.String())
	}
}

// TestEMFCheckerSeesInvalid: the validator refuses what CloudWatch would
// not extract, so TestEMFValid can fail.
func TestEMFCheckerSeesInvalid(t *testing.T) {
	ok := `{"_aws":{"Timestamp":1711627200000,"CloudWatchMetrics":[{"Namespace":"ststack","Dimensions":[["Domain"]],"Metrics":[{"Name":"Reports","Unit":"Count"}]}]},"Domain":"example.com","Reports":1}`
	if _, err := emftest.Parse([]byte(ok)); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	for name, bad := range map[string]string{
		"no timestamp":      strings.Replace(ok, `"Timestamp":1711627200000,`, "", 1),
		"no namespace":      strings.Replace(ok, `"Namespace":"ststack",`, "", 1),
		"dimension missing": strings.Replace(ok, `"Domain":"example.com",`, "", 1),
		"dimension number":  strings.Replace(ok, `"Domain":"example.com"`, `"Domain":5`, 1),
		"value missing":     strings.Replace(ok, `,"Reports":1`, "", 1),
		"value string":      strings.Replace(ok, `"Reports":1}`, `"Reports":"1"}`, 1),
		"unit unknown":      strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Reports"`, 1),
		"text after":        ok + ` trailing`,
		"prefixed":          "INFO " + ok,
	} {
		if _, err := emftest.Parse([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
}
