// Package emftest checks CloudWatch embedded metric format (EMF) documents
// against the rules of the specification,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html,
// so that tests of the functions can read the metric lines they log and
// know CloudWatch would extract them. It is a test helper: nothing in a
// function links it.
package emftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// MaxEventSize is the largest document accepted: the specification limits
// it to the size of a CloudWatch Logs event, 1 MB in its current English
// text, 256 KB in older ones; the smaller is checked.
const MaxEventSize = 256 << 10

// Units CloudWatch accepts for a MetricDefinition's Unit (MetricDatum
// units).
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// Metric is one value a document gives CloudWatch to extract.
type Metric struct {
	Namespace  string
	Name       string
	Unit       string
	Dimensions map[string]string
	Value      float64
}

// IsEMF reports whether line looks like an EMF document (a JSON object
// with an "_aws" member); Parse says whether it is a valid one.
func IsEMF(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] == '{' && bytes.Contains(line, []byte(`"_aws"`))
}

// Parse validates one log event as an EMF document and returns the
// metrics CloudWatch would extract from it: one per metric definition
// and dimension set.
func Parse(line []byte) ([]Metric, error) {
	line = bytes.TrimSpace(line)
	if len(line) > MaxEventSize {
		return nil, fmt.Errorf("emf: %d bytes, over the %d of a log event", len(line), MaxEventSize)
	}
	// The whole event is one JSON object, nothing before or after it.
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("emf: root is not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("emf: data after the root object")
	}
	awsRaw, ok := root["_aws"]
	if !ok {
		return nil, errors.New("emf: no _aws member")
	}
	var meta struct {
		Timestamp         *json.Number      `json:"Timestamp"`
		CloudWatchMetrics []json.RawMessage `json:"CloudWatchMetrics"`
	}
	d := json.NewDecoder(bytes.NewReader(awsRaw))
	d.UseNumber()
	if err := d.Decode(&meta); err != nil {
		return nil, fmt.Errorf("emf: _aws: %w", err)
	}
	if meta.Timestamp == nil {
		return nil, errors.New("emf: _aws.Timestamp missing")
	}
	if ts, err := meta.Timestamp.Int64(); err != nil || ts <= 0 {
		return nil, fmt.Errorf("emf: _aws.Timestamp %s is not milliseconds since the epoch", *meta.Timestamp)
	}
	if meta.CloudWatchMetrics == nil {
		return nil, errors.New("emf: _aws.CloudWatchMetrics missing")
	}
	var out []Metric
	for i, raw := range meta.CloudWatchMetrics {
		ms, err := directive(root, raw)
		if err != nil {
			return nil, fmt.Errorf("emf: CloudWatchMetrics[%d]: %w", i, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

func directive(root map[string]json.RawMessage, raw json.RawMessage) ([]Metric, error) {
	var d struct {
		Namespace  *string    `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []struct {
			Name              *string `json:"Name"`
			Unit              *string `json:"Unit"`
			StorageResolution *int    `json:"StorageResolution"`
		} `json:"Metrics"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	switch {
	case d.Namespace == nil || *d.Namespace == "" || len(*d.Namespace) > 1024:
		return nil, errors.New("the Namespace is missing, empty or over 1024 characters")
	case d.Dimensions == nil:
		return nil, errors.New("the Dimensions are missing")
	case len(d.Metrics) == 0 || len(d.Metrics) > 100:
		return nil, fmt.Errorf("%d Metrics, want 1 to 100", len(d.Metrics))
	}
	var out []Metric
	for _, set := range d.Dimensions {
		if len(set) > 30 {
			return nil, fmt.Errorf("a dimension set of %d, over 30", len(set))
		}
		dims := map[string]string{}
		for _, k := range set {
			var v string
			if err := json.Unmarshal(root[k], &v); err != nil {
				return nil, fmt.Errorf("dimension %q: no string member of that name at the root", k)
			}
			if v == "" || len(v) > 1024 || strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("dimension %q: value %q empty or over 1024 characters", k, v)
			}
			dims[k] = v
		}
		for _, m := range d.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 1024 {
				return nil, errors.New("a metric Name missing, empty or over 1024 characters")
			}
			unit := "None"
			if m.Unit != nil {
				if !units[*m.Unit] {
					return nil, fmt.Errorf("metric %s: unit %q", *m.Name, *m.Unit)
				}
				unit = *m.Unit
			}
			if r := m.StorageResolution; r != nil && *r != 1 && *r != 60 {
				return nil, fmt.Errorf("metric %s: StorageResolution %d", *m.Name, *r)
			}
			var v float64
			if err := json.Unmarshal(root[*m.Name], &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("metric %s: no number member of that name at the root", *m.Name)
			}
			out = append(out, Metric{Namespace: *d.Namespace, Name: *m.Name, Unit: unit, Dimensions: dims, Value: v})
		}
	}
	return out, nil
}

// Lines returns the metrics of every EMF line of a log, failing on the
// first invalid one.
func Lines(log string) ([]Metric, error) {
	var out []Metric
	for i, l := range strings.Split(log, "\n") {
		if !IsEMF([]byte(l)) {
			continue
		}
		ms, err := Parse([]byte(l))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w\n%s", i+1, err, l)
		}
		out = append(out, ms...)
	}
	return out, nil
}
