package stacks

import (
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// LogRetention is how long every log group of the deployment keeps logs.
const LogRetention = awslogs.RetentionDays_THREE_MONTHS

// function describes one of the three Lambda functions.
type function struct {
	name        string // policy, tlsrpt or checker (asset directory)
	id          string // construct id
	description string
	memoryMB    float64
	timeout     time.Duration
	env         map[string]string // besides STSTACK_CONFIG
	vpc         awsec2.IVpc       // nil: not in a VPC
}

// addFunction creates a function from its staged asset: provided.al2023 on
// arm64, its own log group with retention, and its own role that may write
// to that log group and nothing else until the caller grants more (no
// managed policy, so every permission is visible in the template).
func (d *Deployment) addFunction(f function) awslambda.Function {
	s := d.Main
	logs := awslogs.NewLogGroup(s, jsii.String(f.id+"Logs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(s, jsii.String(f.id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("ststack " + f.name + " function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	env := map[string]*string{"STSTACK_CONFIG": jsii.String(ConfigFile)}
	for k, v := range f.env {
		env[k] = jsii.String(v)
	}
	props := &awslambda.FunctionProps{
		Description:  jsii.String(f.description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(d.assets[f.name]), nil),
		MemorySize:   jsii.Number(f.memoryMB),
		Timeout:      duration(f.timeout),
		Environment:  &env,
		LogGroup:     logs,
		Role:         role,
	}
	if f.vpc != nil {
		props.Vpc = f.vpc
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		// Lambda manages the function's network interfaces with these
		// actions, which have no resource-level permissions.
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
				"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
			Resources: jsii.Strings("*"),
		}))
	}
	fn := awslambda.NewFunction(s, jsii.String(f.id), props)
	d.functions[f.name] = fn
	return fn
}

// customResourceLogs is the log group of CDK's AwsCustomResource function
// in stack s, created on first use. That function is a singleton shared by
// every AwsCustomResource of the stack and takes the log group of the
// first one created, so each of them passes this same group: without it
// Lambda's default group would keep logs forever and outlive the stack.
func (d *Deployment) customResourceLogs(s awscdk.Stack) awslogs.ILogGroup {
	if d.crLogs == nil {
		d.crLogs = map[string]awslogs.LogGroup{}
	}
	if g, ok := d.crLogs[*s.Node().Path()]; ok {
		return g
	}
	g := awslogs.NewLogGroup(s, jsii.String("CustomResourceLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	d.crLogs[*s.Node().Path()] = g
	return g
}

// noAsyncRetries sets the asynchronous retries of function fn (a construct
// whose default child is its AWS::Lambda::Function) to zero. Lambda retries
// a failed asynchronous invocation twice unless told otherwise
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
// MaximumRetryAttempts: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html),
// and CloudFormation invokes custom resource functions asynchronously
// (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html).
// The custom resource functions answer CloudFormation themselves, failure
// included; a retry would only repeat the calls and the answer.
func noAsyncRetries(scope constructs.Construct, id string, fn constructs.IConstruct) {
	cfn, ok := fn.Node().DefaultChild().(awscdk.CfnResource)
	if !ok {
		panic(fmt.Sprintf("%s: no function resource", *fn.Node().Path()))
	}
	awslambda.NewCfnEventInvokeConfig(scope, jsii.String(id), &awslambda.CfnEventInvokeConfigProps{
		FunctionName:         cfn.Ref(),
		Qualifier:            jsii.String("$LATEST"),
		MaximumRetryAttempts: jsii.Number(0),
	})
}

// limitAsyncRetries gives the custom resource functions CDK creates (the
// AwsCustomResource singleton of each stack, the invalidation provider's
// framework onEvent) their retry count; call it once every construct is
// in place.
func (d *Deployment) limitAsyncRetries() {
	for _, s := range d.stacks() {
		if p := s.Node().TryFindChild(jsii.String(customResourceProvider)); p != nil {
			noAsyncRetries(s, "CustomResourceProviderAsync", p)
		}
	}
	noAsyncRetries(d.Edge, "InvalidationProviderAsync",
		d.invalidation.provider.Node().FindChild(jsii.String("framework-onEvent")))
}

// stacks are every stack of the deployment: main, edge and the edge's
// shards, by shard number.
func (d *Deployment) stacks() []awscdk.Stack {
	out := []awscdk.Stack{d.Main, d.Edge}
	ns := make([]int, 0, len(d.Shards))
	for n := range d.Shards {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		out = append(out, d.Shards[n])
	}
	return out
}
