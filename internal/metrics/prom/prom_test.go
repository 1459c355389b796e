package prom

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

type results map[string]health.Result

func (r results) Last(_ context.Context, d string) (health.Result, bool, error) {
	res, ok := r[d]
	return res, ok, nil
}

// TestExporter: what Stored counts and the latest results are what a
// scrape gives, parsed by the Prometheus text parser.
func TestExporter(t *testing.T) {
	e := New([]string{"example.com", "example.org"}, results{"example.com": {Domain: "example.com",
		CheckedAt: time.Unix(1711627200, 0), Findings: []health.Finding{{Severity: health.SeverityWarning}}}})
	e.Stored(store.Entry{Facts: []store.Fact{{Domain: "example.com", Success: 40, Failure: 7, Failures: []store.FailureCount{
		{ResultType: tlsrpt.ResultCertificateExpired, Count: 3}, {ResultType: tlsrpt.ResultCertificateExpired, MXHost: "mx2", Count: 2},
		{ResultType: tlsrpt.ResultSTARTTLSNotSupported, Count: 2}}}}})
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, rec.Body.String())
	}
	got := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.Counter.GetValue()
			}
			got[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	for k, want := range map[string]float64{
		"ststack_reports_total{domain=example.com}":                                            1,
		"ststack_reports_total{domain=example.org}":                                            0,
		"ststack_sessions_total{domain=example.com}":                                           47,
		"ststack_failed_sessions_total{domain=example.com}":                                    7,
		"ststack_failure_details_total{domain=example.com,result_type=certificate-expired}":    5,
		"ststack_failure_details_total{domain=example.com,result_type=starttls-not-supported}": 2,
		"ststack_findings{domain=example.com,severity=warning}":                                1,
		"ststack_findings{domain=example.com,severity=error}":                                  0,
		"ststack_check_timestamp_seconds{domain=example.com}":                                  1711627200,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", k, v, ok, want)
		}
	}
	if _, ok := got["ststack_findings{domain=example.org,severity=error}"]; ok {
		t.Error("findings for a domain never checked")
	}
}
