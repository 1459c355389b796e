package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// addNagChecks runs the cdk-nag AwsSolutions rules on every stack of app.
// Findings are annotations; errors fail the synth (main.go) and the tests.
func addNagChecks(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// errorMetadata is the metadata type of an error annotation (cdk-nag's
// findings among them).
const errorMetadata = "aws:cdk:error"

// SynthErrors returns "PATH: MESSAGE" for every error annotation in the
// tree under scope. Call it after the app is synthesized: cdk-nag runs
// during synthesis, and a synth with errors still succeeds.
func SynthErrors(scope constructs.IConstruct) []string {
	var errs []string
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		for _, md := range *c.Node().Metadata() {
			if md.Type != nil && *md.Type == errorMetadata {
				errs = append(errs, fmt.Sprintf("%s: %v", *c.Node().Path(), md.Data))
			}
		}
	}
	return errs
}

// customResourceProvider is the construct id of the Lambda function that
// CDK creates once per stack for every AwsCustomResource.
const customResourceProvider = "AWS679f53fac002430cb0da5b7982bd2287"

// suppress records why rule id does not apply to construct c (and its
// children); appliesTo, if given, narrows it to those findings.
func suppress(c constructs.IConstruct, id, reason string, appliesTo ...any) {
	s := &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-" + id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		s.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

// suppressNag is every cdk-nag suppression of the deployment, each with
// its reason. Each is as narrow as the finding: one construct, and for
// IAM findings the one policy or resource pattern.
func (d *Deployment) suppressNag() {
	for _, s := range d.stacks() {
		if p := s.Node().TryFindChild(jsii.String(customResourceProvider)); p != nil {
			suppress(p, "IAM4",
				"CDK's AwsCustomResource provider, run only during deployments; the managed policy lets it write its own logs and nothing else",
				"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
		}
	}

	suppress(d.bucket, "S1",
		"Only the tlsrpt function writes raw reports; object-level access can be audited with CloudTrail data events, "+
			"and an access-log bucket would be a second store to secure and retain")
	suppress(d.functions[fnTLSRPT].Role(), "IAM5",
		"The store names each raw report's object key after the report's identity, so the grant covers the raw-report prefix "+
			"of the report bucket (PutObject and GetObject only), nothing else",
		cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Reports[0-9A-F]{8}\.Arn>\/reports\/\*$/`)})
	suppress(d.api, "APIG4",
		"RFC 8460 §3: sending MTAs post reports without credentials; the function accepts only bounded reports for the configured "+
			"domains, and the stage is throttled")
	suppress(d.distribution, "CFR3",
		"It serves public MTA-STS policies only; request counts and error rates are CloudWatch metrics (dashboard), and standard "+
			"logs would need an ACL-enabled log bucket")
	suppress(d.distribution, "CFR1",
		"Sending MTAs anywhere in the world must be able to fetch the policies")
	suppress(d.distribution, "CFR2",
		"Read-only public policies of a few hundred bytes, cached at the edge; WAF would cost more than it protects")
	suppress(d.distribution, "CFR4",
		"A multi-tenant distribution serves viewers with each tenant's certificate (edge.go); the distribution's own viewer "+
			"certificate is CloudFront's default for its cloudfront.net name, which nothing publishes")
	// The policy invalidation's provider framework (invalidation.go).
	waiter := d.invalidation.provider.Node().FindChild(jsii.String("waiter-state-machine"))
	invoke := cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Invalidation(OnEvent|IsComplete|Providerframework(isComplete|onTimeout))[0-9A-F]{8}\.Arn>:\*$/`)}
	for _, role := range []constructs.IConstruct{waiter,
		d.Edge.Node().FindChild(jsii.String("InvalidationProviderOnEventRole")),
		d.Edge.Node().FindChild(jsii.String("InvalidationProviderWaiterRole"))} {
		suppress(role, "IAM5",
			"The custom resource provider framework may invoke the invalidation handlers and its own isComplete and onTimeout "+
				"functions; lambda:InvokeFunction on <function ARN>:* covers their versions and aliases, no other function",
			invoke)
	}
	suppress(waiter, "SF1",
		"The provider framework's waiter only retries the isComplete function during deployments; the handlers log every "+
			"CloudFront call and status to their log groups, and state machine logging needs log delivery actions on every resource")
	suppress(waiter, "SF2",
		"The provider framework's waiter runs only during deployments and calls one function on a fixed interval; "+
			"tracing it would show nothing the handlers' logs do not")
	// Tenant ids are CloudFront's, unknown before the tenant exists.
	tenants := cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution-tenant\/\*$/`)}
	for _, fn := range []awslambda.Function{d.invalidation.onEvent, d.invalidation.isComplete} {
		suppress(fn.Role(), "IAM5",
			"The invalidation handlers act on the tenants of this deployment's distribution, whose ids CloudFront assigns; "+
				"the grant covers distribution tenants and the invalidation actions only", tenants)
	}
	if f, ok := d.functions[fnReconciler]; ok {
		suppress(f.Role(), "IAM5",
			"The reconciler creates the tenants of client domains: their ids are CloudFront's, unknown before they exist; "+
				"the grant covers the tenant actions only", tenants)
	}
	if d.Config.Checker.SMTPProbe {
		suppress(d.functions[fnChecker].Role(), "IAM5",
			"Lambda's network interface actions (ec2:CreateNetworkInterface and others) support no resource-level permissions",
			"Resource::*")
	}
}
