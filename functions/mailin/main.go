// Command mailin is the Lambda function receiving TLS reports (RFC 8460) by
// e-mail: the SES receipt rule for reporting.mailto stores each message in
// the mail bucket, then invokes this function (an SES event); an S3 event
// notification for a stored message works too. It only
// wires: the organisation file gives the served domains and the DKIM
// policy, awsstore the report store, mailin the handler (see
// docs/email.md).
//
// Environment: STSTACK_CONFIG (the organisation file; default ststack.yaml,
// relative to LAMBDA_TASK_ROOT), STSTACK_BUCKET and STSTACK_TABLE (the
// report store), STSTACK_MAIL_BUCKET and STSTACK_MAIL_PREFIX (where the
// receipt rule stores messages; needed for SES events only),
// STSTACK_DROP_UNSIGNED ("true" or "false"; default: the organisation
// file's reporting.email.drop_unsigned), STSTACK_RESOLVER (optional
// "HOST:PORT" of the DNS server asked for DKIM keys instead of the one in
// /etc/resolv.conf), all read by package lambdaenv; the region and
// credentials the Lambda runtime sets (package awsenv). A bad
// configuration stops the function before any event.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awsenv"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/mailin"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	h, err := coldStart(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("mailin: cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// settingsFrom reads the environment: the report store is required.
func settingsFrom(getenv func(string) string) (lambdaenv.Env, error) {
	return lambdaenv.FromEnv(getenv, lambdaenv.Bucket, lambdaenv.Table)
}

// coldStart builds the handler once per execution environment.
func coldStart(ctx context.Context, getenv func(string) string, logger *slog.Logger) (mailin.LambdaFunc, error) {
	s, err := settingsFrom(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	resolver, err := dnsresolve.NewStd(s.Resolver)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", lambdaenv.Resolver, err)
	}
	drop := cfg.Reporting.Email.DropUnsigned
	if s.DropUnsigned != nil {
		drop = *s.DropUnsigned
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	// The clients are built by the first message (awsenv.Lazy), not here.
	s3c := awsstore.LazyS3(awsenv.Lazy(s3.NewFromConfig, awsCfg))
	st := awsstore.New(s3c, awsstore.LazyDynamoDB(awsenv.Lazy(dynamodb.NewFromConfig, awsCfg)), s.Bucket, s.Table)
	p, err := mailin.New(st, mailin.Options{
		Domains:      cfg.DomainNames(),
		DropUnsigned: drop,
		Resolver:     resolver,
		Logger:       logger,
		// Each stored report measured in CloudWatch's embedded metric
		// format on stdout (package metrics).
		Metrics: metrics.NewEMF(os.Stdout, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.ConfigPath, err)
	}
	logger.Info("mailin: ready", "config", s.ConfigPath, "domains", len(cfg.Domains), "drop_unsigned", drop,
		"mail_bucket", s.MailBucket)
	return mailin.LambdaHandler(p, s3c, mailin.LambdaOptions{Bucket: s.MailBucket, Prefix: s.MailPrefix, Logger: logger}), nil
}
