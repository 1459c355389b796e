package stacks

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
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
	rule       awsses.CfnReceiptRule
	activation awscdk.CustomResource // Custom::ActiveReceiptRuleSet; nil with reporting.email.rule_set
	activator  awslambda.Function    // its function
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
	if hasDelegated(cfg) {
		fns = append(fns, fnReconciler)
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
//     the active one only when no other set is active, see
//     activateRuleSetCode; or in reporting.email.rule_set): TLS optional, since
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

	var ruleSetName *string
	if rs := cfg.Reporting.Email.RuleSet; rs != "" {
		m.ruleSet = awsses.ReceiptRuleSet_FromReceiptRuleSetName(scope, jsii.String("RuleSet"), jsii.String(rs))
		ruleSetName = jsii.String(rs)
	} else {
		m.ruleSet = awsses.NewReceiptRuleSet(scope, jsii.String("RuleSet"), nil)
		ruleSetName = m.ruleSet.ReceiptRuleSetName()
	}
	// The rule has a fixed name, so the bucket policy and the function's
	// permission can name the rule (aws:SourceArn) before it exists: SES
	// checks both when the rule is created, so they must come first.
	ruleName := receiptRuleName(cfg.StackName())
	ruleArn := s.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ses"),
		Resource:     jsii.String("receipt-rule-set"),
		ResourceName: jsii.String(*ruleSetName + ":receipt-rule/" + ruleName),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	// SES writes the message only if the bucket policy lets it, for this
	// account's rule only (confused deputy):
	// https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
	m.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SESReceiptRuleWrites"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil)},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  jsii.Strings(*m.bucket.ArnForObjects(jsii.String(MailPrefix + "*"))),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID(),
			"aws:SourceArn":     ruleArn,
		}},
	}))
	m.function.AddPermission(jsii.String("InvokeFromSES"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
		SourceArn:     ruleArn,
	})
	m.rule = awsses.NewCfnReceiptRule(scope, jsii.String("Rule"), &awsses.CfnReceiptRuleProps{
		RuleSetName: ruleSetName,
		Rule: &awsses.CfnReceiptRule_RuleProperty{
			Name:        jsii.String(ruleName),
			Recipients:  jsii.Strings(cfg.Reporting.Mailto),
			Enabled:     jsii.Bool(true),
			ScanEnabled: jsii.Bool(true),
			TlsPolicy:   jsii.String("Optional"),
			Actions: &[]*awsses.CfnReceiptRule_ActionProperty{
				{S3Action: &awsses.CfnReceiptRule_S3ActionProperty{
					BucketName:      m.bucket.BucketName(),
					ObjectKeyPrefix: jsii.String(MailPrefix),
				}},
				{LambdaAction: &awsses.CfnReceiptRule_LambdaActionProperty{
					FunctionArn:    m.function.FunctionArn(),
					InvocationType: jsii.String("Event"),
				}},
			},
		},
	})
	m.rule.Node().AddDependency(m.bucket.Policy(), m.function)
	m.rule.Node().AddDependency(m.function.Node().FindChild(jsii.String("InvokeFromSES")))
	if cfg.Reporting.Email.RuleSet == "" {
		d.activateRuleSet(scope, ruleSetName, ruleName)
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

// receiptRuleName is the fixed name of the stack's receipt rule: unique
// per stack, so several stacks can add their rules to one rule set, and
// within SES's 64 characters.
func receiptRuleName(stackName string) string {
	name := stackName + "-tlsrpt"
	if len(name) > 64 {
		name = name[:55] + "-" + shortHash(stackName)[:8]
	}
	return name
}

// activateRuleSetCode is the inline code of the function behind
// Custom::ActiveReceiptRuleSet (index.handler), which answers
// CloudFormation itself. SES has one active receipt rule set per region
// and account (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-concepts.html;
// SetActiveReceiptRuleSet without a name leaves none active:
// https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html),
// shared by every stack and by whatever else receives mail there. So:
//   - Create/Update: activate the stack's set when no set is active; keep
//     it when it is; FAIL, with the fix, when another set is active (the
//     mail its rules receive would stop). CloudFormation then rolls back.
//   - Delete: deactivate the set only when it is the active one and holds
//     no rule but this stack's; FAIL, naming the other rules, when it holds
//     another stack's rules; leave any other active set alone.
//
// The answer goes to the presigned ResponseURL with an empty Content-Type,
// as CloudFormation's own cfn-response module sends it.
const activateRuleSetCode = `const http = require('http');
const https = require('https');
const ses = require('@aws-sdk/client-ses');
const client = new ses.SESClient({});
function put(url, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'http:' ? http : https).request(u, {
      method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
}
async function apply(event) {
  const p = event.ResourceProperties;
  const active = await client.send(new ses.DescribeActiveReceiptRuleSetCommand({}));
  const name = active.Metadata ? active.Metadata.Name : undefined;
  if (event.RequestType === 'Delete') {
    if (name !== p.RuleSetName) return p.RuleSetName + ' is not the active rule set: left ' + (name || 'none') + ' active';
    const others = (active.Rules || []).map((r) => r.Name).filter((n) => n !== p.RuleName);
    if (others.length > 0) {
      throw new Error('receipt rule set ' + p.RuleSetName + ' is the active one and also holds the rules ' + others.join(', ') +
        ' of other stacks or users; deactivating it would stop their mail. Move those rules to another rule set ' +
        '(or delete their stacks first), then delete this stack again.');
    }
    await client.send(new ses.SetActiveReceiptRuleSetCommand({}));
    return 'deactivated ' + p.RuleSetName;
  }
  if (name === p.RuleSetName) return p.RuleSetName + ' is the active rule set';
  if (name) {
    throw new Error('SES in ' + process.env.AWS_REGION + ' already has the active receipt rule set ' + name +
      ', which this stack does not own (one active set per region and account); activating ' + p.RuleSetName +
      ' would stop the mail its rules receive. Set "rule_set: ' + name + '" under reporting.email in the organisation ' +
      'file so that the stack adds its rule to that set, then deploy again.');
  }
  await client.send(new ses.SetActiveReceiptRuleSetCommand({ RuleSetName: p.RuleSetName }));
  return 'activated ' + p.RuleSetName;
}
exports.handler = async (event) => {
  let status = 'SUCCESS';
  let reason;
  try {
    reason = await apply(event);
  } catch (e) {
    status = 'FAILED';
    reason = String(e.message || e);
  }
  console.log('%s %s: %s: %s', event.RequestType, event.LogicalResourceId, status, reason);
  await put(event.ResponseURL, JSON.stringify({
    Status: status, Reason: reason, PhysicalResourceId: event.PhysicalResourceId || 'active-receipt-rule-set',
    StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,
  }));
};
`

// activateRuleSet makes the stack's rule set the active one when that
// displaces nobody (Custom::ActiveReceiptRuleSet, activateRuleSetCode).
func (d *Deployment) activateRuleSet(scope constructs.Construct, ruleSetName *string, ruleName string) {
	logs := awslogs.NewLogGroup(scope, jsii.String("ActivationLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String("ActivationRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("ststack: activates the stack's SES receipt rule set when no other is active"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ses:DescribeActiveReceiptRuleSet", "ses:SetActiveReceiptRuleSet"),
		Resources: jsii.Strings("*"),
	}))
	fn := awslambda.NewFunction(scope, jsii.String("Activator"), &awslambda.FunctionProps{
		Description:  jsii.String("ststack: activates the stack's SES receipt rule set when no other is active (deployments only)"),
		Runtime:      awslambda.Runtime_NODEJS_24_X(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("index.handler"),
		Code:         awslambda.Code_FromInline(jsii.String(activateRuleSetCode)),
		MemorySize:   jsii.Number(128),
		Timeout:      duration(30 * time.Second),
		LogGroup:     logs,
		Role:         role,
	})
	noAsyncRetries(scope, "ActivatorAsync", fn)
	d.mail.activator = fn
	d.mail.activation = awscdk.NewCustomResource(scope, jsii.String("Activation"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		ResourceType: jsii.String("Custom::ActiveReceiptRuleSet"),
		Properties: &map[string]any{
			"RuleSetName": ruleSetName,
			"RuleName":    ruleName,
		},
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
	if m.activator != nil {
		suppress(m.activator.Role(), "IAM5",
			"ses:DescribeActiveReceiptRuleSet and ses:SetActiveReceiptRuleSet support no resource-level permissions; the "+
				"deployment-time function only activates the stack's rule set when none is active, and deactivates it on deletion "+
				"only while it is active and holds no other stack's rule",
			"Resource::*")
	}
}
