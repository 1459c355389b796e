// Command tlsrpt is the Lambda function receiving TLS reports (RFC 8460)
// posted to the HTTPS rua endpoint, POST /v1/tlsrpt, behind an API Gateway
// HTTP API (payload format 2.0). It only wires: the organisation file gives
// the served domains, awsstore the store (S3 bucket and DynamoDB table),
// ingest the handler and its Lambda adapter.
//
// Environment: STSTACK_CONFIG (the organisation file; default ststack.yaml,
// relative to LAMBDA_TASK_ROOT), STSTACK_BUCKET (raw reports), STSTACK_TABLE
// (facts). A bad configuration stops the function before any request.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	h, err := coldStart(context.Background(), logger)
	if err != nil {
		logger.Error("tlsrpt: cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// coldStart builds the handler once per execution environment.
func coldStart(ctx context.Context, logger *slog.Logger) (ingest.LambdaFunc, error) {
	path := config.LambdaPath(os.Getenv)
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	st, err := awsstore.FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	logger.Info("tlsrpt: ready", "config", path, "domains", len(cfg.Domains))
	return ingest.LambdaHandler(ingest.NewHandler(in)), nil
}
