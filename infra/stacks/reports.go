package stacks

import (
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

// addReports creates the report store (bucket and table, both retained
// when the stack is deleted), the tlsrpt function and the HTTP API in
// front of it, on the custom domain if the organisation file names one.
func (d *Deployment) addReports() {
	s := d.Main
	d.bucket = awss3.NewBucket(s, jsii.String("Reports"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("raw-reports"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(RawReportDays)),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	d.table = awsdynamodb.NewTable(s, jsii.String("Facts"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// Retain keeps the table when the stack goes; deletion protection
		// also refuses a DeleteTable by anyone, until it is turned off:
		// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})

	fn := d.addFunction(function{
		name:        fnTLSRPT,
		id:          "TLSRPT",
		description: "ststack: receives TLS reports (RFC 8460) posted to the https rua",
		memoryMB:    256,
		timeout:     29 * time.Second, // API Gateway's integration timeout is 30 s
		env: map[string]string{
			"STSTACK_BUCKET": *d.bucket.BucketName(),
			"STSTACK_TABLE":  *d.table.TableName(),
		},
	})
	d.grantData(fn.Role(), []string{"s3:PutObject", "s3:GetObject"},
		[]string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"})

	rep := d.Config.Reporting
	api := awsapigatewayv2.NewHttpApi(s, jsii.String("ReportsApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("ststack: SMTP TLS reports (RFC 8460), POST " + ReportsPath),
		CreateDefaultStage: jsii.Bool(false),
		// With a custom domain only that one is published.
		DisableExecuteApiEndpoint: jsii.Bool(rep.Domain != ""),
	})
	d.api = api
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(ReportsPath),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("TLSRPTIntegration"), fn, nil),
	})
	stageProps := &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(ReportsRateLimit),
			BurstLimit: jsii.Number(ReportsBurstLimit),
		},
	}
	if rep.Domain != "" {
		dn := d.reportsDomain(rep.Domain)
		stageProps.DomainMapping = &awsapigatewayv2.DomainMappingOptions{DomainName: dn}
		d.reportsReady = append(d.reportsReady, dn)
		d.ruaHTTPS = "https://" + rep.Domain + ReportsPath
	} else {
		d.ruaHTTPS = *api.ApiEndpoint() + ReportsPath
		d.ruaTokens = map[string]int{*api.ApiEndpoint(): maxAPIEndpoint(d.Config.Region)}
	}
	stage := awsapigatewayv2.NewHttpStage(s, jsii.String("ReportsStage"), stageProps)
	d.reportsReady = append(d.reportsReady, api, stage)
	accessLogs := awslogs.NewLogGroup(s, jsii.String("ReportsApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	d.addStoreOutputs()
}

// Outputs of the main stack that ststack dashboard --aws reads
// (cmd/ststack/dashboard.go looks them up by these names: never rename one).
const (
	OutputReportsBucket  = "ReportsBucket"
	OutputReportsTable   = "ReportsTable"
	OutputReportEndpoint = "ReportEndpoint"
)

// addStoreOutputs names the report store and the https rua in outputs, so
// that the dashboard finds them without listing the stack's resources.
func (d *Deployment) addStoreOutputs() {
	s := d.Main
	awscdk.NewCfnOutput(s, jsii.String(OutputReportsBucket), &awscdk.CfnOutputProps{
		Description: jsii.String("S3 bucket of the raw TLS reports (read by ststack dashboard --aws)"),
		Value:       d.bucket.BucketName(),
	})
	awscdk.NewCfnOutput(s, jsii.String(OutputReportsTable), &awscdk.CfnOutputProps{
		Description: jsii.String("DynamoDB table of the report facts and check results (read by ststack dashboard --aws)"),
		Value:       d.table.TableName(),
	})
	if d.Config.Reporting.HTTPS {
		// Only a published https rua: the dashboard shows it in the
		// _smtp._tls record it expects.
		awscdk.NewCfnOutput(s, jsii.String(OutputReportEndpoint), &awscdk.CfnOutputProps{
			Description: jsii.String("The https rua where TLS reports are posted (read by ststack dashboard --aws)"),
			Value:       jsii.String(d.ruaHTTPS),
		})
	}
}

// accessLogFormat is one JSON object per request; no body, no headers.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"time":"$context.requestTime","route":"$context.routeKey","status":"$context.status",` +
	`"length":"$context.responseLength","latency":"$context.responseLatency",` +
	`"integrationError":"$context.integrationErrorMessage"}`

// reportsDomain sets up the custom domain of the report API: a regional
// certificate and, when the name is in the Route53 zone of a configured
// domain, its validation and alias records there. Otherwise cdk deploy
// shows the validation record to create and an output the alias.
func (d *Deployment) reportsDomain(name string) awsapigatewayv2.DomainName {
	s := d.Main
	zoneDomain, ok := zoneFor(d.Config.Domains, name)
	var validation awscertificatemanager.CertificateValidation
	var zone awsroute53.IHostedZone
	if ok {
		zone = awsroute53.HostedZone_FromHostedZoneAttributes(s, jsii.String("ReportsZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(zoneDomain.DNS.HostedZoneID),
			ZoneName:     jsii.String(zoneDomain.DNS.ZoneName),
		})
		validation = awscertificatemanager.CertificateValidation_FromDns(zone)
	} else {
		validation = awscertificatemanager.CertificateValidation_FromDns(nil)
	}
	cert := awscertificatemanager.NewCertificate(s, jsii.String("ReportsCertificate"), &awscertificatemanager.CertificateProps{
		DomainName: jsii.String(name),
		Validation: validation,
	})
	// Dual-stack, so the AAAA alias next to the A alias resolves: senders
	// on IPv6-only networks reach the endpoint too.
	// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-custom-domain-names-ip-address-type.html
	dn := awsapigatewayv2.NewDomainName(s, jsii.String("ReportsDomain"), &awsapigatewayv2.DomainNameProps{
		DomainName:     jsii.String(name),
		Certificate:    cert,
		SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
		IpAddressType:  awsapigatewayv2.IpAddressType_DUAL_STACK,
	})
	if ok {
		target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewApiGatewayv2DomainProperties(dn.RegionalDomainName(), dn.RegionalHostedZoneId()))
		alias := awsroute53.NewARecord(s, jsii.String("ReportsAlias"), &awsroute53.ARecordProps{
			Zone: zone, RecordName: jsii.String(name), Target: target,
		})
		alias6 := awsroute53.NewAaaaRecord(s, jsii.String("ReportsAliasAAAA"), &awsroute53.AaaaRecordProps{
			Zone: zone, RecordName: jsii.String(name), Target: target,
		})
		d.reportsReady = append(d.reportsReady, alias, alias6)
	} else {
		awscdk.NewCfnOutput(s, jsii.String("ExternalReportsRecord"), &awscdk.CfnOutputProps{
			Description: jsii.String("External DNS: the record to create for the report endpoint " + name),
			Value:       awscdk.Fn_Join(jsii.String(""), jsii.Strings(name, ". CNAME ", *dn.RegionalDomainName(), ".")),
		})
	}
	return dn
}

// zoneFor finds the Route53 zone that holds name: that of a configured
// domain whose zone is name or a parent of it, the longest such zone.
func zoneFor(domains []config.Domain, name string) (config.Domain, bool) {
	var best config.Domain
	found := false
	for _, dom := range domains {
		z := dom.DNS.ZoneName
		if dom.DNS.External || z == "" || (name != z && !strings.HasSuffix(name, "."+z)) {
			continue
		}
		if !found || len(z) > len(best.DNS.ZoneName) {
			best, found = dom, true
		}
	}
	return best, found
}

// RawReportPrefix is where the store keeps raw reports in the bucket
// (internal/store.RawKey, not imported: it would tie this module to the
// checker's dependencies); the functions may touch no other object.
const RawReportPrefix = "reports/"

// grantData lets role use the given actions (never a wildcard) on the raw
// reports in the bucket, whose keys the store derives from each report's
// identity, and on the table itself (no index).
func (d *Deployment) grantData(role awsiam.IRole, objectActions, tableActions []string) {
	if len(objectActions) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(objectActions...),
			Resources: jsii.Strings(*d.bucket.ArnForObjects(jsii.String(RawReportPrefix + "*"))),
		}))
	}
	if len(tableActions) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(tableActions...),
			Resources: jsii.Strings(*d.table.TableArn()),
		}))
	}
}

// maxAPIEndpoint is the longest execute-api endpoint of an HTTP API in
// region: https://{api-id}.execute-api.{region}.amazonaws.com, the suffix
// .amazonaws.com.cn in the China regions
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop.html#http-api-endpoints).
// API ids are 10 characters; the bound allows 16.
func maxAPIEndpoint(region string) int {
	return len("https://") + 16 + len(".execute-api.") + len(region) + len(".amazonaws.com.cn")
}
