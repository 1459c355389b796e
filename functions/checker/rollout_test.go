package main

import (
	"context"
	"fmt"
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
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// saveReport stores one organisation's report of day for domain.
func saveReport(t *testing.T, es *embedded.Store, domain string, day store.Day, org string, success, failed int64) {
	t.Helper()
	key := fmt.Sprintf("%s!%s-%s", org, domain, day)
	start := day.Time()
	f := store.Fact{Domain: domain, Day: day, ReportKey: key, Organization: org, OrganizationName: org,
		ReportID: string(day), Start: start, End: start.Add(24*time.Hour - time.Second), Success: success, Failure: failed,
		Policies: []store.PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: success, Failure: failed}}}
	if failed > 0 {
		f.Failures = []store.FailureCount{{ResultType: tlsrpt.ResultCertificateExpired, MXHost: "mx." + domain, SendingIP: "192.0.2.1", Count: failed}}
	}
	_, err := es.SaveReport(context.Background(), store.Entry{Report: store.Receipt{Key: key, Organization: org,
		OrganizationName: org, ReportID: string(day), Start: f.Start, End: f.End, Domains: []string{domain},
		Success: success, Failure: failed, ReceivedAt: start.Add(30 * time.Hour), Channel: "https",
		ContentType: store.ContentTypeJSON, Size: 2, Digest: key}, Raw: []byte("{}"), Facts: []store.Fact{f}})
	if err != nil {
		t.Fatal(err)
	}
}

// The scheduled checker alerts once when a rollout step becomes available
// (with the command to run), and watches a domain moved to enforce closely:
// two failed sessions of one sender in three, which after the watch only
// hold the domain, advise the step back within it (issue 19).
func TestHandlerRollout(t *testing.T) {
	since := store.DayOf(testNow).AddDays(-3)
	cfg, err := config.Parse([]byte(`organization: Acme
region: eu-west-1
domains:
  - name: new.test
    dns: {external: true}
    policy: {mode: testing, max_age: 604800, mx: [mx.new.test]}
  - name: moved.test
    dns: {external: true}
    policy: {mode: enforce, max_age: 86400, mx: [mx.moved.test]}
    stage_since: `+string(since)+`
reporting: {https: true, mailto: tlsrpt@reports.test}
`), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := checktest.NewWorld(t, testNow)
	serve(t, w, cfg, "new.test")
	serve(t, w, cfg, "moved.test")
	es, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	for ago := 1; ago <= 20; ago++ {
		day := store.DayOf(testNow).AddDays(-ago)
		for _, org := range []string{"a.example", "b.example", "c.example"} {
			saveReport(t, es, "new.test", day, org, 100, 0)
			failed := int64(0)
			if ago == 2 && org == "a.example" {
				failed = 2
			}
			saveReport(t, es, "moved.test", day, org, 100, failed)
		}
	}
	f := &fakeSNS{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sns.New(sns.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	h, err := newHandler(cfg, lambdaenv.Env{RUAHTTPS: ruaHTTPS, TopicARN: "arn:aws:sns:eu-west-1:1:alerts"}, deps{
		Network: checker.Config{Resolver: w.DNS.Addr, RootCAs: w.CA.Pool, HTTPSPort: w.HTTPS.Port,
			SMTPPort: w.SMTP.Port, Now: func() time.Time { return w.Now }, Timeout: 3 * time.Second},
		History: es,
		Stats:   es,
		Alerter: notify.NewSNS(client, "arn:aws:sns:eu-west-1:1:alerts"),
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events"}
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	byDomain := map[string]string{}
	for _, m := range f.take() {
		byDomain[m.Get("Subject")] += m.Get("Message")
	}
	var newMsg, movedMsg string
	for subj, msg := range byDomain {
		switch {
		case strings.Contains(subj, "new.test"):
			newMsg = msg
		case strings.Contains(subj, "moved.test"):
			movedMsg = msg
		}
	}
	for _, want := range []string{"rollout-step", "move to enforce, max_age 86400", "ststack plan --aws --apply"} {
		if !strings.Contains(newMsg, want) {
			t.Errorf("new.test alert lacks %q:\n%s", want, newMsg)
		}
	}
	for _, want := range []string{"rollout-step-back", "step back to testing", "day 3 of 14"} {
		if !strings.Contains(movedMsg, want) {
			t.Errorf("moved.test alert lacks %q:\n%s", want, movedMsg)
		}
	}
	// The next run the same day: nothing new, no alert.
	w.Now = testNow.Add(time.Hour)
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.take() {
		if strings.Contains(m.Get("Message"), "rollout") {
			t.Errorf("a second run alerted again: %s", m.Get("Message"))
		}
	}
}
