// Package awsenv builds the AWS SDK configuration of a Lambda function from
// its environment alone, without the SDK's config package.
//
// config.LoadDefaultConfig resolves credentials through a chain that links
// the SSO, SSO-OIDC, STS and sign-in clients, the shared-file parser and the
// instance metadata client, and reads the shared files at every cold start.
// A Lambda function needs none of it: the runtime puts the execution role's
// credentials and the region in the environment. Without that chain each
// bootstrap is about 1.5 MiB smaller (measured in docs/performance.md).
package awsenv

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ErrIncomplete is returned (wrapped) when the environment lacks the region
// or the credentials.
var ErrIncomplete = errors.New("awsenv: incomplete AWS environment")

// Config returns the SDK configuration given by the environment (getenv is
// os.Getenv outside tests):
//
//   - the region, AWS_REGION (else AWS_DEFAULT_REGION), and the execution
//     role's credentials, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN, which the Lambda runtime sets
//     (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
//   - endpoints: AWS_ENDPOINT_URL_<SERVICE> for one service (for example
//     AWS_ENDPOINT_URL_DYNAMODB), else AWS_ENDPOINT_URL for all, as the
//     SDKs define them
//     (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html);
//     the tests point clients at loopback stand-ins this way.
//
// Clients built from it with NewFromConfig keep the SDK's defaults (standard
// retryer, HTTP client).
func Config(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case region == "":
		return aws.Config{}, errors.Join(ErrIncomplete, errors.New("AWS_REGION is not set"))
	case id == "" || secret == "":
		return aws.Config{}, errors.Join(ErrIncomplete, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set"))
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		// Each service client asks its ConfigSources for the endpoint
		// of its service id (a ServiceBaseEndpointProvider).
		ConfigSources: []any{endpoints(getenv)},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

// endpoints gives the service-specific endpoint variables to the SDK's
// clients.
type endpoints func(string) string

// GetServiceBaseEndpoint returns $AWS_ENDPOINT_URL_<ID> for the service id
// sdkID ("S3", "DynamoDB", "SNS"): upper case, spaces as underscores.
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := e(EndpointVar(sdkID))
	return u, u != "", nil
}

// EndpointVar is the variable naming the endpoint of the service with SDK
// id sdkID.
func EndpointVar(sdkID string) string {
	return "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
}
