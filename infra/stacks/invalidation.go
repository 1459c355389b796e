package stacks

import (
	"sort"
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
// framework. One resource per shard lists the shard's tenants, each with
// its Name, its Id when the stack created it (a delegated domain's tenant
// is the reconciler's: found by name with GetDistributionTenant, skipped
// while it does not exist) and its policy id. onEvent invalidates
// PolicyPath of every tenant on Create, and on Update only of the tenants
// whose policy id changed or that are new: a change of one domain's policy
// invalidates that domain's tenant alone
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidationForDistributionTenant.html).
// Each CallerReference is the CloudFormation request id and the tenant's
// name: CloudFront answers a CallerReference it has seen with that earlier
// invalidation and invalidates nothing
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_InvalidationBatch.html),
// so a reference derived from the policies would do nothing when they go
// back to an earlier state (A→B→A, or a rollback). Every CloudFormation
// request has a new id; a retry of the same request reuses it and gets
// the same invalidations. The invalidations travel to isComplete outside
// Data (the framework passes onEvent's whole answer on; only Data goes
// back to CloudFormation, whose response stops at 4,096 bytes). On Delete
// it does nothing: an invalidation cannot be undone. isComplete reports
// complete once CloudFront says every invalidation is Completed
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetInvalidationForDistributionTenant.html),
// so the shard's _mta-sts TXT records wait until no edge serves an old
// policy. The SDK retries throttled calls (adaptive mode).
const invalidationHandlers = `const cf = require('@aws-sdk/client-cloudfront');
const client = new cf.CloudFrontClient({ maxAttempts: 10, retryMode: 'adaptive' });
const changed = (event) => {
  const tenants = event.ResourceProperties.Tenants || [];
  if (event.RequestType !== 'Update') return tenants;
  const old = {};
  for (const t of (event.OldResourceProperties.Tenants || [])) old[t.Name] = t.Policy;
  return tenants.filter((t) => old[t.Name] !== t.Policy);
};
const tenantId = async (t) => {
  if (t.Id) return t.Id;
  try {
    const out = await client.send(new cf.GetDistributionTenantCommand({ Identifier: t.Name }));
    return out.DistributionTenant.Id;
  } catch (err) {
    if (err.name === 'EntityNotFound' || err.name === 'NoSuchResource') return '';
    throw err;
  }
};
exports.onEvent = async (event) => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const p = event.ResourceProperties;
  const invalidations = [];
  for (const t of changed(event)) {
    const id = await tenantId(t);
    if (!id) {
      console.log('tenant %s does not exist yet: nothing cached', t.Name);
      continue;
    }
    const out = await client.send(new cf.CreateInvalidationForDistributionTenantCommand({
      Id: id,
      InvalidationBatch: { CallerReference: event.RequestId + ':' + t.Name, Paths: { Quantity: p.Paths.length, Items: p.Paths } },
    }));
    console.log('invalidation %s of tenant %s (%s): %s', out.Invalidation.Id, t.Name, id, out.Invalidation.Status);
    invalidations.push({ Tenant: id, Id: out.Invalidation.Id });
  }
  return { PhysicalResourceId: p.PhysicalResourceId, Invalidations: invalidations };
};
exports.isComplete = async (event) => {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  for (const inv of (event.Invalidations || [])) {
    const out = await client.send(new cf.GetInvalidationForDistributionTenantCommand({
      DistributionTenantId: inv.Tenant, Id: inv.Id,
    }));
    console.log('invalidation %s of tenant %s: %s', inv.Id, inv.Tenant, out.Invalidation.Status);
    if (out.Invalidation.Status !== 'Completed') return { IsComplete: false };
  }
  return { IsComplete: true };
};
`

// Polling of the invalidation: CloudFront usually completes one within a
// minute or two. onEvent creates up to a shard's invalidations one after
// the other, with the SDK's retries when CloudFront throttles.
const (
	invalidationHandlerTimeout = 5 * time.Minute
	invalidationQueryInterval  = 10 * time.Second
	invalidationTimeout        = 20 * time.Minute
)

// invalidationParts is what addInvalidation creates.
type invalidationParts struct {
	provider   customresources.Provider
	onEvent    awslambda.Function
	isComplete awslambda.Function
}

// addInvalidation creates the invalidation's handlers and provider in the
// edge stack; addShardInvalidation one resource per shard. The edge stack
// deploys after the main stack, so after the new policies.
func (d *Deployment) addInvalidation() {
	s := d.Edge
	// Tenants are account-level resources, arn:aws:cloudfront::ACCOUNT:distribution-tenant/ID:
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html
	tenantArn := *s.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudfront"),
		Region:       jsii.String(""),
		Resource:     jsii.String("distribution-tenant"),
		ResourceName: jsii.String("*"),
	})
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
			Resources: jsii.Strings(tenantArn),
		}))
		return awslambda.NewFunction(s, jsii.String(id), &awslambda.FunctionProps{
			Description:  jsii.String(description),
			Runtime:      awslambda.Runtime_NODEJS_24_X(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("index." + entry),
			Code:         awslambda.Code_FromInline(jsii.String(invalidationHandlers)),
			MemorySize:   jsii.Number(128),
			Timeout:      duration(invalidationHandlerTimeout),
			LogGroup:     logs,
			Role:         role,
		})
	}
	inv := invalidationParts{
		onEvent: handler("InvalidationOnEvent", "onEvent",
			"ststack: invalidates "+PolicyPath+" of the tenants whose policy changed (deployments only)",
			"cloudfront:CreateInvalidationForDistributionTenant", "cloudfront:GetDistributionTenant"),
		isComplete: handler("InvalidationIsComplete", "isComplete",
			"ststack: waits until the tenants' invalidations have completed (deployments only)", "cloudfront:GetInvalidationForDistributionTenant"),
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
	d.invalidation = inv
}

// addShardInvalidation is the invalidation of the tenants in shard ns
// (each a map of Name, Id if known, Policy). Its physical id derives from
// their names and policy ids, so CloudFormation updates it, and it runs
// again, exactly when a policy of the shard changes (or is rolled back),
// or a domain comes or goes.
func (d *Deployment) addShardInvalidation(ns awscdk.NestedStack, tenants []map[string]string) awscdk.CustomResource {
	parts := make([]string, 0, len(tenants))
	list := make([]any, 0, len(tenants))
	for _, t := range tenants {
		parts = append(parts, t["Name"]+"="+t["Policy"])
		list = append(list, t)
	}
	sort.Strings(parts)
	return awscdk.NewCustomResource(ns, jsii.String("PolicyInvalidation"), &awscdk.CustomResourceProps{
		ServiceToken: d.invalidation.provider.ServiceToken(),
		ResourceType: jsii.String("Custom::TenantInvalidation"),
		Properties: &map[string]any{
			"PhysicalResourceId": "policies-" + shortHash(parts...),
			"Paths":              []string{PolicyPath},
			"Tenants":            list,
		},
	})
}
