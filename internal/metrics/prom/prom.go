// Package prom exposes ststack's metrics (package metrics) to Prometheus
// for `ststack serve`, at /metrics in the Prometheus text format or, when
// the scraper asks for it, OpenMetrics, using the Prometheus client library
// (github.com/prometheus/client_golang). Only the CLI links it: the Lambda
// functions log the same measurements in CloudWatch's embedded metric
// format (tools/layercheck keeps the client out of them).
package prom

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/store"
)

// Results gives the latest check result of a domain: Last returns the
// result saved last for domain (lower-case A-label), ok false without
// error when there is none, an error when the store could not be read.
// It must be safe for concurrent use (both stores are).
type Results interface {
	Last(ctx context.Context, domain string) (r health.Result, ok bool, err error)
}

// resultsTimeout bounds the reads of one scrape.
const resultsTimeout = 5 * time.Second

// Exporter counts stored reports (it implements ingest.Metrics) and reads
// the latest check results at each scrape. Build it with New; it is safe
// for concurrent use. Counters start at 0 with the process, as Prometheus
// counters do: rate() and increase() handle the restart.
type Exporter struct {
	reg                                *prometheus.Registry
	reports, sessions, failed, details *prometheus.CounterVec
}

// New returns an Exporter whose counters start at 0 for each of domains
// and whose findings come from results (nil: none).
func New(domains []string, results Results) *Exporter {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: name, Help: help}, labels)
	}
	e := &Exporter{
		reg:      prometheus.NewRegistry(),
		reports:  counter("reports_total", "TLS reports (RFC 8460) stored for the domain since the process started; duplicates are not counted.", "domain"),
		sessions: counter("sessions_total", "Sessions, successful and failed, of the reports stored for the domain.", "domain"),
		failed:   counter("failed_sessions_total", "Failed sessions of the reports stored for the domain.", "domain"),
		details: counter("failure_details_total", "Failed sessions of the failure details of the reports stored for the domain, by result type (RFC 8460 §4.3; need not add up to failed_sessions_total).",
			"domain", "result_type"),
	}
	e.reg.MustRegister(e.reports, e.sessions, e.failed, e.details)
	for _, d := range domains {
		e.reports.WithLabelValues(d)
		e.sessions.WithLabelValues(d)
		e.failed.WithLabelValues(d)
	}
	if results != nil {
		e.reg.MustRegister(&findings{results: results, domains: domains,
			findings: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", "findings"),
				"Findings of the domain's latest check, by severity.", []string{"domain", "severity"}, nil),
			checked: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "", "check_timestamp_seconds"),
				"When the domain's latest check ran (Unix time).", []string{"domain"}, nil),
		})
	}
	return e
}

// Stored implements ingest.Metrics.
func (e *Exporter) Stored(entry store.Entry) {
	for _, rc := range metrics.Reports(entry) {
		e.reports.WithLabelValues(rc.Domain).Inc()
		e.sessions.WithLabelValues(rc.Domain).Add(float64(store.AddSat(rc.Success, rc.Failure)))
		e.failed.WithLabelValues(rc.Domain).Add(float64(rc.Failure))
		for _, c := range rc.ByResultType {
			e.details.WithLabelValues(rc.Domain, c.Key).Add(float64(c.Count))
		}
	}
}

// Handler serves the metrics: the Prometheus text format, OpenMetrics when
// the scraper's Accept asks for it. Access control is the caller's.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// findings collects the latest check results at scrape time.
type findings struct {
	results           Results
	domains           []string
	findings, checked *prometheus.Desc
}

func (f *findings) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.findings
	ch <- f.checked
}

// Collect reads each domain's latest result; a domain without one, or whose
// result cannot be read, is left out of this scrape.
func (f *findings) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), resultsTimeout)
	defer cancel()
	for _, d := range f.domains {
		r, ok, err := f.results.Last(ctx, d)
		if err != nil || !ok {
			continue
		}
		counts := metrics.FindingCounts(r)
		for i, s := range metrics.Severities() {
			ch <- prometheus.MustNewConstMetric(f.findings, prometheus.GaugeValue, float64(counts[i]), d, s.String())
		}
		ch <- prometheus.MustNewConstMetric(f.checked, prometheus.GaugeValue, float64(r.CheckedAt.Unix()), d)
	}
}
