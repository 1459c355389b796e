package stacks

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"
)

// HostHeader is the request header in which the policy function finds the
// host the sender asked for (mta-sts.<domain>). CloudFront must send a
// function URL origin its own Host, so a CloudFront Function copies the
// viewer's Host here; the header is part of the cache key, so every
// domain's policy is cached apart.
const HostHeader = "x-forwarded-host"

// viewerRequestFunction is the code of the CloudFront Function that runs
// on every viewer request (cloudfront-js-2.0). It answers 404 itself,
// without reaching the policy function (one invocation per probe), for any
// method but GET and HEAD and any path but PolicyPath. For the rest it
// copies the viewer's Host, lower-cased and without a port or a trailing
// dot (as the policy handler matches hosts), to HostHeader (overwriting
// whatever the viewer sent there), so the cache key does not split by the
// case senders happen to use. Error answers are cached for ErrorCacheTTL
// like the origin's.
//
// It holds no list of hosts: a multi-tenant distribution receives only
// requests for its tenants' domains, the policy handler answers 404 (cached
// ErrorCacheTTL) for a host it does not serve, and a list of 1,000 hosts
// would pass the 10 KB a CloudFront Function may have ("Maximum function
// size", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions).
func viewerRequestFunction() string {
	return `function handler(event) {
  var request = event.request;
  var host = request.headers.host ? request.headers.host.value.toLowerCase() : '';
  var port = host.lastIndexOf(':');
  if (port >= 0 && /^[0-9]+$/.test(host.substring(port + 1))) {
    host = host.substring(0, port);
  }
  if (host.length > 0 && host.charAt(host.length - 1) === '.') {
    host = host.substring(0, host.length - 1);
  }
  if ((request.method !== 'GET' && request.method !== 'HEAD') || request.uri !== '` + PolicyPath + `' ||
      host === '' || host.indexOf(':') >= 0) {
    return {
      statusCode: 404,
      statusDescription: 'Not Found',
      headers: { 'cache-control': { value: 'max-age=` + strconv.Itoa(int(ErrorCacheTTL.Seconds())) + `' } }
    };
  }
  request.headers['` + HostHeader + `'] = { value: host };
  return request;
}`
}

// addPolicy serves every domain's policy: the policy function behind its
// function URL (AWS_IAM auth, reachable only through CloudFront's origin
// access control), one CloudFront multi-tenant distribution (SaaS Manager)
// whose tenants, one per domain, are in the edge stack (edge.go), and its
// connection group, whose routing endpoint every mta-sts.<domain> points
// at. GET and HEAD only, HTTPS only (no redirect: RFC 8461 §3.3 forbids
// following one), cached as long as the function's Cache-Control says and
// errors for seconds. A changed policy invalidates its tenant, and its TXT
// id changes only once that invalidation has completed (invalidation.go,
// edge.go).
func (d *Deployment) addPolicy() {
	s := d.Main
	fn := d.addFunction(function{
		name:        fnPolicy,
		id:          "Policy",
		description: "ststack: serves " + PolicyPath + " of every domain (RFC 8461)",
		memoryMB:    128,
		timeout:     5 * time.Second,
	})
	// The function answers through aws-lambda-go's lambdaurl, which needs
	// response streaming.
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		AuthType:   awslambda.FunctionUrlAuthType_AWS_IAM,
		InvokeMode: awslambda.InvokeMode_RESPONSE_STREAM,
	})

	cachePolicy := awscloudfront.NewCachePolicy(s, jsii.String("PolicyCache"), &awscloudfront.CachePolicyProps{
		Comment:             jsii.String("ststack: MTA-STS policies, per host, as long as the policy function's Cache-Control"),
		DefaultTtl:          duration(PolicyCacheTTL),
		MaxTtl:              duration(PolicyCacheTTL),
		MinTtl:              awscdk.Duration_Seconds(jsii.Number(0)),
		HeaderBehavior:      awscloudfront.CacheHeaderBehavior_AllowList(jsii.String(HostHeader)),
		QueryStringBehavior: awscloudfront.CacheQueryStringBehavior_None(),
		CookieBehavior:      awscloudfront.CacheCookieBehavior_None(),
	})
	hostFn := awscloudfront.NewFunction(s, jsii.String("HostHeader"), &awscloudfront.FunctionProps{
		Comment: jsii.String("ststack: 404 but for GET/HEAD " + PolicyPath + "; lower-cased Host to " + HostHeader),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(viewerRequestFunction())),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	// Every status code whose caching a distribution may set.
	var errorResponses []*awscloudfront.ErrorResponse
	for _, st := range []float64{400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504} {
		errorResponses = append(errorResponses, &awscloudfront.ErrorResponse{HttpStatus: jsii.Number(st), Ttl: duration(ErrorCacheTTL)})
	}
	// The L2 Distribution builds the origin with its origin access control
	// and the function URL's permission for this distribution, the
	// behavior, function and error responses; the L1 overrides below make
	// it multi-tenant (the L2 has no such option in awscdk v2.276.0). A
	// multi-tenant distribution has no aliases (tenants carry the domains)
	// and no price class: "This field only supports standard
	// distributions", https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html.
	d.distribution = awscloudfront.NewDistribution(s, jsii.String("PolicyDistribution"), &awscloudfront.DistributionProps{
		Comment:        jsii.String("ststack " + d.Config.Organization + ": MTA-STS policies"),
		HttpVersion:    awscloudfront.HttpVersion_HTTP2_AND_3,
		ErrorResponses: &errorResponses,
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               awscloudfrontorigins.FunctionUrlOrigin_WithOriginAccessControl(url, nil),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachedMethods:        awscloudfront.CachedMethods_CACHE_GET_HEAD(),
			CachePolicy:          cachePolicy,
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
				Function:  hostFn,
			}},
		},
	})
	cfn := d.distribution.Node().DefaultChild().(awscloudfront.CfnDistribution)
	// ConnectionMode tenant-only: the distribution serves its tenants'
	// domains only, through their connection group:
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-distributionconfig.html
	cfn.AddPropertyOverride(jsii.String("DistributionConfig.ConnectionMode"), "tenant-only")
	// IPv6 is the connection group's (below), and a multi-tenant
	// distribution refuses the field.
	cfn.AddPropertyDeletionOverride(jsii.String("DistributionConfig.IPV6Enabled"))

	// One connection group for every tenant: its routing endpoint
	// (dXXXX.cloudfront.net) is what mta-sts.<domain> and the operator's
	// stable names point at; IPv6 on, as the standard distribution had.
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-connectiongroup.html
	d.connectionGroup = awscloudfront.NewCfnConnectionGroup(s, jsii.String("ConnectionGroup"), &awscloudfront.CfnConnectionGroupProps{
		Name:        jsii.String(*d.Main.StackName()),
		Enabled:     jsii.Bool(true),
		Ipv6Enabled: jsii.Bool(true),
	})

	// What the edge stack (us-east-1) needs, in one parameter of this
	// region: read there by one custom resource (edge.go), not through
	// CDK's crossRegionReferences, which refuse to change a value while
	// another stack imports it.
	awsssm.NewStringParameter(s, jsii.String("EdgeIds"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(d.edgeParam),
		StringValue:   awscdk.Fn_Join(jsii.String(" "), d.edgeValues()),
		Description:   jsii.String("ids the edge stack of " + *d.Main.StackName() + " reads: distribution, connection group, routing endpoint, report API endpoint"),
	})
}
