// Command reconciler is the scheduled Lambda function that brings client
// domains by delegation (dns: delegated) to serving: EventBridge invokes it,
// it reconciles every delegated domain of the organisation file (package
// reconcile) and keeps each domain's state in the report store's table,
// where the dashboard reads it. It only wires.
//
// Environment: STSTACK_CONFIG (the organisation file, relative to
// LAMBDA_TASK_ROOT), STSTACK_TABLE and STSTACK_BUCKET (the report store;
// states are items of the table), STSTACK_DISTRIBUTION_ID (the
// multi-tenant distribution) and STSTACK_CONNECTION_GROUP_ID (its
// connection group), STSTACK_RESOLVER (optional "HOST:PORT" of the DNS
// server to ask instead of /etc/resolv.conf's), all read by package
// lambdaenv; the region and credentials the Lambda runtime sets (package
// awsenv). Its role needs cloudfront:GetDistributionTenant,
// CreateDistributionTenant, UpdateDistributionTenant,
// GetManagedCertificateDetails, and dynamodb:GetItem/PutItem on the table.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awsenv"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/reconcile"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	h, err := coldStart(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("reconciler: cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.handle)
}

func coldStart(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	s, err := lambdaenv.FromEnv(getenv, lambdaenv.Table, lambdaenv.Bucket, lambdaenv.DistributionID, lambdaenv.ConnectionGroupID)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	// CloudFront's control plane is global, served from us-east-1.
	cf := cloudfront.NewFromConfig(awsCfg, func(o *cloudfront.Options) { o.Region = "us-east-1" })
	st := awsstore.New(awsstore.LazyS3(awsenv.Lazy(s3.NewFromConfig, awsCfg)),
		awsstore.LazyDynamoDB(awsenv.Lazy(dynamodb.NewFromConfig, awsCfg)), s.Bucket, s.Table)
	var servers []string
	if s.Resolver != "" {
		servers = []string{s.Resolver}
	}
	return &handler{
		engine: &reconcile.Engine{
			CloudFront: &cloudFront{api: cf, distributionID: s.DistributionID, connectionGID: s.ConnectionGroupID},
			DNS:        reconcile.DNSResolver{Servers: servers},
			States:     reconcile.JSONStates(st),
		},
		domains: reconcile.FromConfig(cfg),
		logger:  logger,
	}, nil
}

type handler struct {
	engine  *reconcile.Engine
	domains []reconcile.Domain
	logger  *slog.Logger
}

// handle runs one reconciliation of every delegated domain and logs each
// domain's phase. Only a failure to save states fails the invocation.
func (h *handler) handle(ctx context.Context) error {
	states, err := h.engine.Run(ctx, h.domains)
	for _, s := range states {
		h.logger.Info("reconciler: domain", "domain", s.Domain, "phase", string(s.Phase), "detail", s.Detail)
	}
	return err
}
