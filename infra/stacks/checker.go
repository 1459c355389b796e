package stacks

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
)

// addChecker creates the alert topic with its e-mail subscriptions and the
// checker function on its schedule. With checker.smtp_probe the function
// runs in a VPC whose private subnet reaches the internet through a NAT
// gateway: the only way Lambda can open TCP port 25, and only after AWS
// lifted the port-25 block for the gateway's Elastic IP.
func (d *Deployment) addChecker() {
	s := d.Main
	chk := d.Config.Checker
	d.topic = awssns.NewTopic(s, jsii.String("Alerts"), &awssns.TopicProps{
		DisplayName: jsii.String("ststack " + d.Config.Organization),
		EnforceSSL:  jsii.Bool(true),
	})
	// EnforceSSL gives the topic a policy, and a topic policy replaces SNS's
	// default one (which lets the account's own services publish), so the
	// alarms, which publish as the CloudWatch service, need an Allow of
	// their own, limited to this account's alarms (confused deputy):
	// https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
	// https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
	// The checker publishes with its role's identity policy instead.
	d.topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*d.topic.TopicArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike": map[string]any{"aws:SourceArn": s.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("cloudwatch"),
				Resource:     jsii.String("alarm"),
				ResourceName: jsii.String("*"),
				ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))
	for _, addr := range chk.AlertEmails {
		d.topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(addr), nil))
	}

	var vpc awsec2.IVpc
	if chk.SMTPProbe {
		vpc = d.addProbeNetwork()
	}
	fn := d.addFunction(function{
		name:        fnChecker,
		id:          "Checker",
		description: "ststack: checks DNS, policies and reports on a schedule, alerts on change",
		memoryMB:    256,
		timeout:     5 * time.Minute,
		env: map[string]string{
			"STSTACK_BUCKET":     *d.bucket.BucketName(),
			"STSTACK_TABLE":      *d.table.TableName(),
			"STSTACK_TOPIC_ARN":  *d.topic.TopicArn(),
			"STSTACK_RUA_HTTPS":  d.ruaHTTPS,
			"STSTACK_SMTP_PROBE": strconv.FormatBool(chk.SMTPProbe),
		},
		vpc: vpc,
	})
	d.grantData(fn.Role(), nil, []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"})
	fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sns:Publish"),
		Resources: jsii.Strings(*d.topic.TopicArn()),
	}))
	d.schedule = awsevents.NewRule(s, jsii.String("CheckerSchedule"), &awsevents.RuleProps{
		Description: jsii.String("ststack: runs the checker"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(chk.Schedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			// The next run comes soon enough; a failed run raises an alarm.
			RetryAttempts: jsii.Number(0),
		})},
	})
	// EventBridge invokes the function asynchronously, and Lambda retries
	// a failed asynchronous invocation twice whatever EventBridge's own
	// retries say: one failure would run the checker three times (three
	// alerts, three errors). https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
	// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{RetryAttempts: jsii.Number(0)})
}

// addProbeNetwork is the checker's VPC for SMTP probes: one availability
// zone, a public subnet with one NAT gateway, a private subnet for the
// function, and flow logs of rejected traffic.
func (d *Deployment) addProbeNetwork() awsec2.IVpc {
	s := d.Main
	flowLogs := awslogs.NewLogGroup(s, jsii.String("ProbeNetworkFlowLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	return awsec2.NewVpc(s, jsii.String("ProbeNetwork"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(1),
		NatGateways: jsii.Number(1),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("nat"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			{Name: jsii.String("checker"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(24)},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"Rejected": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_REJECT,
			},
		},
	})
}
