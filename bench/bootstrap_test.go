package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/bench/corpus"
	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdatest"
)

// TestMain stops the AWS stand-ins (dynalite) the bootstrap benchmark
// starts.
func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// trivialPkg is the baseline of BenchmarkBootstrap: a Go Lambda handler
// that answers an event with the event.
const trivialPkg = "./internal/lambdatest/testdata/echo"

// buildBootstrap builds the main package pkg (relative to the module root)
// for linux/goarch with the Makefile's Lambda flags and returns its path.
func buildBootstrap(tb testing.TB, pkg, goarch string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), goarch, filepath.Base(pkg), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s for %s: %v\n%s", pkg, goarch, err, msg)
	}
	return out
}

// function is one Lambda function of BenchmarkBootstrap: its package, the
// environment and the event of its first invocation, and a check of the
// answer.
type function struct {
	name, pkg string
	setup     func(tb testing.TB) (env map[string]string, event any)
	check     func(payload []byte) error
}

// writeOrg writes an organisation file of n domains into a new directory
// (the function's LAMBDA_TASK_ROOT) as ststack.yaml.
func writeOrg(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(orgFile(n)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func awsEnv(env map[string]string, aws *awstest.Env) map[string]string {
	for _, kv := range aws.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// functions are the bootstraps measured, with the trivial one first.
func functions() []function {
	return []function{
		{name: "trivial", pkg: trivialPkg,
			setup: func(testing.TB) (map[string]string, any) { return nil, map[string]string{"ping": "1"} },
			check: func(p []byte) error {
				if !strings.Contains(string(p), `"ping"`) {
					return fmt.Errorf("echo answered %q", p)
				}
				return nil
			}},
		{name: "policy", pkg: "./functions/policy",
			setup: func(tb testing.TB) (map[string]string, any) {
				ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/.well-known/mta-sts.txt",
					Headers: map[string]string{"x-forwarded-host": "mta-sts." + domainName(1)}}
				ev.RequestContext.HTTP.Method = "GET"
				ev.RequestContext.HTTP.Path = ev.RawPath
				return map[string]string{"LAMBDA_TASK_ROOT": writeOrg(tb, 50)}, ev
			},
			check: func(p []byte) error {
				if !strings.Contains(string(p), `"statusCode":200`) || !strings.Contains(string(p), "version: STSv1") {
					return fmt.Errorf("policy answered %q", p)
				}
				return nil
			}},
		{name: "tlsrpt", pkg: "./functions/tlsrpt",
			setup: func(tb testing.TB) (map[string]string, any) {
				env := awsEnv(map[string]string{"LAMBDA_TASK_ROOT": writeOrg(tb, 50)}, awstest.New(tb))
				rep := corpus.Generate(corpusSeed, 1, corpus.Options{Domains: domainNames(50)})[0]
				return env, reportEvent(rep.JSON)
			},
			check: func(p []byte) error {
				var res events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(p, &res); err != nil || res.StatusCode/100 != 2 {
					return fmt.Errorf("tlsrpt answered %q", p)
				}
				return nil
			}},
		{name: "mailin", pkg: "./functions/mailin",
			setup: func(tb testing.TB) (map[string]string, any) {
				aws := awstest.New(tb)
				ctx := context.Background()
				mailBucket := aws.Bucket + "-mail"
				if _, err := aws.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &mailBucket}); err != nil {
					tb.Fatal(err)
				}
				rep := corpus.Generate(corpusSeed, 1, corpus.Options{Domains: domainNames(50)})[0]
				msg := reportMail(rep.JSON)
				key := "inbox/bench"
				if _, err := aws.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &mailBucket, Key: &key,
					Body: bytes.NewReader(msg)}); err != nil {
					tb.Fatal(err)
				}
				// DKIM keys are looked up in a loopback DNS that has none:
				// the report is stored as unsigned.
				dns := checktest.NewDNS(tb)
				env := awsEnv(map[string]string{"LAMBDA_TASK_ROOT": writeOrg(tb, 50),
					"STSTACK_MAIL_BUCKET": mailBucket, "STSTACK_MAIL_PREFIX": "inbox/",
					"STSTACK_RESOLVER": dns.Addr, "STSTACK_DROP_UNSIGNED": "false"}, aws)
				return env, s3Event(mailBucket, key, len(msg))
			},
			check: func([]byte) error { return nil }},
		{name: "checker", pkg: "./functions/checker",
			setup: func(tb testing.TB) (map[string]string, any) {
				w := checktest.NewWorld(tb, time.Now())
				for i := range 2 {
					d := domainName(i)
					w.DNS.Add("_mta-sts."+d+`. TXT "v=STSv1; id=1"`, "mta-sts."+d+". A 127.0.0.1", d+". MX 10 mx1."+d+".")
				}
				sns := httptest.NewServer(http.HandlerFunc(fakeSNS))
				tb.Cleanup(sns.Close)
				env := awsEnv(map[string]string{
					"LAMBDA_TASK_ROOT":     writeOrg(tb, 2),
					"STSTACK_TOPIC_ARN":    "arn:aws:sns:us-east-1:123456789012:alerts",
					"STSTACK_RESOLVER":     w.DNS.Addr,
					"STSTACK_SMTP_PROBE":   "false",
					"AWS_ENDPOINT_URL_SNS": sns.URL,
				}, awstest.New(tb))
				return env, events.EventBridgeEvent{Version: "0", ID: "bench", DetailType: "Scheduled Event",
					Source: "aws.events", Region: "us-east-1", Detail: json.RawMessage("{}")}
			},
			check: func([]byte) error { return nil }},
		{name: "reconciler", pkg: "./functions/reconciler",
			setup: func(tb testing.TB) (map[string]string, any) {
				// Two delegated client domains: one whose CNAME reaches the
				// operator's name (a tenant is created in the CloudFront
				// stand-in), one still waiting for its CNAME.
				cfg, err := config.Parse([]byte(delegatedOrg), "ststack.yaml")
				if err != nil {
					tb.Fatal(err)
				}
				d, _ := cfg.Domain(domainName(0))
				del, _ := cfg.Delegated(d)
				dns := checktest.NewDNS(tb)
				dns.Add(del.PolicyHost.Name + ". CNAME " + del.PolicyHost.Target + ".")
				dir := tb.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(delegatedOrg), 0o644); err != nil {
					tb.Fatal(err)
				}
				env := awsEnv(map[string]string{
					"LAMBDA_TASK_ROOT":            dir,
					"STSTACK_DISTRIBUTION_ID":     "EBENCH",
					"STSTACK_CONNECTION_GROUP_ID": "cg_bench",
					"STSTACK_RESOLVER":            dns.Addr,
					"AWS_ENDPOINT_URL_CLOUDFRONT": awstest.NewCloudFront(tb).URL,
				}, awstest.New(tb))
				return env, events.EventBridgeEvent{Version: "0", ID: "bench", DetailType: "Scheduled Event",
					Source: "aws.events", Region: "us-east-1", Detail: json.RawMessage("{}")}
			},
			check: func([]byte) error { return nil }},
	}
}

// delegatedOrg is the reconciler's organisation file: two client domains
// by delegation.
var delegatedOrg = "organization: Bench Operator\nregion: eu-west-1\ndomains:\n" +
	"  - {name: " + domainName(0) + ", dns: delegated, policy: {mx: [mx1." + domainName(0) + "]}}\n" +
	"  - {name: " + domainName(1) + ", dns: delegated, policy: {mx: [mx1." + domainName(1) + "]}}\n" +
	"delegation: {zone: clients.operator.example, hosted_zone_id: Z0123456789ABCDEFGHIJ}\n" +
	"reporting: {mailto: tlsrpt@reports.example}\n"

// reportEvent is API Gateway's event (HTTP API, payload 2.0) for a POST
// of a JSON report.
func reportEvent(body []byte) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /v1/tlsrpt", RawPath: "/v1/tlsrpt",
		Headers:         map[string]string{"content-type": "application/tlsrpt+json"},
		Body:            base64.StdEncoding.EncodeToString(body),
		IsBase64Encoded: true}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	return ev
}

// reportMail is an e-mailed report (RFC 8460 §5.3), not signed.
func reportMail(report []byte) []byte {
	return []byte("From: tlsrpt@sender.example\r\nTo: tlsrpt@reports.example\r\n" +
		"Subject: Report Domain: " + domainName(1) + " Submitter: sender.example\r\n" +
		"TLS-Report-Domain: " + domainName(1) + "\r\nTLS-Report-Submitter: sender.example\r\n" +
		"Message-ID: <bench@sender.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n" +
		"--b\r\nContent-Type: application/tlsrpt+json\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(report) + "\r\n--b--\r\n")
}

// s3Event is the S3 event notification of a stored message.
func s3Event(bucket, key string, size int) events.S3Event {
	r := events.S3EventRecord{EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1",
		EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put"}
	r.S3.SchemaVersion = "1.0"
	r.S3.Bucket.Name = bucket
	r.S3.Bucket.Arn = "arn:aws:s3:::" + bucket
	r.S3.Object.Key = key
	r.S3.Object.Size = int64(size)
	return events.S3Event{Records: []events.S3EventRecord{r}}
}

// fakeSNS accepts every SNS Publish.
func fakeSNS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`)
}

// BenchmarkBootstrap measures each function's bootstrap, and the trivial
// baseline built the same way: the size of the linux/arm64 binary (what is
// deployed), and the cold start under the Lambda Runtime Interface Emulator
// of the binary for this machine (lambdatest.RIE.ColdStart: emulator start,
// the function's init and its first invocation — a policy GET, a report
// POST stored in S3 and DynamoDB stand-ins, an e-mailed report read from S3
// and stored, a check of two domains, a reconciliation of two client
// domains), and within it the init phase the
// emulator logs (lambdatest.RIE.Init: runtime and package initialisation
// and main's work before lambda.Start). The init is the least of the runs:
// other load on the machine only ever adds to it.
func BenchmarkBootstrap(b *testing.B) {
	for _, fn := range functions() {
		b.Run(fn.name, func(b *testing.B) {
			arm := buildBootstrap(b, fn.pkg, "arm64")
			fi, err := os.Stat(arm)
			if err != nil {
				b.Fatal(err)
			}
			local := buildBootstrap(b, fn.pkg, runtime.GOARCH)
			env, event := fn.setup(b)
			var cold time.Duration
			init := time.Duration(math.MaxInt64)
			for b.Loop() {
				rie := lambdatest.Start(b, local, env)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				payload, err := rie.Invoke(ctx, event)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if err := fn.check(payload); err != nil {
					b.Fatal(err)
				}
				cold += rie.ColdStart()
				d, ok := rie.Init()
				if !ok {
					b.Fatalf("no init report in the emulator's output:\n%s", rie.Output())
				}
				init = min(init, d)
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "arm64-MiB")
			b.ReportMetric(float64(cold.Microseconds())/1000/float64(b.N), "coldstart-ms")
			b.ReportMetric(float64(init.Microseconds())/1000, "init-ms")
		})
	}
}
