package awsenv

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Lazy returns a function giving the client newFromConfig(cfg) builds (a
// service package's NewFromConfig), built on the first call, once, and the
// same client on every later call; it is safe for concurrent use.
//
// A Lambda function builds its clients this way so that its init (what
// runs before the runtime asks for the first event, and what a cold start
// waits for) does not build clients an invocation may never need, such as
// the checker's SNS client, used only when there is an alert. Building an
// SDK client does no I/O, but the first one in a process costs 0.3–0.7 ms
// of CPU (options, retryer, HTTP client, endpoint resolver; measured in
// docs/performance.md). Wrap the result in the consumer's adapter
// (awsstore.LazyS3, awsstore.LazyDynamoDB, notify.LazySNS).
func Lazy[C, O any](newFromConfig func(aws.Config, ...func(*O)) C, cfg aws.Config) func() C {
	return sync.OnceValue(func() C { return newFromConfig(cfg) })
}
