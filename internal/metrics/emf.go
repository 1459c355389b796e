package metrics

import (
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// EMF writes measurements as CloudWatch embedded metric format documents,
// one JSON object per line, to a Lambda function's standard output, from
// which Lambda's log delivery and CloudWatch Logs extract the metrics
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html).
// The document follows
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html:
// the root holds "_aws" (Timestamp in milliseconds since the epoch and one
// MetricDirective: Namespace, Dimensions as arrays of root member names,
// Metrics with Name and Unit) and, as root members, every dimension value
// (a string) and metric value (a number) the directive names. Each
// document stays far below the 1 MB a log event may hold. EMF is safe for
// concurrent use; a failed write is dropped (metrics never fail the work
// they describe).
type EMF struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewEMF returns an EMF writing to w (a function's os.Stdout), timestamps
// from now (nil: time.Now).
func NewEMF(w io.Writer, now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	return &EMF{w: w, now: now}
}

// emfDirective is a MetricDirective.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// write writes one document: dims and values are the root members, metrics
// the names among values to extract, all of unit Count.
func (e *EMF) write(dims map[string]string, metrics []string, values map[string]int64) {
	keys := make([]string, 0, len(dims))
	root := make(map[string]any, len(dims)+len(values)+1)
	for k, v := range dims {
		keys = append(keys, k)
		root[k] = v
	}
	slices.Sort(keys)
	d := emfDirective{Namespace: Namespace, Dimensions: [][]string{keys}}
	for _, m := range metrics {
		d.Metrics = append(d.Metrics, emfMetric{Name: m, Unit: "Count"})
		root[m] = values[m]
	}
	root["_aws"] = map[string]any{
		"Timestamp":         e.now().UnixMilli(),
		"CloudWatchMetrics": []emfDirective{d},
	}
	b, err := json.Marshal(root)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b) // best effort: see EMF
}

// Stored implements ingest.Metrics: per domain of e, Reports and Sessions
// by Domain, FailedSessions by Domain when some failed, and FailedSessions
// by Domain and ResultType for each result type of its failure details.
// Zero failures are left out: CloudWatch bills a custom metric for each
// hour it receives data (see Checked), and graphs and alarms read a
// missing value as none.
func (e *EMF) Stored(entry store.Entry) {
	for _, rc := range Reports(entry) {
		names := []string{MetricReports, MetricSessions}
		if rc.Failure > 0 {
			names = append(names, MetricFailedSessions)
		}
		e.write(map[string]string{DimensionDomain: rc.Domain}, names,
			map[string]int64{MetricReports: 1, MetricSessions: store.AddSat(rc.Success, rc.Failure), MetricFailedSessions: rc.Failure})
		for _, c := range rc.ByResultType {
			if c.Count <= 0 {
				continue
			}
			e.write(map[string]string{DimensionDomain: rc.Domain, DimensionResultType: c.Key},
				[]string{MetricFailedSessions}, map[string]int64{MetricFailedSessions: c.Count})
		}
	}
}

// Checked writes Findings by Domain and Severity for a check result: one
// document per severity error and warning that has findings. CloudWatch
// bills each custom metric for the hours it receives data
// (https://aws.amazon.com/cloudwatch/pricing/: $0.30 a metric-month for
// the first 10,000, prorated by the hour), and the checker runs hourly: a
// count for every domain and severity would bill every domain every hour.
// A healthy domain writes nothing; its graph shows no findings.
func (e *EMF) Checked(r health.Result) {
	for _, s := range []health.Severity{health.SeverityError, health.SeverityWarning} {
		if n := r.Count(s); n > 0 {
			e.write(map[string]string{DimensionDomain: r.Domain, DimensionSeverity: s.String()},
				[]string{MetricFindings}, map[string]int64{MetricFindings: int64(n)})
		}
	}
}
