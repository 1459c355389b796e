package stacks

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"
)

// invalidationHandlers is the code of the invalidation's two handlers
// (index.onEvent and index.isComplete), for the custom resource Provider
// framework. onEvent requests the invalidation of the resource's Paths
// with the CloudFormation request id as CallerReference: CloudFront answers
// a CallerReference it has seen with that earlier invalidation and
// invalidates nothing (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_InvalidationBatch.html),
// so a reference derived from the policies would do nothing when they go
// back to an earlier state (A→B→A, or a rollback). Every CloudFormation
// request has a new id; a retry of the same request reuses it and gets
// the same invalidation. On Delete it does nothing: an invalidation cannot be undone. isComplete
// reports the invalidation complete once CloudFront says every edge
// location has dropped the paths, so whatever depends on the resource
// (the _mta-sts TXT records) waits until no edge serves the old policy.
const invalidationHandlers = `const cf = require('@aws-sdk/client-cloudfront');
const client = new cf.CloudFrontClient({});
exports.onEvent = async (event) => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const p = event.ResourceProperties;
  const out = await client.send(new cf.CreateInvalidationCommand({
    DistributionId: p.DistributionId,
    InvalidationBatch: { CallerReference: event.RequestId, Paths: { Quantity: p.Paths.length, Items: p.Paths } },
  }));
  console.log('invalidation %s of %s: %s', out.Invalidation.Id, p.DistributionId, out.Invalidation.Status);
  return { PhysicalResourceId: p.PhysicalResourceId, Data: { InvalidationId: out.Invalidation.Id } };
};
exports.isComplete = async (event) => {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const out = await client.send(new cf.GetInvalidationCommand({
    DistributionId: event.ResourceProperties.DistributionId, Id: event.Data.InvalidationId,
  }));
  console.log('invalidation %s: %s', out.Invalidation.Id, out.Invalidation.Status);
  return { IsComplete: out.Invalidation.Status === 'Completed' };
};
`

// Polling of the invalidation: CloudFront usually completes one within a
// minute or two.
const (
	invalidationQueryInterval = 10 * time.Second
	invalidationTimeout       = 20 * time.Minute
)

// invalidationParts is what addInvalidation creates.
type invalidationParts struct {
	resource   awscdk.CustomResource
	provider   customresources.Provider
	onEvent    awslambda.Function
	isComplete awslambda.Function
}

// addInvalidation invalidates the policy path and completes only when the
// invalidation has (CreateInvalidation returns at once; GetInvalidation
// says when the edges dropped the old policy). Its physical id derives
// from every policy id, so CloudFormation updates it, and it runs again,
// exactly when a policy changes (or is rolled back). It must run after the new policy is deployed (the caller
// adds that dependency).
func (d *Deployment) addInvalidation() {
	s := d.Main
	distArn := *d.distribution.DistributionArn()
	handler := func(id, entry, description string, actions ...string) awslambda.Function {
		logs := awslogs.NewLogGroup(s, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     LogRetention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		role := awsiam.NewRole(s, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("ststack policy invalidation: " + entry),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}))
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(actions...),
			Resources: jsii.Strings(distArn),
		}))
		return awslambda.NewFunction(s, jsii.String(id), &awslambda.FunctionProps{
			Description:  jsii.String(description),
			Runtime:      awslambda.Runtime_NODEJS_24_X(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("index." + entry),
			Code:         awslambda.Code_FromInline(jsii.String(invalidationHandlers)),
			MemorySize:   jsii.Number(128),
			Timeout:      duration(30 * time.Second),
			LogGroup:     logs,
			Role:         role,
		})
	}
	inv := invalidationParts{
		onEvent: handler("InvalidationOnEvent", "onEvent",
			"ststack: invalidates "+PolicyPath+" when a policy changes (deployments only)", "cloudfront:CreateInvalidation"),
		isComplete: handler("InvalidationIsComplete", "isComplete",
			"ststack: waits until the invalidation of "+PolicyPath+" has completed (deployments only)", "cloudfront:GetInvalidation"),
	}

	// The framework's own functions (onEvent, isComplete, onTimeout) log
	// to one group with retention, with roles that may write to it and
	// nothing else until the framework grants them the invocation of the
	// handlers and of the waiter. The waiter state machine does not log:
	// the handlers log every CloudFront call, and state machine logging
	// needs log delivery actions on every resource.
	frameworkLogs := awslogs.NewLogGroup(s, jsii.String("InvalidationProviderLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	frameworkRole := func(id, description string) awsiam.Role {
		role := awsiam.NewRole(s, jsii.String(id), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("ststack policy invalidation: provider framework " + description),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*frameworkLogs.LogGroupArn()),
		}))
		return role
	}
	inv.provider = customresources.NewProvider(s, jsii.String("InvalidationProvider"), &customresources.ProviderProps{
		OnEventHandler:                   inv.onEvent,
		IsCompleteHandler:                inv.isComplete,
		QueryInterval:                    duration(invalidationQueryInterval),
		TotalTimeout:                     duration(invalidationTimeout),
		LogGroup:                         frameworkLogs,
		FrameworkOnEventRole:             frameworkRole("InvalidationProviderOnEventRole", "onEvent"),
		FrameworkCompleteAndTimeoutRole:  frameworkRole("InvalidationProviderWaiterRole", "isComplete and onTimeout"),
		DisableWaiterStateMachineLogging: jsii.Bool(true),
	})
	inv.resource = awscdk.NewCustomResource(s, jsii.String("PolicyInvalidation"), &awscdk.CustomResourceProps{
		ServiceToken: inv.provider.ServiceToken(),
		ResourceType: jsii.String("Custom::PolicyInvalidation"),
		Properties: &map[string]any{
			"DistributionId":     d.distribution.DistributionId(),
			"PhysicalResourceId": "policies-" + d.policiesHash(),
			"Paths":              []string{PolicyPath},
		},
	})
	d.invalidation = inv
}
