package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/metrics"
	"github.com/ststack/ststack/internal/metrics/emftest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/tlsrpt"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const orgFile = `organization: Example Corp
region: eu-west-1
defaults:
  policy: { mode: testing, max_age: 604800, mx: ["*.mail.example.net"] }
domains:
  - name: example.com
    dns: { external: true }
reporting: { https: true }
`

// sample is a real report (Google's) about example.com.
const sample = "../../testdata/tlsrpt/google-2024-02.json"

// event is what API Gateway (HTTP API, payload 2.0) sends for a POST of
// body with the given content type: binary bodies base64-encoded.
func event(body []byte, contentType string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/tlsrpt", RawPath: "/v1/tlsrpt",
		Headers: map[string]string{
			"content-type":   contentType,
			"content-length": "1",
			"user-agent":     "Google-SMTP-STS-Reporter",
		},
		Body:            base64.StdEncoding.EncodeToString(body),
		IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.Path = "/v1/tlsrpt"
	ev.RequestContext.HTTP.SourceIP = "192.0.2.9"
	ev.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	ev.RequestContext.Stage = "$default"
	ev.RequestContext.TimeEpoch = time.Now().UnixMilli()
	return ev
}

// TestBootstrap runs the real bootstrap under the Lambda Runtime Interface
// Emulator, with dynalite and gofakes3 as DynamoDB and S3, and posts a real
// report as a base64 gzip HTTP API event: stored (201), then known (200);
// a report about a domain not served is refused (422) and stores nothing.
func TestBootstrap(t *testing.T) {
	aws := awstest.New(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STSTACK_CONFIG": "ststack.yaml", "LAMBDA_TASK_ROOT": dir}
	for _, kv := range aws.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "tlsrpt"), env)

	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	gz := buf.Bytes()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	invoke := func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		t.Helper()
		out, err := rie.Invoke(ctx, ev)
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		return resp
	}
	for i, want := range []int{http.StatusCreated, http.StatusOK} {
		resp := invoke(event(gz, "application/tlsrpt+gzip"))
		if resp.StatusCode != want || resp.Headers["Content-Type"] != "text/plain; charset=utf-8" {
			t.Fatalf("post %d: %d %v %q; want %d", i+1, resp.StatusCode, resp.Headers, resp.Body, want)
		}
	}
	t.Logf("cold start %v", rie.ColdStart())

	// What the function stored, read back with the store's own client.
	st := awsstore.New(aws.S3, aws.DynamoDB, aws.Bucket, aws.Table)
	rep, err := tlsrpt.ParseReport(data, tlsrpt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	key := rep.Identity().Key()
	raw, err := st.Raw(ctx, key)
	if err != nil || !bytes.Equal(raw, gz) {
		t.Errorf("raw body: %d bytes, %v; want the %d gzip bytes posted", len(raw), err, len(gz))
	}
	facts, err := st.Facts(ctx, "example.com", store.DayOf(rep.Start), store.DayOf(rep.Start))
	if err != nil || len(facts) != 1 || facts[0].Success != 53 || facts[0].ReportKey != key {
		t.Errorf("facts = %+v, %v; want one with 53 successful sessions", facts, err)
	}
	if r, err := st.Report(ctx, key); err != nil || r.Channel != "https" || r.ContentType != store.ContentTypeGzip {
		t.Errorf("report record = %+v, %v", r, err)
	}

	// Not served here: refused, nothing stored.
	other := bytes.ReplaceAll(data, []byte("example.com"), []byte("example.net"))
	resp := invoke(event(other, "application/tlsrpt+json"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, "example.net") {
		t.Errorf("report about example.net: %d %q, want 422 naming the domain", resp.StatusCode, resp.Body)
	}
	if f, _ := st.Facts(ctx, "example.net", "0001-01-01", "9999-12-31"); len(f) != 0 {
		t.Errorf("facts of a refused report: %v", f)
	}
	// The metrics the function logged (issue 18 §4): valid embedded
	// metric format, the stored report counted once (not its duplicate,
	// not the refused one).
	ms, err := emftest.Lines(rie.Output())
	if err != nil {
		t.Fatalf("function log: %v", err)
	}
	counted := map[string]float64{}
	for _, m := range ms {
		if m.Namespace == metrics.Namespace && len(m.Dimensions) == 1 {
			counted[m.Name+" "+m.Dimensions[metrics.DimensionDomain]] += m.Value
		}
	}
	if want := map[string]float64{"Reports example.com": 1, "Sessions example.com": 53}; !maps.Equal(counted, want) {
		t.Errorf("metrics logged %v, want %v\n%s", counted, want, rie.Output())
	}
	if out := rie.Output(); !strings.Contains(out, "tlsrpt: accepted") {
		t.Errorf("function log lacks the accepted line:\n%s", out)
	}
}
