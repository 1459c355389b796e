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
// /etc/resolv.conf). A bad configuration stops the function before any
// event.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/mailin"
	"github.com/ststack/ststack/internal/store/awsstore"
)

// Environment variables read at cold start (besides those of config and
// awsstore).
const (
	envMailBucket   = "STSTACK_MAIL_BUCKET"
	envMailPrefix   = "STSTACK_MAIL_PREFIX"
	envDropUnsigned = "STSTACK_DROP_UNSIGNED"
	envResolver     = "STSTACK_RESOLVER"
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

// settings are the environment's.
type settings struct {
	configPath         string
	bucket, table      string
	mailBucket, prefix string
	dropUnsigned       *bool // nil: as the organisation file says
	resolver           string
}

func settingsFrom(getenv func(string) string) (settings, error) {
	s := settings{
		configPath: config.LambdaPath(getenv),
		bucket:     getenv(awsstore.EnvBucket),
		table:      getenv(awsstore.EnvTable),
		mailBucket: getenv(envMailBucket),
		prefix:     getenv(envMailPrefix),
		resolver:   getenv(envResolver),
	}
	if s.bucket == "" || s.table == "" {
		return s, fmt.Errorf("%s and %s must be set", awsstore.EnvBucket, awsstore.EnvTable)
	}
	if v := getenv(envDropUnsigned); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", envDropUnsigned, v)
		}
		s.dropUnsigned = &b
	}
	return s, nil
}

// coldStart builds the handler once per execution environment.
func coldStart(ctx context.Context, getenv func(string) string, logger *slog.Logger) (mailin.LambdaFunc, error) {
	s, err := settingsFrom(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(s.configPath)
	if err != nil {
		return nil, err // *config.Error names the file, line and field
	}
	lookup, err := mailin.ResolverLookup(s.resolver)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envResolver, err)
	}
	drop := cfg.Reporting.Email.DropUnsigned
	if s.dropUnsigned != nil {
		drop = *s.dropUnsigned
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	s3c := s3.NewFromConfig(awsCfg)
	st := awsstore.New(s3c, dynamodb.NewFromConfig(awsCfg), s.bucket, s.table)
	p, err := mailin.New(st, mailin.Options{
		Domains:      cfg.DomainNames(),
		DropUnsigned: drop,
		LookupTXT:    lookup,
		Logger:       logger,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.configPath, err)
	}
	logger.Info("mailin: ready", "config", s.configPath, "domains", len(cfg.Domains), "drop_unsigned", drop,
		"mail_bucket", s.mailBucket)
	return mailin.LambdaHandler(p, s3c, mailin.LambdaOptions{Bucket: s.mailBucket, Prefix: s.prefix, Logger: logger}), nil
}
