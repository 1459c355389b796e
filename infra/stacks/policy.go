package stacks

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"
)

// HostHeader is the request header in which the policy function finds the
// host the sender asked for (mta-sts.<domain>). CloudFront must send a
// function URL origin its own Host, so a CloudFront Function copies the
// viewer's Host here; the header is part of the cache key, so every
// domain's policy is cached apart.
const HostHeader = "x-forwarded-host"

// viewerRequestFunction is the code of the CloudFront Function that runs
// on every viewer request (cloudfront-js-2.0), with hostsJSON the JSON
// object whose keys are the served hosts. It answers 404 itself, without
// reaching the policy function (one invocation per probe), for any method
// but GET and HEAD, any path but PolicyPath and any host not served. For
// the rest it copies the viewer's Host, lower-cased and without a port or
// a trailing dot (as the policy handler matches hosts), to HostHeader (overwriting whatever the viewer sent there), so the
// cache key does not split by the case senders happen to use. Error
// answers are cached for ErrorCacheTTL like the origin's.
func viewerRequestFunction(hostsJSON string) string {
	return `var hosts = ` + hostsJSON + `;
function handler(event) {
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
      !Object.prototype.hasOwnProperty.call(hosts, host)) {
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
// access control), one distribution with every mta-sts.<domain> as an
// alias, TLS 1.2 or later, GET and HEAD only, HTTPS only (no redirect: RFC
// 8461 §3.3 forbids following one), cached as long as the function's
// Cache-Control says and errors for seconds. A change of any policy
// invalidates the policy path, and the TXT ids change only once that
// invalidation has completed (see addInvalidation and addDNS).
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

	// The certificate lives in us-east-1; its ARN is read from the SSM
	// parameter there. The call reruns whenever the certificate's names
	// change, that is whenever it is replaced.
	read := &customresources.AwsSdkCall{
		Service:            jsii.String("SSM"),
		Action:             jsii.String("getParameter"),
		Parameters:         map[string]any{"Name": d.certParam},
		Region:             jsii.String(CertificateRegion),
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("certificate-" + d.certHash)),
		OutputPaths:        jsii.Strings("Parameter.Value"),
	}
	certArn := customresources.NewAwsCustomResource(s, jsii.String("CertificateArn"), &customresources.AwsCustomResourceProps{
		OnCreate:            read,
		LogGroup:            d.customResourceLogs(s),
		OnUpdate:            read,
		InstallLatestAwsSdk: jsii.Bool(false),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("ssm:GetParameter"),
				Resources: jsii.Strings(*awscdk.Stack_Of(s).FormatArn(&awscdk.ArnComponents{
					Service:      jsii.String("ssm"),
					Region:       jsii.String(CertificateRegion),
					Resource:     jsii.String("parameter"),
					ResourceName: jsii.String(d.certParam[1:]),
				})),
			}),
		}),
	})
	cert := awscertificatemanager.Certificate_FromCertificateArn(s, jsii.String("Certificate"),
		certArn.GetResponseField(jsii.String("Parameter.Value")))

	cachePolicy := awscloudfront.NewCachePolicy(s, jsii.String("PolicyCache"), &awscloudfront.CachePolicyProps{
		Comment:             jsii.String("ststack: MTA-STS policies, per host, as long as the policy function's Cache-Control"),
		DefaultTtl:          duration(PolicyCacheTTL),
		MaxTtl:              duration(PolicyCacheTTL),
		MinTtl:              awscdk.Duration_Seconds(jsii.Number(0)),
		HeaderBehavior:      awscloudfront.CacheHeaderBehavior_AllowList(jsii.String(HostHeader)),
		QueryStringBehavior: awscloudfront.CacheQueryStringBehavior_None(),
		CookieBehavior:      awscloudfront.CacheCookieBehavior_None(),
	})
	served := map[string]bool{}
	for _, h := range d.policyHosts() {
		served[strings.ToLower(h)] = true
	}
	hostsJSON, err := json.Marshal(served) // sorted keys: a stable function
	if err != nil {
		panic(err)
	}
	hostFn := awscloudfront.NewFunction(s, jsii.String("HostHeader"), &awscloudfront.FunctionProps{
		Comment: jsii.String("ststack: 404 but for GET/HEAD " + PolicyPath + " of a served host; lower-cased Host to " + HostHeader),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(viewerRequestFunction(string(hostsJSON)))),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	// Every status code whose caching a distribution may set.
	var errorResponses []*awscloudfront.ErrorResponse
	for _, st := range []float64{400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504} {
		errorResponses = append(errorResponses, &awscloudfront.ErrorResponse{HttpStatus: jsii.Number(st), Ttl: duration(ErrorCacheTTL)})
	}
	d.distribution = awscloudfront.NewDistribution(s, jsii.String("PolicyDistribution"), &awscloudfront.DistributionProps{
		Comment:                jsii.String("ststack " + d.Config.Organization + ": MTA-STS policies"),
		DomainNames:            jsii.Strings(d.policyHosts()...),
		Certificate:            cert,
		MinimumProtocolVersion: awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021,
		SslSupportMethod:       awscloudfront.SSLMethod_SNI,
		HttpVersion:            awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:             awscloudfront.PriceClass_PRICE_CLASS_100,
		ErrorResponses:         &errorResponses,
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

	d.addInvalidation()
	d.invalidation.resource.Node().AddDependency(fn, url, d.distribution)
}

// policiesHash digests every domain's name and policy id: it changes
// exactly when a policy (or the set of domains) does.
func (d *Deployment) policiesHash() string {
	parts := make([]string, 0, len(d.Config.Domains))
	for _, dom := range d.Config.Domains {
		parts = append(parts, dom.Name+"="+dom.Policy.ID())
	}
	sort.Strings(parts)
	return shortHash(parts...)
}
