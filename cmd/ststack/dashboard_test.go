package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dashboard"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/sample"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// TestMain stops the AWS stand-ins (package awstest) the --aws test starts.
func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const exampleOrg = "../../ststack.example.yaml"

var dashboardRE = regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/`)

// startDashboard runs `ststack dashboard` in-process and returns its base
// URL and a function that stops it and returns its status.
func startDashboard(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: out, stderr: errb}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"dashboard", "--addr", "127.0.0.1:0"}, args...), env) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := dashboardRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], func() int {
				cancel()
				select {
				case c := <-done:
					return c
				case <-time.After(15 * time.Second):
					t.Fatal("dashboard did not stop")
					return -1
				}
			}
		}
		select {
		case c := <-done:
			cancel()
			t.Fatalf("dashboard exited %d\nstdout: %s\nstderr: %s", c, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dashboard not ready\nstdout: %s\nstderr: %s", out, errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getOverview(t *testing.T, base string, hdr ...string) dashboard.Overview {
	t.Helper()
	var o dashboard.Overview
	code, body, _ := getWith(t, base+"/api/v1/overview", hdr...)
	if code != 200 {
		t.Fatalf("overview: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// getWith is a GET with request headers given as name, value pairs.
func getWith(t *testing.T, url string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServeSampleData(t *testing.T) {
	data := t.TempDir()
	base, stop := startServe(t, "--config", exampleOrg, "--data", data, "--sample-data")
	code, page, hdr := do(t, "GET", base+"/", "", "", nil)
	if code != 200 || !strings.Contains(page, `id="sample-banner"`) || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("dashboard: %d, banner %v, CSP %q", code, strings.Contains(page, "sample-banner"), hdr.Get("Content-Security-Policy"))
	}
	first := getOverview(t, base)
	if !first.SampleData || first.Last30Days.Reports == 0 || first.Last30Days.Failure == 0 {
		t.Errorf("overview with sample data: %+v", first.Last30Days)
	}
	for _, d := range first.Domains {
		if d.Check == nil {
			t.Errorf("%s: no sample check", d.Domain)
		}
	}
	if c := stop(); c != exitOK {
		t.Fatalf("serve exited %d", c)
	}
	// Loading again stores nothing twice.
	base, stop = startServe(t, "--config", exampleOrg, "--data", data, "--sample-data")
	defer stop()
	again := getOverview(t, base)
	if again.Last30Days.Reports != first.Last30Days.Reports || again.Last30Days.Success != first.Last30Days.Success {
		t.Errorf("after a second load: %+v, want %+v", again.Last30Days, first.Last30Days)
	}
	// The policy host and the report endpoint are not the dashboard's.
	if code, body, _ := do(t, "GET", base+"/.well-known/mta-sts.txt", "mta-sts.example.com", "", nil); code != 200 || !strings.HasPrefix(body, "version: STSv1") {
		t.Errorf("policy: %d %q", code, body)
	}
}

func TestServeDashboardToken(t *testing.T) {
	const tok = "a-token-of-the-serve-test"
	t.Setenv(dashboard.EnvToken, tok)
	base, stop := startServe(t, "--config", exampleOrg, "--data", t.TempDir())
	defer stop()
	if code, _, _ := do(t, "GET", base+"/api/v1/overview", "", "", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	getOverview(t, base, "Authorization", "Bearer "+tok)
	// Senders need no token: the policy and the report endpoint stay public.
	if code, _, _ := do(t, "GET", base+"/.well-known/mta-sts.txt", "mta-sts.example.org", "", nil); code != 200 {
		t.Errorf("policy behind the token: %d", code)
	}
	report, err := os.ReadFile(filepath.Join(samples, "google-2024-02.json"))
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", report); code != 201 {
		t.Errorf("report endpoint behind the token: %d %s", code, body)
	}
}

func TestDashboardUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--help"}, exitOK, "usage: ststack dashboard"},
		{[]string{"--bogus"}, exitUsage, "usage: ststack dashboard"},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--aws", "--data", "x"}, exitUsage, "either --aws or --data"},
		{[]string{"--bucket", "b", "--table", "t"}, exitUsage, "need --aws"},
		{[]string{"--aws", "--bucket", "b"}, exitUsage, "--bucket and --table together"},
		{[]string{"--aws", "--stack", "s", "--bucket", "b", "--table", "t"}, exitUsage, "either --stack"},
		{[]string{"--addr", "0.0.0.0:0"}, exitUsage, "--allow-remote"},
		{[]string{"--addr", "0.0.0.0:0", "--allow-remote"}, exitUsage, "needs a token"},
		{[]string{"--token", "short"}, exitUsage, "at least 16"},
		{[]string{"--config", "nope.yaml"}, exitInvalid, "nope.yaml"},
		{[]string{"--config", exampleOrg, "--data", filepath.Join(t.TempDir(), "none")}, exitInvalid, "data directory"},
		{[]string{"serve", "--addr", "192.0.2.1:0"}, exitUsage, "--allow-remote"},
		// Only literal loopback addresses count: a name is resolved
		// when listening (issue 14 §6).
		{[]string{"serve", "--addr", "dash.localhost:0"}, exitUsage, "not a literal loopback address"},
		{[]string{"--addr", "localhost:0"}, exitUsage, "give 127.0.0.1:0 or [::1]:0"},
		{[]string{"serve", "--resolver", "127.0.0.1"}, exitUsage, "--resolver: "},
		{[]string{"--resolver", "127.0.0.1"}, exitUsage, "--resolver: "},
		{[]string{"--aws", "--resolver", "127.0.0.1:53"}, exitUsage, "--resolver is for a local dashboard"},
	}
	for _, tc := range tests {
		args := append([]string{"dashboard"}, tc.args...)
		if tc.args[0] == "serve" {
			args = append(tc.args, "--config", exampleOrg)
		}
		code, out, errs := runCLI(t, "", args...)
		if code != tc.code || !strings.Contains(out+errs, tc.says) {
			t.Errorf("%v: %d, want %d saying %q\n%s%s", args, code, tc.code, tc.says, out, errs)
		}
	}
}

// TestDashboardData serves the data directory `ststack serve` wrote.
func TestDashboardData(t *testing.T) {
	data := t.TempDir()
	_, stop := startServe(t, "--config", exampleOrg, "--data", data, "--sample-data")
	stop()
	base, stop := startDashboard(t, "--config", exampleOrg, "--data", data)
	defer stop()
	if o := getOverview(t, base); !o.SampleData || o.Last30Days.Reports == 0 {
		t.Errorf("overview of the data directory: %+v", o.Last30Days)
	}
}

// TestDashboardAWS reads a table and bucket on the loopback stand-ins of
// AWS (dynalite, gofakes3) through the SDK's default configuration, as
// `ststack dashboard --aws` does on a user's machine.
func TestDashboardAWS(t *testing.T) {
	e := awstest.New(t)
	cfg, err := config.Load(exampleOrg)
	if err != nil {
		t.Fatal(err)
	}
	st := awsstore.New(e.S3, e.DynamoDB, e.Bucket, e.Table)
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	so := sample.Options{Days: 5}
	if _, err := sample.Load(ctx, in, st, cfg, so); err != nil {
		t.Fatal(err)
	}
	// A real report too, posted today so that it counts in the window.
	raw, err := os.ReadFile(filepath.Join(samples, "microsoft-2024-02.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tlsrpt.ParseReport(raw, tlsrpt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Ingest(ctx, raw, ingest.ChannelHTTPS)
	if err != nil {
		t.Fatal(err)
	}

	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	base, stop := startDashboard(t, "--aws", "--config", exampleOrg, "--bucket", e.Bucket, "--table", e.Table, "--region", awstest.Region)
	defer stop()

	o := getOverview(t, base)
	var wantReports int
	var wantSuccess, wantFailure int64
	for _, r := range sample.Reports(cfg, so) {
		if store.DayOf(r.Start) < o.Last30Days.From {
			continue
		}
		wantReports++
		for _, p := range r.Policies {
			wantSuccess += p.Success
			wantFailure += p.Failure
		}
	}
	if !o.SampleData || o.Last30Days.Reports != wantReports || o.Last30Days.Success != wantSuccess || o.Last30Days.Failure != wantFailure {
		t.Errorf("overview from AWS: %+v, want %d reports %d/%d", o.Last30Days, wantReports, wantSuccess, wantFailure)
	}
	code, body, hdr := do(t, "GET", base+"/api/v1/reports/"+res.Key+"/raw", "", "", nil)
	if code != 200 || body != string(raw) || hdr.Get("Content-Type") != store.ContentTypeJSON {
		t.Errorf("raw report from S3: %d %s, %d bytes", code, hdr.Get("Content-Type"), len(body))
	}
	var v dashboard.ReportView
	code, body, _ = do(t, "GET", base+"/api/v1/reports/"+res.Key, "", "", nil)
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.Report.ReportID != rep.ReportID {
		t.Errorf("report from DynamoDB: %d %v %+v", code, err, v.Report)
	}
	if code, page, _ := do(t, "GET", base+"/domains/example.org", "", "", nil); code != 200 || !strings.Contains(page, "sample: senders reported") {
		t.Errorf("domain page from AWS: %d", code)
	}
}

// fakeCFN answers DescribeStacks and ListStackResources from fixed data,
// resources in pages of two.
type fakeCFN struct {
	outputs   map[string]string
	resources [][3]string // type, logical id, physical id
	missing   bool
}

func (f *fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.missing {
		return nil, errors.New("Stack with id " + aws.ToString(in.StackName) + " does not exist")
	}
	s := cfntypes.Stack{StackName: in.StackName}
	for k, v := range f.outputs {
		s.Outputs = append(s.Outputs, cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{s}}, nil
}

func (f *fakeCFN) ListStackResources(_ context.Context, in *cloudformation.ListStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error) {
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	out := &cloudformation.ListStackResourcesOutput{}
	for i := start; i < len(f.resources) && i < start+2; i++ {
		r := f.resources[i]
		out.StackResourceSummaries = append(out.StackResourceSummaries, cfntypes.StackResourceSummary{
			ResourceType: aws.String(r[0]), LogicalResourceId: aws.String(r[1]), PhysicalResourceId: aws.String(r[2])})
	}
	if start+2 < len(f.resources) {
		out.NextToken = aws.String(fmt.Sprint(start + 2))
	}
	return out, nil
}

func TestLookupStack(t *testing.T) {
	res := [][3]string{
		{"AWS::Lambda::Function", "Policy1234", "fn"},
		{"AWS::S3::Bucket", "AccessLogsAB12", "logs-bucket"},
		{"AWS::DynamoDB::Table", "Facts5678", "facts-table"},
		{"AWS::S3::Bucket", "ReportsCD34", "reports-bucket"},
		{"AWS::SNS::Topic", "Alerts", "topic"},
	}
	tests := []struct {
		name string
		api  *fakeCFN
		want stackInfo
		err  string
	}{
		{"outputs", &fakeCFN{outputs: map[string]string{outputBucket: "b", outputTable: "t", outputEndpoint: "https://r.example/v1/tlsrpt"}},
			stackInfo{"b", "t", "https://r.example/v1/tlsrpt"}, ""},
		{"resources", &fakeCFN{resources: res}, stackInfo{"reports-bucket", "facts-table", ""}, ""},
		{"one output, one resource", &fakeCFN{outputs: map[string]string{outputTable: "t"}, resources: res}, stackInfo{"reports-bucket", "t", ""}, ""},
		{"a single bucket of any name", &fakeCFN{resources: [][3]string{{"AWS::S3::Bucket", "Data", "d"}, {"AWS::DynamoDB::Table", "T", "t"}}}, stackInfo{"d", "t", ""}, ""},
		{"no stack", &fakeCFN{missing: true}, stackInfo{}, "does not exist"},
		{"two tables", &fakeCFN{resources: append(res, [3]string{"AWS::DynamoDB::Table", "Other", "other"})}, stackInfo{}, "2 DynamoDB tables"},
		{"no reports bucket", &fakeCFN{resources: [][3]string{{"AWS::S3::Bucket", "A", "a"}, {"AWS::S3::Bucket", "B", "b"}, {"AWS::DynamoDB::Table", "T", "t"}}}, stackInfo{}, "no single reports bucket"},
	}
	for _, tc := range tests {
		got, err := lookupStack(context.Background(), tc.api, "ststack-example-corp")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestServeCookieSecure: the token cookie of `ststack serve` is Secure
// behind a TLS proxy on this machine (X-Forwarded-Proto: https from
// loopback), and always with --allow-remote, even over plain HTTP
// (issue 14 §6).
func TestServeCookieSecure(t *testing.T) {
	const tok = "0123456789abcdef-token"
	secure := func(t *testing.T, base string, hdr ...string) bool {
		t.Helper()
		req, err := http.NewRequest("GET", base+"/?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == dashboard.CookieName {
				return c.Secure
			}
		}
		t.Fatalf("%d without the cookie", resp.StatusCode)
		return false
	}

	base, stop := startServe(t, "--config", exampleOrg, "--data", t.TempDir(), "--token", tok)
	if secure(t, base) {
		t.Error("Secure over plain HTTP on loopback")
	}
	if !secure(t, base, "X-Forwarded-Proto", "https") {
		t.Error("not Secure behind a loopback TLS proxy")
	}
	stop()

	base, stop = startServe(t, "--config", exampleOrg, "--data", t.TempDir(), "--token", tok, "--allow-remote")
	if !secure(t, base) {
		t.Error("not Secure with --allow-remote")
	}
	stop()
}
