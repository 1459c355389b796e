package stacks

import (
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
	names := map[string]string{fnPolicy: "Policy", fnTLSRPT: "TLSRPT", fnChecker: "Checker"}
	for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker} {
		f := d.functions[fn]
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
		},
	})
}
