package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/tlsrpt"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// orgFile serves example.com and the domain of the real Google e-mail.
const orgFile = `organization: Example Corp
region: eu-west-1
defaults:
  policy: { mode: testing, max_age: 604800, mx: ["*.mail.example.net"] }
domains:
  - name: example.com
    dns: { route53: { hosted_zone_id: Z0EXAMPLE } }
  - name: cardinalhealth.ca
    dns: { external: true }
reporting:
  mailto: tlsrpt@reports.example.com
  email: { receive: true }
`

const (
	samples   = "../../testdata/tlsrpt/"
	googleEML = samples + "google-2024-09.eml"
)

// signedReport is an e-mailed report (RFC 8460 §5.3) about example.com from
// google.com, DKIM-signed with a key published in d.
func signedReport(t *testing.T, d *checktest.DNS) []byte {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d.Add(`sel._domainkey.google.com. TXT "v=DKIM1; k=ed25519; s=tlsrpt; p=` + base64.StdEncoding.EncodeToString(pub) + `"`)
	report, err := os.ReadFile(samples + "google-2024-02.json")
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: noreply-smtp-tls-reporting@google.com\r\nTo: tlsrpt@reports.example.com\r\n" +
		"Subject: Report Domain: example.com Submitter: google.com\r\nTLS-Report-Domain: example.com\r\n" +
		"TLS-Report-Submitter: google.com\r\nMessage-ID: <r1@google.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n" +
		"--b\r\nContent-Type: application/tlsrpt+json\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(report) + "\r\n--b--\r\n"
	var out bytes.Buffer
	err = dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: "google.com", Selector: "sel", Signer: key,
		HeaderKeys: []string{"From", "To", "Subject", "TLS-Report-Domain", "TLS-Report-Submitter", "Message-ID"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func s3Event(bucket, key string, size int) events.S3Event {
	r := events.S3EventRecord{EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "eu-west-1",
		EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put"}
	r.S3.SchemaVersion = "1.0"
	r.S3.ConfigurationID = "ststack-mailin"
	r.S3.Bucket.Name = bucket
	r.S3.Bucket.Arn = "arn:aws:s3:::" + bucket
	r.S3.Object.Key = key
	r.S3.Object.Size = int64(size)
	return events.S3Event{Records: []events.S3EventRecord{r}}
}

// TestBootstrap runs the real bootstrap under the Lambda Runtime Interface
// Emulator with dynalite and gofakes3, the DKIM keys in a loopback DNS: S3
// event notifications for the messages SES stored, and an SES event.
func TestBootstrap(t *testing.T) {
	awsEnv := awstest.New(t)
	d := checktest.NewDNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mailBucket := awsEnv.Bucket + "-mail"
	if _, err := awsEnv.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(mailBucket)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STSTACK_CONFIG": "ststack.yaml", "LAMBDA_TASK_ROOT": dir,
		"STSTACK_MAIL_BUCKET": mailBucket, "STSTACK_MAIL_PREFIX": "inbox/", "STSTACK_RESOLVER": d.Addr}
	for _, kv := range awsEnv.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "mailin"), env)
	put := func(key string, msg []byte) {
		t.Helper()
		if _, err := awsEnv.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(mailBucket), Key: aws.String(key),
			Body: bytes.NewReader(msg)}); err != nil {
			t.Fatal(err)
		}
	}
	st := awsstore.New(awsEnv.S3, awsEnv.DynamoDB, awsEnv.Bucket, awsEnv.Table)
	keyOf := func(msg []byte) string {
		t.Helper()
		data, err := tlsrpt.ExtractFromMessage(msg, tlsrpt.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := tlsrpt.ParseReport(data, tlsrpt.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Identity().Key()
	}

	// A signed report: stored, verdict pass.
	signed := signedReport(t, d)
	put("inbox/signed0000000000000000000000000000001", signed)
	if _, err := rie.Invoke(ctx, s3Event(mailBucket, "inbox/signed0000000000000000000000000000001", len(signed))); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	rep, err := st.Report(ctx, keyOf(signed))
	if err != nil || rep.Channel != "email" || rep.DKIM == nil || *rep.DKIM != (store.DKIM{Result: store.DKIMPass, Domain: "google.com"}) {
		t.Errorf("signed report: %+v, %v", rep, err)
	}

	// The real e-mail from Google, by the SES event: stored, verdict fail
	// (its signature expired long ago).
	google, err := os.ReadFile(googleEML)
	if err != nil {
		t.Fatal(err)
	}
	put("inbox/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81", google)
	var ses events.SimpleEmailEvent
	ses.Records = []events.SimpleEmailRecord{{EventSource: "aws:ses", EventVersion: "1.0"}}
	ses.Records[0].SES.Mail.MessageID = "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81"
	ses.Records[0].SES.Receipt.Action.Type = "Lambda"
	ses.Records[0].SES.Receipt.Action.InvocationType = "Event"
	if _, err := rie.Invoke(ctx, ses); err != nil {
		t.Fatalf("invoke SES event: %v", err)
	}
	rep, err = st.Report(ctx, keyOf(google))
	if err != nil || rep.DKIM == nil || rep.DKIM.Result != store.DKIMFail || rep.DKIM.Domain != "google.com" ||
		len(rep.Domains) != 1 || rep.Domains[0] != "cardinalhealth.ca" {
		t.Errorf("Google's e-mail: %+v, %v", rep, err)
	}

	// Not a report: the invocation succeeds, nothing is stored.
	bounce := []byte("From: MAILER-DAEMON@mx.example.net\r\nSubject: Undeliverable\r\n\r\nSorry.\r\n")
	put("inbox/bounce", bounce)
	if out, err := rie.Invoke(ctx, s3Event(mailBucket, "inbox/bounce", len(bounce))); err != nil {
		t.Errorf("bounce: %s, %v; want success", out, err)
	}
	// An event this function cannot handle fails the invocation.
	if _, err := rie.Invoke(ctx, json.RawMessage(`{"Records":[{"eventSource":"aws:sqs"}]}`)); err == nil {
		t.Error("SQS event: no error")
	}
	log := rie.Output()
	for _, want := range []string{"mailin: ready", "mailin: stored", "mailin: not-report", "dkim=pass"} {
		if !strings.Contains(log, want) {
			t.Errorf("function log lacks %q:\n%s", want, log)
		}
	}
	t.Logf("cold start %v", rie.ColdStart())
}

func TestSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	base := []string{"STSTACK_BUCKET", "b", "STSTACK_TABLE", "t"}
	tests := []struct {
		name string
		env  func(string) string
		drop *bool
		err  string
	}{
		{"minimal", env(base...), nil, ""},
		{"drop on", env(append(base, "STSTACK_DROP_UNSIGNED", "true")...), aws.Bool(true), ""},
		{"drop off", env(append(base, "STSTACK_DROP_UNSIGNED", "0")...), aws.Bool(false), ""},
		{"drop bad", env(append(base, "STSTACK_DROP_UNSIGNED", "yes")...), nil, "STSTACK_DROP_UNSIGNED=\"yes\""},
		{"no table", env("STSTACK_BUCKET", "b"), nil, "STSTACK_TABLE must be set"},
	}
	for _, tc := range tests {
		s, err := settingsFrom(tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || (s.DropUnsigned == nil) != (tc.drop == nil) || s.DropUnsigned != nil && *s.DropUnsigned != *tc.drop {
			t.Errorf("%s: %+v, %v", tc.name, s, err)
		}
	}
}

// TestColdStartErrors: a bad organisation file or resolver stops the
// function before any event, naming what is wrong.
func TestColdStartErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("organization: x\nregion: eu-west-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "ststack.yaml")
	if err := os.WriteFile(good, []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"STSTACK_CONFIG": bad}, "bad.yaml:"},
		{map[string]string{"STSTACK_CONFIG": filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{map[string]string{"STSTACK_CONFIG": good, "STSTACK_RESOLVER": "127.0.0.1"}, "STSTACK_RESOLVER"},
		{map[string]string{"STSTACK_CONFIG": good}, "AWS_REGION"},
	} {
		tc.env["STSTACK_BUCKET"], tc.env["STSTACK_TABLE"] = "b", "t"
		_, err := coldStart(context.Background(), func(k string) string { return tc.env[k] }, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("coldStart(%v) = %v, want an error naming %q", tc.env, err, tc.want)
		}
	}
}
