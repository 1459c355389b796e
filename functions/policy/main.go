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
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/policyhost"
)

// defaultConfig is the organisation file's name in the deployment asset.
const defaultConfig = "ststack.yaml"

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
	path := configPath(getenv)
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	h, err := policyhost.New(cfg,
		policyhost.WithLogger(log),
		policyhost.WithHostHeader(policyhost.ForwardedHostHeader))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	log.Info("policy: serving", "config", path, "hosts", len(h.Hosts()))
	return h, nil
}

// configPath is $STSTACK_CONFIG (default ststack.yaml), a relative path
// taken relative to $LAMBDA_TASK_ROOT when that is set.
func configPath(getenv func(string) string) string {
	path := getenv("STSTACK_CONFIG")
	if path == "" {
		path = defaultConfig
	}
	if root := getenv("LAMBDA_TASK_ROOT"); root != "" && !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	return path
}
