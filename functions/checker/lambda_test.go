package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/lambdatest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// TestBootstrap runs the real bootstrap under the Lambda Runtime Interface
// Emulator with DynamoDB (dynalite) as the store, SNS on 127.0.0.1 and the
// loopback DNS server as resolver. The policy hosts resolve to 127.0.0.1,
// where nothing serves port 443, so every domain has a policy-fetch-failed
// finding: the first invocation alerts once per domain, the second, reading
// the history the first saved, alerts for nothing.
func TestBootstrap(t *testing.T) {
	aws := awstest.New(t)
	cfg := strings.Replace(orgFile, "checker: {", "checker: {smtp_probe: true, ", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := checktest.NewWorld(t, time.Now())
	for _, d := range []string{"a.test", "b.test"} {
		w.DNS.Add("_mta-sts."+d+`. TXT "v=STSv1; id=1"`, "mta-sts."+d+". A 127.0.0.1", d+". MX 10 mx."+d+".")
	}
	f := &fakeSNS{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)

	env := map[string]string{
		"STSTACK_CONFIG":       filepath.Join(dir, "ststack.yaml"),
		"STSTACK_TOPIC_ARN":    "arn:aws:sns:us-east-1:123456789012:alerts",
		"STSTACK_SMTP_PROBE":   "false", // the file says true; the environment wins
		"STSTACK_RESOLVER":     w.DNS.Addr,
		"AWS_ENDPOINT_URL_SNS": srv.URL,
	}
	for _, kv := range aws.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "checker"), env)
	ev := events.EventBridgeEvent{Version: "0", ID: "e1", DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: "123456789012", Time: time.Now().UTC(), Region: "us-east-1", Detail: []byte("{}")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := rie.Invoke(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs := f.take()
	if len(msgs) != 2 {
		t.Fatalf("first invocation published %d messages, want 2: %v", len(msgs), msgs)
	}
	for _, m := range msgs {
		body := m.Get("Message")
		if !strings.Contains(body, "policy-fetch-failed") || strings.Contains(body, "smtp-") {
			t.Errorf("message %q: want policy-fetch-failed and no SMTP probe", body)
		}
	}
	if _, err := rie.Invoke(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if msgs := f.take(); len(msgs) != 0 {
		t.Errorf("second invocation published %v; history not kept?", msgs)
	}
	if out := rie.Output(); !strings.Contains(out, "check run done") {
		t.Errorf("function log lacks the run summary:\n%s", out)
	}
}
