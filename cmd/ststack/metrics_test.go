package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs base/metrics with accept and returns its families, parsed
// by the Prometheus parsers (text format, or the format the answer says).
func scrape(t *testing.T, base, accept string, hdr ...string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	format := expfmt.ResponseFormat(resp.Header)
	fams := map[string]*dto.MetricFamily{}
	if accept == "" {
		if format.FormatType() != expfmt.TypeTextPlain {
			t.Fatalf("default format %q, want the text format", format)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		if fams, err = p.TextToMetricFamilies(resp.Body); err != nil {
			t.Fatalf("text parser: %v", err)
		}
		return resp.StatusCode, fams
	}
	if format.FormatType() != expfmt.TypeOpenMetrics {
		t.Fatalf("format %q for Accept %q, want OpenMetrics", format, accept)
	}
	dec := expfmt.NewDecoder(resp.Body, format)
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("OpenMetrics parser: %v", err)
		}
		fams[f.GetName()] = &f
	}
	return resp.StatusCode, fams
}

// value is the value of family name's metric with labels (name=value
// pairs), and whether it is there.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestServeMetrics (issue 18 §4): ststack serve exposes the reports it
// stores and the latest check findings at /metrics, in the text format the
// Prometheus parser reads (and OpenMetrics when asked), loopback only like
// the dashboard.
func TestServeMetrics(t *testing.T) {
	report, err := os.ReadFile(filepath.Join(samples, "google-2024-02.json")) // example.com, 53 sessions
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, "--config", exampleOrg, "--data", t.TempDir(), "--sample-data")
	defer stop()
	code, fams := scrape(t, base, "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	if v, ok := value(fams, "ststack_reports_total", "domain", "example.com"); !ok || v != 0 {
		t.Errorf("reports before any post: %v %v, want 0 (the sample data is loaded, not received)", v, ok)
	}
	for i := range 2 { // the second post is a duplicate: not counted
		if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", report); code != 201+i*(200-201) {
			t.Fatalf("post %d: %d %s", i+1, code, body)
		}
	}
	_, fams = scrape(t, base, "")
	for _, c := range []struct {
		name string
		want float64
	}{{"ststack_reports_total", 1}, {"ststack_sessions_total", 53}, {"ststack_failed_sessions_total", 0}} {
		if v, ok := value(fams, c.name, "domain", "example.com"); !ok || v != c.want {
			t.Errorf("%s{domain=example.com} = %v (%v), want %v", c.name, v, ok, c.want)
		}
	}
	// The sample data's check results: findings per severity.
	var severities []string
	for _, s := range []string{"error", "warning", "info"} {
		if _, ok := value(fams, "ststack_findings", "domain", "example.com", "severity", s); ok {
			severities = append(severities, s)
		}
	}
	if len(severities) != 3 {
		t.Errorf("ststack_findings of example.com for %v, want all three severities", severities)
	}
	if _, ok := value(fams, "ststack_check_timestamp_seconds", "domain", "example.com"); !ok {
		t.Error("no ststack_check_timestamp_seconds for example.com")
	}
	// OpenMetrics on request.
	if _, om := scrape(t, base, "application/openmetrics-text;version=1.0.0"); len(om) == 0 {
		t.Error("OpenMetrics: no families")
	} else if v, ok := value(om, "ststack_reports_total", "domain", "example.com"); !ok || v != 1 {
		var names []string
		for n := range om {
			names = append(names, n)
		}
		t.Errorf("OpenMetrics ststack_reports_total{domain=example.com} = %v %v, want 1 (families %v)", v, ok, names)
	}
	// The dashboard's rule: a name that is not loopback gets nothing.
	if code, _ := scrape(t, base, "", "Host", "metrics.example.org"); code != http.StatusNotFound {
		t.Errorf("/metrics for Host metrics.example.org: %d, want 404", code)
	}
}
