// Command checker is the scheduled checker Lambda function: EventBridge
// invokes it (events.EventBridgeEvent), it checks every configured domain,
// alerts through SNS (and the log) when findings appear or clear, and keeps
// each domain's latest result and reads report statistics in the report
// store. It only wires; the work is in internal/checker.
//
// Environment: STSTACK_CONFIG (the organisation file; relative to
// LAMBDA_TASK_ROOT), STSTACK_TABLE and STSTACK_BUCKET (the report store),
// STSTACK_TOPIC_ARN (the SNS alerts topic), STSTACK_RUA_HTTPS (the https
// rua URL the deployment publishes; optional), STSTACK_SMTP_PROBE ("true"
// or "false"; default: the organisation file's checker.smtp_probe),
// STSTACK_RESOLVER (optional "HOST:PORT" of the DNS server to ask instead
// of the one in /etc/resolv.conf), all read by package lambdaenv; the
// region and credentials the Lambda runtime sets (package awsenv).
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ststack/ststack/internal/awsenv"
	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/notify"
	"github.com/ststack/ststack/internal/rollout"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	h, err := coldStart(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("checker: cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.handle)
}

// coldStart builds the handler once per execution environment: the
// organisation file, AWS clients, the store and the alerters.
func coldStart(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	s, err := settingsFrom(getenv)
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
	// The clients are built when first used (awsenv.Lazy), not here: the
	// SNS client only when there is an alert to send.
	st := awsstore.New(awsstore.LazyS3(awsenv.Lazy(s3.NewFromConfig, awsCfg)),
		awsstore.LazyDynamoDB(awsenv.Lazy(dynamodb.NewFromConfig, awsCfg)), s.Bucket, s.Table)
	alerter := notify.All(notify.NewLog(logger), notify.NewSNS(notify.LazySNS(awsenv.Lazy(sns.NewFromConfig, awsCfg)), s.TopicARN))
	return newHandler(cfg, s, deps{
		Network: checker.Config{Resolver: s.Resolver},
		History: st,
		Stats:   st,
		Alerter: alerter,
		Logger:  logger,
		Metrics: metrics.NewEMF(os.Stdout, nil),
	})
}

// settingsFrom reads the environment: the alerts topic and the report
// store are required.
func settingsFrom(getenv func(string) string) (lambdaenv.Env, error) {
	return lambdaenv.FromEnv(getenv, lambdaenv.TopicARN, lambdaenv.Bucket, lambdaenv.Table)
}

// deps are what the handler is built from: the network settings of the
// checker (its Stats, SMTPProbe and readiness fields are set here) and the
// store and alerter it works with.
type deps struct {
	// Metrics receives each domain's result (nil: none; the function
	// writes CloudWatch embedded metric format to stdout).
	Metrics interface{ Checked(health.Result) }
	Network checker.Config
	History checker.History
	Stats   checker.ReportStats
	Alerter checker.Alerter
	Logger  *slog.Logger
}

// summedStore is a report store with day sums (awsstore's Store).
type summedStore interface {
	store.FactLister
	store.DaySumReader
}

type handler struct {
	monitor *checker.Monitor
	targets []checker.Target
	logger  *slog.Logger
	metrics interface{ Checked(health.Result) }
}

func newHandler(cfg *config.Config, s lambdaenv.Env, d deps) (*handler, error) {
	cc := d.Network
	// Readiness and alerts count the reports the organisation file says
	// (reporting.count; conflicting ones only when asked), read from the
	// day sums: the 14-day window costs one small item a complete day,
	// not every report (docs/performance.md, "Data at 1,000 domains").
	cc.Stats = d.Stats
	counting := store.Counting{Provenances: cfg.Reporting.Count.Provenances, Conflicting: cfg.Reporting.Count.Conflicting}
	switch s := d.Stats.(type) {
	case summedStore:
		cc.Stats = store.DayCounted{Facts: s, Sums: s, Counting: counting}
		// Silent senders learn from the day sums too, whatever is
		// counted (checker.silence; docs/checker.md, "Silent senders").
		cc.Senders = s
	case store.FactLister:
		cc.Stats = store.Counted{FactLister: s, Counting: counting}
	}
	cc.Silence = store.Silence{
		SenderAfter: time.Duration(cfg.Checker.SilenceSenderDays) * 24 * time.Hour,
		DomainAfter: time.Duration(cfg.Checker.SilenceDomainDays) * 24 * time.Hour,
	}
	cc.SilenceLookbackDays = cfg.Checker.SilenceLookbackDays
	cc.SMTPProbe = cfg.Checker.SMTPProbe
	if s.SMTPProbe != nil {
		cc.SMTPProbe = *s.SMTPProbe
	}
	cc.ReadinessWindowDays = cfg.Checker.ReadinessWindowDays
	cc.ReadinessMinSessions = cfg.Checker.ReadinessMinSessions
	c, err := checker.New(cc)
	if err != nil {
		return nil, err
	}
	m := &checker.Monitor{Checker: c, History: d.History, Alerter: d.Alerter}
	// The rollout plan's steps alert once each (docs/rollout.md), read from
	// the same store: its day sums, the facts of failing days, the results.
	if src, ok := d.Stats.(rollout.Source); ok {
		m.Rollout = &rollout.Alerts{Source: src, Config: cfg}
	}
	return &handler{
		monitor: m,
		targets: checker.TargetsFromConfig(cfg, s.RUAHTTPS),
		logger:  d.Logger,
		metrics: d.Metrics,
	}, nil
}

// handle runs one scheduled check of every configured domain. It fails
// (so that the invocation is retried and counted as an error) when alerts
// or history could not be written; findings are not failures.
func (h *handler) handle(ctx context.Context, ev events.EventBridgeEvent) error {
	results, err := h.monitor.Run(ctx, h.targets)
	var errs, warns int
	for _, r := range results {
		e, w := r.Count(health.SeverityError), r.Count(health.SeverityWarning)
		errs += e
		warns += w
		h.logger.InfoContext(ctx, "checked", "domain", r.Domain, "mode", string(r.Mode), "errors", e, "warnings", w)
		if h.metrics != nil {
			h.metrics.Checked(r)
		}
	}
	h.logger.InfoContext(ctx, "check run done", "event_id", ev.ID, "domains", len(results), "errors", errs, "warnings", warns)
	if err != nil {
		h.logger.ErrorContext(ctx, "check run incomplete", "error", err.Error())
		return errors.New("checker: alerts or history not written for some domains (see the log)")
	}
	return nil
}
