package stacks

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssesactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ststack/ststack/internal/config"
)

// Reports by e-mail (RFC 8460 §5.3; docs/email.md).
const (
	// fnMailin is the function ingesting e-mailed reports.
	fnMailin = "mailin"
	// MailPrefix is where the receipt rule stores each message in the mail
	// bucket: MailPrefix + the SES message id.
	MailPrefix = "inbox/"
	// MailDays is how long raw messages stay in the mail bucket: long
	// enough to re-drive one, the report itself is in the report store.
	MailDays = 30
	// MailMXPriority is the preference of the MX record.
	MailMXPriority = 10
)

// mailParts are the constructs of e-mail receiving, for tests and outputs;
// all nil without reporting.email.receive.
type mailParts struct {
	bucket     awss3.Bucket
	function   awslambda.Function
	ruleSet    awsses.IReceiptRuleSet
	rule       awsses.ReceiptRule
	activation customresources.AwsCustomResource // nil with reporting.email.rule_set
	identity   awsses.EmailIdentity
	mx         awsroute53.MxRecord
}

// functionNames are the functions the organisation's stacks deploy: the
// mailin function only when the stack receives e-mail.
func functionNames(cfg *config.Config) []string {
	fns := []string{fnPolicy, fnTLSRPT, fnChecker}
	if cfg.Reporting.Email.Receive {
		fns = append(fns, fnMailin)
	}
	return fns
}

// addMail receives the reports e-mailed to reporting.mailto, when
// reporting.email.receive says so (config validated that its domain is in
// a Route53 zone of a configured domain and that SES receives e-mail in
// the region):
//
//   - the mail domain's SES identity, verified by its Easy DKIM records in
//     the zone, and its MX record to SES's inbound endpoint of the region;
//   - a receipt rule for the address (in the stack's own rule set, made
//     the active one, or in reporting.email.rule_set): TLS optional, since
//     RFC 8460 §5.3 wants reports delivered despite TLS failures; spam and
//     virus scanning on; actions: store the message in the mail bucket
//     under MailPrefix, then invoke the mailin function (an SES event,
//     asynchronous: Lambda retries a failure twice);
//   - the mail bucket (private, SSE-S3, TLS only, messages expire after
//     MailDays) and the mailin function, which reads the messages there and
//     writes reports to the report store.
//
// The _smtp._tls records, which publish the address, wait for all of it.
func (d *Deployment) addMail() {
	cfg := d.Config
	if !cfg.Reporting.Email.Receive {
		return
	}
	s := d.Main
	name := cfg.MailDomain()
	zoneDNS, _ := cfg.MailZone()
	scope := constructs.NewConstruct(s, jsii.String("Mail"))
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(zoneDNS.HostedZoneID),
		ZoneName:     jsii.String(zoneDNS.ZoneName),
	})
	m := &d.mail

	m.bucket = awss3.NewBucket(scope, jsii.String("Messages"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("raw-messages"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(MailDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	m.function = d.addFunction(function{
		name:        fnMailin,
		id:          "Mailin",
		description: "ststack: ingests the TLS reports (RFC 8460) e-mailed to the mailto rua",
		// A message is at most 40 MiB; decoding and inflating the report
		// in it take a few times that.
		memoryMB: 512,
		timeout:  time.Minute,
		env: map[string]string{
			"STSTACK_BUCKET":        *d.bucket.BucketName(),
			"STSTACK_TABLE":         *d.table.TableName(),
			"STSTACK_MAIL_BUCKET":   *m.bucket.BucketName(),
			"STSTACK_MAIL_PREFIX":   MailPrefix,
			"STSTACK_DROP_UNSIGNED": strconv.FormatBool(cfg.Reporting.Email.DropUnsigned),
		},
	})
	d.grantData(m.function.Role(), []string{"s3:PutObject", "s3:GetObject"},
		[]string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"})
	m.function.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*m.bucket.ArnForObjects(jsii.String(MailPrefix + "*"))),
	}))
	// Asynchronous invocations (SES's): a failed message (the store or a
	// DKIM key unreachable) is retried twice, then left in the bucket.
	m.function.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
	})

	if rs := cfg.Reporting.Email.RuleSet; rs != "" {
		m.ruleSet = awsses.ReceiptRuleSet_FromReceiptRuleSetName(scope, jsii.String("RuleSet"), jsii.String(rs))
	} else {
		m.ruleSet = awsses.NewReceiptRuleSet(scope, jsii.String("RuleSet"), nil)
	}
	m.rule = awsses.NewReceiptRule(scope, jsii.String("Rule"), &awsses.ReceiptRuleProps{
		RuleSet:     m.ruleSet,
		Recipients:  jsii.Strings(cfg.Reporting.Mailto),
		Enabled:     jsii.Bool(true),
		ScanEnabled: jsii.Bool(true),
		TlsPolicy:   awsses.TlsPolicy_OPTIONAL,
		Actions: &[]awsses.IReceiptRuleAction{
			awssesactions.NewS3(&awssesactions.S3Props{Bucket: m.bucket, ObjectKeyPrefix: jsii.String(MailPrefix)}),
			awssesactions.NewLambda(&awssesactions.LambdaProps{Function: m.function, InvocationType: awssesactions.LambdaInvocationType_EVENT}),
		},
	})
	if cfg.Reporting.Email.RuleSet == "" {
		m.activation = activateRuleSet(scope, m.ruleSet.ReceiptRuleSetName())
		m.activation.Node().AddDependency(m.rule)
	}

	m.identity = awsses.NewEmailIdentity(scope, jsii.String("Identity"), &awsses.EmailIdentityProps{
		Identity: awsses.Identity_Domain(jsii.String(name)),
	})
	for i, tok := range [][2]*string{
		{m.identity.DkimDnsTokenName1(), m.identity.DkimDnsTokenValue1()},
		{m.identity.DkimDnsTokenName2(), m.identity.DkimDnsTokenValue2()},
		{m.identity.DkimDnsTokenName3(), m.identity.DkimDnsTokenValue3()},
	} {
		// SES hands out whole names: the trailing dot keeps the zone from
		// being appended.
		awsroute53.NewCnameRecord(scope, jsii.String("Dkim"+strconv.Itoa(i+1)), &awsroute53.CnameRecordProps{
			Zone:       zone,
			RecordName: jsii.String(*tok[0] + "."),
			DomainName: tok[1],
			Ttl:        duration(RecordTTL),
		})
	}
	m.mx = awsroute53.NewMxRecord(scope, jsii.String("MX"), &awsroute53.MxRecordProps{
		Zone:       zone,
		RecordName: jsii.String(name),
		Values: &[]*awsroute53.MxRecordValue{{
			HostName: jsii.String(config.SESInboundHost(cfg.Region)),
			Priority: jsii.Number(MailMXPriority),
		}},
		Ttl: duration(RecordTTL),
	})
	// Mail is accepted only once a rule takes it.
	m.mx.Node().AddDependency(m.rule)
	if m.activation != nil {
		m.mx.Node().AddDependency(m.activation)
	}
	d.reportsReady = append(d.reportsReady, m.rule, m.mx, m.identity)

	awscdk.NewCfnOutput(s, jsii.String("MailRua"), &awscdk.CfnOutputProps{
		Description: jsii.String("The mailto rua, received by SES (MX " + name + " → " + config.SESInboundHost(cfg.Region) + ")"),
		Value:       jsii.String(cfg.Reporting.Mailto),
	})
	d.suppressMailNag()
}

// activateRuleSet makes the rule set the account's active one in the
// stack's region (CloudFormation cannot), and deactivates it when the stack
// is deleted (an active rule set cannot be deleted).
func activateRuleSet(scope constructs.Construct, ruleSetName *string) customresources.AwsCustomResource {
	call := func(params map[string]any) *customresources.AwsSdkCall {
		return &customresources.AwsSdkCall{
			Service:            jsii.String("SES"),
			Action:             jsii.String("setActiveReceiptRuleSet"),
			Parameters:         params,
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("active-receipt-rule-set")),
		}
	}
	activate := call(map[string]any{"RuleSetName": ruleSetName})
	return customresources.NewAwsCustomResource(scope, jsii.String("Activation"), &customresources.AwsCustomResourceProps{
		OnCreate:            activate,
		OnUpdate:            activate,
		OnDelete:            call(map[string]any{}), // no name: none active
		InstallLatestAwsSdk: jsii.Bool(false),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ses:SetActiveReceiptRuleSet"),
				Resources: jsii.Strings("*"),
			}),
		}),
	})
}

// addMailOperations alarms, to the alert topic, on the mailin function's
// errors (a message not ingested, to be retried) and throttles.
func (d *Deployment) addMailOperations() {
	fn := d.mail.function
	if fn == nil {
		return
	}
	opts := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(alarmPeriod)), Statistic: jsii.String("Sum")}
	for _, a := range []struct {
		id, what string
		metric   awscloudwatch.IMetric
	}{
		{"MailinErrors", "the mailin function failed (the message is retried, then left in the mail bucket)", fn.MetricErrors(opts)},
		{"MailinThrottles", "the mailin function was throttled", fn.MetricThrottles(opts)},
	} {
		alarm := awscloudwatch.NewAlarm(d.Main, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("ststack " + d.Config.Organization + ": " + a.what),
			Metric:             a.metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(d.topic))
	}
}

// suppressMailNag gives the reasons of the cdk-nag findings of e-mail
// receiving, each as narrow as the finding.
func (d *Deployment) suppressMailNag() {
	m := d.mail
	suppress(m.bucket, "S1",
		"Raw report e-mails are written by SES only and read by the mailin function only, and expire after 30 days; "+
			"object-level access can be audited with CloudTrail data events")
	suppress(m.function.Role(), "IAM5",
		"The store names each raw report's object key after the report's identity and SES names each message after its id, "+
			"so the grants cover the raw-report prefix of the report bucket and the message prefix of the mail bucket, nothing else",
		cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Reports[0-9A-F]{8}\.Arn>\/reports\/\*$/`)},
		cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<MailMessages[0-9A-F]{8}\.Arn>\/inbox\/\*$/`)})
	if m.activation != nil {
		suppress(m.activation, "IAM5",
			"ses:SetActiveReceiptRuleSet supports no resource-level permissions; the deployment-time custom resource only "+
				"activates the stack's rule set (and deactivates it when the stack is deleted)",
			"Resource::*")
	}
}
