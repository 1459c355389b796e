package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/notify"
)

// The scheduled checker says when a retiring domain may be removed: a
// notice while it waits, an alert when the wait is over (issue 15, RFC
// 8461 §8.3).
func TestHandlerRetiring(t *testing.T) {
	cfg, err := config.Parse([]byte(`organization: Acme
region: eu-west-1
domains:
  - name: old.test
    dns: {external: true}
    policy: {mode: enforce, max_age: 604800, mx: [mx.old.test]}
    retire: 2026-02-25
reporting: {https: true, mailto: tlsrpt@reports.test}
`), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := checktest.NewWorld(t, testNow)
	serve(t, w, cfg, "old.test")
	f := &fakeSNS{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sns.New(sns.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	h, err := newHandler(cfg, lambdaenv.Env{RUAHTTPS: ruaHTTPS, TopicARN: "arn:aws:sns:eu-west-1:1:alerts"}, deps{
		Network: checker.Config{Resolver: w.DNS.Addr, RootCAs: w.CA.Pool, HTTPSPort: w.HTTPS.Port,
			SMTPPort: w.SMTP.Port, Now: func() time.Time { return w.Now }, Timeout: 3 * time.Second},
		History: checker.NewMemoryHistory(),
		Alerter: notify.NewSNS(client, "arn:aws:sns:eu-west-1:1:alerts"),
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events"}

	// 2026-03-01: the week of max_age after the end of 2026-02-25 is not over.
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs := f.take()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Get("Message"), "retiring") ||
		!strings.Contains(msgs[0].Get("Message"), "2026-03-05T00:00:00Z") {
		t.Fatalf("while waiting, published %v", msgs)
	}
	// 2026-03-05: the wait is over.
	w.Now = time.Date(2026, 3, 5, 0, 30, 0, 0, time.UTC)
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs = f.take()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Get("Message"), "retired") ||
		!strings.Contains(msgs[0].Get("Message"), "remove the domain") {
		t.Fatalf("after the wait, published %v", msgs)
	}
}
