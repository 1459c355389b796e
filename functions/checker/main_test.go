package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/metrics/emftest"
	"github.com/ststack/ststack/internal/notify"
	"github.com/ststack/ststack/internal/store"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const orgFile = `organization: Acme
region: eu-west-1
domains:
  - name: a.test
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.a.test]}
  - name: b.test
    dns: {external: true}
    policy: {mode: testing, mx: [mx.b.test]}
reporting: {https: true, mailto: tlsrpt@reports.test}
checker: {readiness: {window_days: 7, min_sessions: 10}}
`

const ruaHTTPS = "https://tlsrpt.reports.test/v1/report"

// fakeSNS records the Publish requests it receives.
type fakeSNS struct {
	mu   sync.Mutex
	msgs []url.Values
	down bool // answer 500
}

func (f *fakeSNS) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		http.Error(w, "<ErrorResponse><Error><Code>InternalError</Code></Error></ErrorResponse>", http.StatusInternalServerError)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, r.PostForm)
	f.mu.Unlock()
	fmt.Fprint(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m1</MessageId></PublishResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></PublishResponse>`)
}

func (f *fakeSNS) take() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.msgs
	f.msgs = nil
	return m
}

type stats map[string]store.Summary

func (s stats) Summary(_ context.Context, d string, _, _ store.Day) (store.Summary, error) {
	return s[d], nil
}

// serve publishes domain d of the organisation file in w as deployed.
func serve(t *testing.T, w *checktest.World, cfg *config.Config, d string) {
	dom, ok := cfg.Domain(d)
	if !ok {
		t.Fatalf("%s not configured", d)
	}
	w.Serve(t, checktest.Domain{Name: d, Policy: dom.PolicyText(), ID: dom.Policy.ID(),
		MX: []string{"mx." + d}, TLSRPT: cfg.TLSRPTRecord(ruaHTTPS).String()})
}

// TestHandler runs the handler as EventBridge would, against loopback
// DNS/HTTPS and an SNS endpoint on 127.0.0.1.
func TestHandler(t *testing.T) {
	cfg, err := config.Parse([]byte(orgFile), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := checktest.NewWorld(t, testNow)
	serve(t, w, cfg, "a.test")
	serve(t, w, cfg, "b.test")
	f := &fakeSNS{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sns.New(sns.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	var logs, stdout bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	hist := checker.NewMemoryHistory()
	h, err := newHandler(cfg, lambdaenv.Env{RUAHTTPS: ruaHTTPS, TopicARN: "arn:aws:sns:eu-west-1:1:alerts"}, deps{
		Metrics: metrics.NewEMF(&stdout, func() time.Time { return w.Now }),
		Network: checker.Config{Resolver: w.DNS.Addr, RootCAs: w.CA.Pool, HTTPSPort: w.HTTPS.Port,
			SMTPPort: w.SMTP.Port, Now: func() time.Time { return w.Now }, Timeout: 3 * time.Second},
		History: hist,
		Stats:   stats{"b.test": {Reports: 2, Totals: store.Totals{Success: 50}, STS: store.Totals{Success: 50}}},
		Alerter: notify.NewSNS(client, "arn:aws:sns:eu-west-1:1:alerts"),
		Logger:  logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events"}

	// First run: b.test in testing with enough clean sessions is ready.
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs := f.take()
	if len(msgs) != 1 || msgs[0].Get("Subject") != "ststack: b.test: 1 new notice" ||
		!strings.Contains(msgs[0].Get("Message"), "ready-to-enforce") {
		t.Fatalf("first run published %v", msgs)
	}
	if last, ok, _ := hist.Last(ctx, "a.test"); !ok || len(last.Findings) != 0 {
		t.Errorf("history of a.test: %+v %v", last, ok)
	}
	// Unchanged: nothing published.
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if msgs := f.take(); len(msgs) != 0 {
		t.Fatalf("unchanged run published %v", msgs)
	}
	// The https rua disappears from a.test's record: one alert.
	w.DNS.Remove("_smtp._tls.a.test", dns.TypeTXT)
	w.DNS.Add(`_smtp._tls.a.test. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"`)
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs = f.take()
	if len(msgs) != 1 || msgs[0].Get("MessageAttributes.entry.1.Value.StringValue") != "a.test" ||
		!strings.Contains(msgs[0].Get("Message"), "tlsrpt-rua-missing-endpoint ("+ruaHTTPS+")") {
		t.Fatalf("third run published %v", msgs)
	}
	if !strings.Contains(logs.String(), `"msg":"check run done","event_id":"ev-1","domains":2,"errors":1`) {
		t.Errorf("log lacks the run summary:\n%s", logs.String())
	}
	// Findings by severity, per domain and run, in embedded metric format:
	// errors and warnings only, when there are some (b.test's notice and
	// a.test's two clean runs write nothing).
	ms, err := emftest.Lines(stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]float64{}
	for _, m := range ms {
		if m.Name == metrics.MetricFindings {
			last[m.Dimensions[metrics.DimensionDomain]+" "+m.Dimensions[metrics.DimensionSeverity]] = m.Value
		}
	}
	if want := map[string]float64{"a.test error": 1}; len(ms) != 1 || !maps.Equal(last, want) {
		t.Errorf("%d metrics, last of each %v; want one: %v", len(ms), last, want)
	}

	// SNS down: the run fails, and the alert is sent again on the next run.
	w.DNS.Remove("_smtp._tls.b.test", dns.TypeTXT)
	f.setDown(true)
	if err := h.handle(ctx, ev); err == nil {
		t.Fatal("run with SNS down succeeded")
	}
	f.setDown(false)
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if msgs := f.take(); len(msgs) != 1 || !strings.Contains(msgs[0].Get("Message"), "tlsrpt-record-missing") {
		t.Fatalf("run after SNS recovered published %v", msgs)
	}
}

func TestSettings(t *testing.T) {
	base := map[string]string{config.EnvConfig: "ststack.yaml", config.EnvTaskRoot: "/var/task", lambdaenv.TopicARN: "arn:aws:sns:eu-west-1:1:t",
		lambdaenv.Bucket: "b", lambdaenv.Table: "t"}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		path   string
		probe  string // "", "true", "false"
		err    string
	}{
		{"relative", with(), "/var/task/ststack.yaml", "", ""},
		{"absolute", with(config.EnvConfig, "/opt/org.yaml"), "/opt/org.yaml", "", ""},
		{"probe on", with(lambdaenv.SMTPProbe, "true"), "/var/task/ststack.yaml", "true", ""},
		{"probe off", with(lambdaenv.SMTPProbe, "false"), "/var/task/ststack.yaml", "false", ""},
		{"probe bad", with(lambdaenv.SMTPProbe, "yes please"), "", "", lambdaenv.SMTPProbe},
		{"default config", with(config.EnvConfig, ""), "/var/task/ststack.yaml", "", ""},
		{"no topic", with(lambdaenv.TopicARN, ""), "", "", lambdaenv.TopicARN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := settingsFrom(tc.getenv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.ConfigPath != tc.path {
				t.Errorf("config path %q, want %q", s.ConfigPath, tc.path)
			}
			got := ""
			if s.SMTPProbe != nil {
				got = fmt.Sprint(*s.SMTPProbe)
			}
			if got != tc.probe {
				t.Errorf("smtp probe %q, want %q", got, tc.probe)
			}
		})
	}
}

func TestColdStart(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{config.EnvConfig: "ststack.yaml", config.EnvTaskRoot: dir, lambdaenv.TopicARN: "arn:aws:sns:eu-west-1:1:t",
		"STSTACK_TABLE": "t", "STSTACK_BUCKET": "b", lambdaenv.Resolver: "127.0.0.1:53", lambdaenv.SMTPProbe: "true",
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret"}
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	h, err := coldStart(context.Background(), func(k string) string { return env[k] }, logger)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.targets) != 2 || h.targets[0].Domain != "a.test" || len(h.targets[0].RUA) != 1 {
		t.Errorf("targets %+v", h.targets)
	}
	for _, tc := range []struct{ key, val, want string }{
		{"STSTACK_TABLE", "", "STSTACK_TABLE"},
		{config.EnvConfig, "missing.yaml", "missing.yaml"},
		{lambdaenv.Resolver, "no-port", "no-port"},
		{"AWS_REGION", "", "AWS_REGION"},
	} {
		old := env[tc.key]
		env[tc.key] = tc.val
		_, err := coldStart(context.Background(), func(k string) string { return env[k] }, logger)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err %v, want one naming %s", tc.key, tc.val, err, tc.want)
		}
		env[tc.key] = old
	}
	var ce *config.Error
	env[config.EnvConfig] = "bad.yaml"
	_ = os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("organization: [\n"), 0o644)
	if _, err := coldStart(context.Background(), func(k string) string { return env[k] }, logger); !errors.As(err, &ce) {
		t.Errorf("bad organisation file: err %v, want a *config.Error", err)
	}
}
