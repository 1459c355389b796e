// Command policy is the Lambda function serving MTA-STS policies: the origin
// of the CloudFront distribution for every mta-sts.<domain>, invoked through
// a function URL in RESPONSE_STREAM mode (aws-lambda-go's lambdaurl).
//
// At start it loads the organisation file bundled with it ($STSTACK_CONFIG,
// default ststack.yaml, relative to $LAMBDA_TASK_ROOT) and builds the
// policyhost.Handler, which validates every policy; if either fails it logs
// why and exits non-zero before taking any request, so a bad configuration
// is never served. See docs/policy.md.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/policyhost"
)

func main() {
	log := slog.New(lambdacontext.NewLogHandler())
	h, err := newHandler(os.Getenv, log)
	if err != nil {
		log.Error("policy: refusing to start", "error", err.Error())
		os.Exit(1)
	}
	lambdaurl.Start(h)
}

// newHandler loads the configuration named by the environment and returns
// the policy handler for it, taking the viewer's host from the header the
// CloudFront Function sets.
func newHandler(getenv func(string) string, log *slog.Logger) (*policyhost.Handler, error) {
	env, err := lambdaenv.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	path := env.ConfigPath
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	h, err := policyhost.New(cfg, policyhost.Options{
		Logger:     log,
		HostHeader: policyhost.ForwardedHostHeader,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	log.Info("policy: serving", "config", path, "hosts", len(h.Hosts()))
	return h, nil
}
