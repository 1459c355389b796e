package stacks

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/jsii-runtime-go"
)

// alarmPeriod is the period of every alarm's metric.
const alarmPeriod = 5 // minutes

// addOperations adds the alarms, all sent to the alert topic, and the
// dashboard.
func (d *Deployment) addOperations() {
	s := d.Main
	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriod))
	opts := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	action := awscloudwatchactions.NewSnsAction(d.topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(s, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("ststack " + d.Config.Organization + ": " + description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	names := map[string]string{fnPolicy: "Policy", fnTLSRPT: "TLSRPT", fnChecker: "Checker", fnReconciler: "Reconciler"}
	for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker, fnReconciler} {
		f, ok := d.functions[fn]
		if !ok {
			continue // the reconciler exists with client domains only
		}
		alarm(names[fn]+"Errors", "the "+fn+" function failed", f.MetricErrors(opts))
		alarm(names[fn]+"Throttles", "the "+fn+" function was throttled", f.MetricThrottles(opts))
	}
	alarm("ReportsApi5xx", "the report endpoint answered 5xx (senders retry)", d.api.MetricServerError(opts))
	checkerFailed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/Events"),
		MetricName:    jsii.String("FailedInvocations"),
		DimensionsMap: &map[string]*string{"RuleName": d.schedule.RuleName()},
		Period:        period,
		Statistic:     jsii.String("Sum"),
	})
	alarm("CheckerNotRun", "the schedule could not start the checker", checkerFailed)

	// CloudFront's metrics are in us-east-1 whatever the stack's region.
	cloudfront := func(name, statistic string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String("AWS/CloudFront"),
			MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{
				"DistributionId": d.distribution.DistributionId(),
				"Region":         jsii.String("Global"),
			},
			Region:    jsii.String(CertificateRegion),
			Period:    period,
			Statistic: jsii.String(statistic),
		})
	}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8),
		})
	}
	fnGraph := func(fn string) awscloudwatch.IWidget {
		f := d.functions[fn]
		return graph(fn+" function", f.MetricInvocations(opts), f.MetricErrors(opts), f.MetricThrottles(opts))
	}
	d.addDomainAlarms(alarm)
	d.addAnyDomainAlarm()
	awscloudwatch.NewDashboard(s, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(*d.Main.StackName()),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Policy requests (CloudFront)", cloudfront("Requests", "Sum")),
				graph("Policy error rates % (CloudFront)", cloudfront("4xxErrorRate", "Average"), cloudfront("5xxErrorRate", "Average")),
				fnGraph(fnPolicy),
			},
			{
				graph("Report API", d.api.MetricCount(opts), d.api.MetricClientError(opts), d.api.MetricServerError(opts)),
				fnGraph(fnTLSRPT),
				fnGraph(fnChecker),
			},
			domainGraphs(),
		},
	})
}

// The functions' own metrics (package internal/metrics, docs/metrics.md):
// logged in CloudWatch's embedded metric format, from which CloudWatch
// Logs extracts them with no API call
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
const (
	metricsNamespace = "ststack"
	// FailureRateAlarmPercent and failureRateMinSessions: a domain's
	// alarm fires when more than this percentage of a day's reported
	// sessions failed, counted only from failureRateMinSessions sessions
	// (a handful of sessions is one message retried).
	FailureRateAlarmPercent = 5
	failureRateMinSessions  = 100
	// MaxDomainAlarms bounds the per-domain alarms: each is one resource
	// of the main stack, which holds at most 500; a larger file relies
	// on the dashboard's graphs of every domain and the checker's
	// alerts (reports-sts-failures, reports-mx-failing).
	MaxDomainAlarms = 25
	// AnyDomainFailedSessions: the alarm over every domain fires when
	// the reports one domain's senders delivered within an hour count
	// more than this many failed sessions.
	AnyDomainFailedSessions = 100
)

// anyDomainQuery is the Metrics Insights query of the alarm over every
// domain: each domain's FailedSessions (the metric logged with the Domain
// dimension alone, so the per-result-type series are not counted twice),
// the 500 domains with most failures first. A Metrics Insights alarm
// evaluates each time series it returns as a contributor and follows
// domains as they are added; a query returns at most 500 time series
// (ORDER BY keeps the worst), an alarm evaluates the latest 3 hours, and
// a Region holds 200 such alarms by default
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html).
const anyDomainQuery = `SELECT SUM(FailedSessions) FROM SCHEMA(` + metricsNamespace + `, Domain) GROUP BY Domain ORDER BY SUM() DESC LIMIT 500`

// addAnyDomainAlarm adds the one alarm that covers every domain, however
// many the file has, beside the per-domain rate alarms of the first
// MaxDomainAlarms: it counts failed sessions per hour of reports, since a
// Metrics Insights alarm sees only the latest 3 hours and cannot divide
// by the sessions of a day.
func (d *Deployment) addAnyDomainAlarm() {
	q := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(anyDomainQuery),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Label:        jsii.String("failed sessions by domain"),
		Period:       awscdk.Duration_Hours(jsii.Number(1)),
	})
	a := awscloudwatch.NewAlarm(d.Main, jsii.String("AnyDomainFailures"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("ststack %s: the reports of one domain counted more than %d failed sessions within an hour; the alarm's contributors name the domains; see the dashboard's domain page and the checker's triage",
			d.Config.Organization, AnyDomainFailedSessions)),
		Metric:             q,
		Threshold:          jsii.Number(AnyDomainFailedSessions),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(d.topic))
}

// domainMetric is one of the functions' metrics of a domain, summed per
// day: reports arrive in daily bursts (RFC 8460 §4.1 reports cover a
// day), so a shorter period would judge half a day's reports.
func domainMetric(name, domain string) awscloudwatch.IMetric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metricsNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Domain": jsii.String(domain)},
		Period:        awscdk.Duration_Days(jsii.Number(1)),
		Statistic:     jsii.String("Sum"),
	})
}

// addDomainAlarms adds, for each of the first MaxDomainAlarms domains, an
// alarm on its failure rate in the reports of a day: metric math over the
// Sessions and FailedSessions the tlsrpt and mailin functions log (they
// log FailedSessions only when some failed: FILL makes the missing value
// 0). A day without reports is not breaching. CloudWatch alarms on EMF metrics
// behave as on any other metric; the metric exists once the first report
// was logged
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Alarms.html).
func (d *Deployment) addDomainAlarms(alarm func(id, description string, metric awscloudwatch.IMetric)) {
	for i, dom := range d.Config.Domains {
		if i == MaxDomainAlarms {
			break
		}
		rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(sessions >= %d, 100 * FILL(failed, 0) / sessions, 0)", failureRateMinSessions)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"sessions": domainMetric("Sessions", dom.Name),
				"failed":   domainMetric("FailedSessions", dom.Name),
			},
			Label:  jsii.String(dom.Name + " failure rate %"),
			Period: awscdk.Duration_Days(jsii.Number(1)),
		})
		a := awscloudwatch.NewAlarm(d.Main, jsii.String("FailureRate"+alarmID(dom.Name)), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(fmt.Sprintf("ststack %s: more than %d%% of the sessions senders reported for %s in a day failed (at least %d sessions); see the dashboard's domain page and the checker's triage",
				d.Config.Organization, FailureRateAlarmPercent, dom.Name, failureRateMinSessions)),
			Metric:             rate,
			Threshold:          jsii.Number(FailureRateAlarmPercent),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(d.topic))
	}
}

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]+`)

// alarmID is a construct id for a domain: its name with every run of
// other characters than letters and digits replaced by "X".
func alarmID(domain string) string {
	return nonAlnum.ReplaceAllString(domain, "X")
}

// domainGraphs are the dashboard's row of the functions' metrics: every
// domain's sessions and failed sessions, failed sessions by result type,
// findings by severity; SEARCH expressions, so every domain shows however
// many there are.
func domainGraphs() *[]awscloudwatch.IWidget {
	search := func(dims, metric string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 3600)`, metricsNamespace, dims, metric)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{},
			Label:        jsii.String(""),
			Period:       awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8),
		})
	}
	return &[]awscloudwatch.IWidget{
		graph("Reported sessions by domain", search("Domain", "Sessions")),
		graph("Failed sessions by domain and result type", search("Domain,ResultType", "FailedSessions")),
		graph("Check findings by domain and severity", search("Domain,Severity", "Findings")),
	}
}
