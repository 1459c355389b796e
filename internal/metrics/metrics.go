// Package metrics is what ststack measures for the tools operators already
// watch: per served domain, the reports stored, their sessions and failed
// sessions (also by result type, RFC 8460 §4.3), and the checker's findings
// by severity. One definition, two outputs: in AWS the functions log each
// measurement in CloudWatch's embedded metric format (EMF, this package:
// no API call, CloudWatch Logs extracts the metrics from the log line); in
// `ststack serve` package metrics/prom exposes the same measurements to
// Prometheus at /metrics. Only `serve` links the Prometheus client.
//
// The measurements (docs/metrics.md):
//
//	Reports         reports stored for a domain (1 per new report)
//	Sessions        their sessions, successful and failed
//	FailedSessions  their failed sessions; with ResultType, the failure
//	                details' counts by result type (they need not add up:
//	                some senders' do not)
//	Findings        a check's findings of a domain, by Severity
package metrics

import (
	"cmp"
	"slices"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// Namespace is the CloudWatch namespace of the metrics.
const Namespace = "ststack"

// Metric and dimension names, as CloudWatch shows them.
const (
	MetricReports        = "Reports"
	MetricSessions       = "Sessions"
	MetricFailedSessions = "FailedSessions"
	MetricFindings       = "Findings"

	DimensionDomain     = "Domain"
	DimensionResultType = "ResultType"
	DimensionSeverity   = "Severity"
)

// ReportCounts is what one stored report adds for one domain.
type ReportCounts struct {
	Domain           string
	Success, Failure int64
	// ByResultType are the failed sessions of the failure details by
	// result type, in type order.
	ByResultType []store.Count
}

// Reports returns the counts a stored entry adds, one per domain (fact).
func Reports(e store.Entry) []ReportCounts {
	out := make([]ReportCounts, 0, len(e.Facts))
	for _, f := range e.Facts {
		rc := ReportCounts{Domain: f.Domain, Success: f.Success, Failure: f.Failure}
		by := map[string]int64{}
		for _, r := range f.Failures {
			by[string(r.ResultType)] = store.AddSat(by[string(r.ResultType)], r.Count)
		}
		for k, n := range by {
			rc.ByResultType = append(rc.ByResultType, store.Count{Key: k, Count: n})
		}
		slices.SortFunc(rc.ByResultType, func(a, b store.Count) int { return cmp.Compare(a.Key, b.Key) })
		out = append(out, rc)
	}
	return out
}

// Severities are the severities Findings counts, each always given (0
// included) so that a graph or alarm sees a finding clear.
func Severities() []health.Severity {
	return []health.Severity{health.SeverityError, health.SeverityWarning, health.SeverityInfo}
}

// FindingCounts counts r's findings by severity, in Severities order.
func FindingCounts(r health.Result) []int {
	out := make([]int, 0, 3)
	for _, s := range Severities() {
		out = append(out, r.Count(s))
	}
	return out
}
