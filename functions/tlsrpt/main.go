// Command tlsrpt is the Lambda function receiving TLS reports (RFC 8460)
// posted to the HTTPS rua endpoint, POST /v1/tlsrpt, behind an API Gateway
// HTTP API (payload format 2.0). It only wires: the organisation file gives
// the served domains, awsstore the store (S3 bucket and DynamoDB table),
// ingest the handler and its Lambda adapter.
//
// Environment (package lambdaenv): STSTACK_CONFIG (the organisation file;
// default ststack.yaml, relative to LAMBDA_TASK_ROOT), STSTACK_BUCKET (raw
// reports), STSTACK_TABLE (facts); the region and credentials the Lambda
// runtime sets (package awsenv). A bad configuration stops the function
// before any request.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awsenv"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	h, err := coldStart(os.Getenv, logger)
	if err != nil {
		logger.Error("tlsrpt: cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// coldStart builds the handler once per execution environment.
func coldStart(getenv func(string) string, logger *slog.Logger) (ingest.LambdaFunc, error) {
	env, err := lambdaenv.FromEnv(getenv, lambdaenv.Bucket, lambdaenv.Table)
	if err != nil {
		return nil, err
	}
	path := env.ConfigPath
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	// The clients are built by the first report (awsenv.Lazy), not here.
	st := awsstore.New(awsstore.LazyS3(awsenv.Lazy(s3.NewFromConfig, awsCfg)),
		awsstore.LazyDynamoDB(awsenv.Lazy(dynamodb.NewFromConfig, awsCfg)), env.Bucket, env.Table)
	// Each stored report is measured in CloudWatch's embedded metric
	// format on stdout: no API call (package metrics).
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: logger, Metrics: metrics.NewEMF(os.Stdout, nil)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	logger.Info("tlsrpt: ready", "config", path, "domains", len(cfg.Domains))
	return ingest.LambdaHandler(ingest.NewHandler(in)), nil
}
