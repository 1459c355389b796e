package stacks

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDomainMetrics (issue 18 §4): each domain of the example has an alarm
// on its daily failure rate, computed from the Sessions and FailedSessions
// the functions log in embedded metric format, sent to the alert topic;
// the dashboard graphs every domain's metrics with SEARCH.
func TestDomainMetrics(t *testing.T) {
	s := synth(t, exampleConfig)
	topic := m{"Ref": logicalID(t, s.d.topic)}
	found := map[string]bool{}
	for id, a := range resources(s.mainJSON, "AWS::CloudWatch::Alarm") {
		p := props(a)
		metrics, _ := p["Metrics"].([]any)
		if len(metrics) == 0 {
			continue
		}
		var expr string
		dims := map[string]bool{}
		for _, q := range metrics {
			q := q.(map[string]any)
			if e, ok := q["Expression"].(string); ok {
				expr = e
				continue
			}
			stat := q["MetricStat"].(map[string]any)
			metric := stat["Metric"].(map[string]any)
			b, _ := json.Marshal(metric["Dimensions"])
			if metric["Namespace"] != metricsNamespace || str(stat["Period"]) != "86400" || stat["Stat"] != "Sum" {
				t.Errorf("alarm %s: metric %v", id, stat)
			}
			dims[str(metric["MetricName"])+" "+string(b)] = true
		}
		if !strings.Contains(expr, "100 * FILL(failed, 0) / sessions") {
			continue
		}
		if !jsonEqual(p["AlarmActions"], []any{topic}) || str(p["Threshold"]) != "5" || p["ComparisonOperator"] != "GreaterThanThreshold" ||
			p["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s: %v", id, p)
		}
		for _, d := range s.d.Config.Domains {
			if dims[`Sessions [{"Name":"Domain","Value":"`+d.Name+`"}]`] && dims[`FailedSessions [{"Name":"Domain","Value":"`+d.Name+`"}]`] {
				found[d.Name] = true
			}
		}
	}
	for _, d := range s.d.Config.Domains {
		if !found[d.Name] {
			t.Errorf("no failure-rate alarm for %s", d.Name)
		}
	}
	body, _ := json.Marshal(resources(s.mainJSON, "AWS::CloudWatch::Dashboard"))
	for _, want := range []string{`SEARCH('{ststack,Domain} MetricName=\\\"Sessions\\\"', 'Sum', 3600)`,
		`{ststack,Domain,ResultType} MetricName=\\\"FailedSessions\\\"`, `{ststack,Domain,Severity} MetricName=\\\"Findings\\\"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
}

// TestAnyDomainAlarm (issue 18 §4): beyond the per-domain rate alarms of
// the first MaxDomainAlarms domains, one Metrics Insights alarm covers every
// domain of the file, whatever their number: each domain's FailedSessions
// per hour (Domain dimension alone), to the alert topic.
func TestAnyDomainAlarm(t *testing.T) {
	s := synth(t, exampleConfig)
	topic := m{"Ref": logicalID(t, s.d.topic)}
	var found int
	for id, a := range resources(s.mainJSON, "AWS::CloudWatch::Alarm") {
		p := props(a)
		metrics, _ := p["Metrics"].([]any)
		if len(metrics) != 1 {
			continue
		}
		q := metrics[0].(map[string]any)
		if q["Expression"] != anyDomainQuery {
			continue
		}
		found++
		if str(q["Period"]) != "3600" || q["ReturnData"] != true {
			t.Errorf("alarm %s: query %v", id, q)
		}
		if !jsonEqual(p["AlarmActions"], []any{topic}) || str(p["Threshold"]) != "100" ||
			p["ComparisonOperator"] != "GreaterThanThreshold" || p["TreatMissingData"] != "notBreaching" || str(p["EvaluationPeriods"]) != "1" {
			t.Errorf("alarm %s: %v", id, p)
		}
	}
	if found != 1 {
		t.Errorf("%d alarms on %q, want 1", found, anyDomainQuery)
	}
	if !strings.Contains(anyDomainQuery, "SCHEMA(ststack, Domain)") || !strings.Contains(anyDomainQuery, "GROUP BY Domain") {
		t.Errorf("query %q does not read the per-domain series alone", anyDomainQuery)
	}
}
