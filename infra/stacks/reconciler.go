package stacks

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// ReconcileSchedule is how often the reconciler brings client domains
// (dns: delegated) closer to serving: a client's new CNAMEs are noticed
// within this time, and a pending certificate is attached within this
// time of its issuance.
const ReconcileSchedule = "rate(5 minutes)"

// addReconciler deploys, when the file has a delegated domain, the
// reconciler function (functions/reconciler) on an EventBridge schedule:
// it waits until a client's mta-sts CNAME resolves to the operator's name,
// creates the domain's tenant with a CloudFront-managed certificate
// (ValidationTokenHost: cloudfront), attaches the certificate once issued
// (CloudFormation does not), and keeps each domain's state in the table.
// Client domains are not CloudFormation resources: one client's DNS
// mistake would fail and roll back the whole stack.
func (d *Deployment) addReconciler() {
	if !hasDelegated(d.Config) {
		return
	}
	s := d.Main
	fn := d.addFunction(function{
		name:        fnReconciler,
		id:          "Reconciler",
		description: "ststack: brings client domains (dns: delegated) to serving: tenant, managed certificate, state",
		memoryMB:    256,
		timeout:     5 * time.Minute,
		env: map[string]string{
			"STSTACK_BUCKET":              *d.bucket.BucketName(),
			"STSTACK_TABLE":               *d.table.TableName(),
			"STSTACK_DISTRIBUTION_ID":     *d.distribution.DistributionId(),
			"STSTACK_CONNECTION_GROUP_ID": *d.connectionGroup.AttrId(),
		},
	})
	d.grantData(fn.Role(), nil, []string{"dynamodb:GetItem", "dynamodb:PutItem"})
	// The CloudFront actions of functions/reconciler, on this
	// distribution, this connection group and the account's tenants (a
	// tenant's id is CloudFront's, unknown before it exists; the names are
	// the reconciler's). Resource types per action:
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html
	tenants := *s.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudfront"),
		Region:       jsii.String(""),
		Resource:     jsii.String("distribution-tenant"),
		ResourceName: jsii.String("*"),
	})
	fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("cloudfront:GetDistributionTenant", "cloudfront:CreateDistributionTenant",
			"cloudfront:UpdateDistributionTenant", "cloudfront:GetManagedCertificateDetails"),
		Resources: jsii.Strings(tenants, *d.distribution.DistributionArn(), *d.connectionGroup.AttrArn()),
	}))
	d.reconcileSchedule = awsevents.NewRule(s, jsii.String("ReconcilerSchedule"), &awsevents.RuleProps{
		Description: jsii.String("ststack: runs the reconciler of client domains"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(ReconcileSchedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			// The next run comes in minutes and does the same work.
			RetryAttempts: jsii.Number(0),
		})},
	})
	// No Lambda retries either (see addChecker).
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{RetryAttempts: jsii.Number(0)})
}
