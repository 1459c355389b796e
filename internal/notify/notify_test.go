package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ststack/ststack/internal/health"
)

const topic = "arn:aws:sns:eu-west-1:123456789012:ststack-alerts"

var (
	idMismatch = health.Finding{Severity: health.SeverityError, Code: health.CodeSTSIDMismatch,
		Message: "_mta-sts.example.com has id=1, the configured policy's id is 2", Remedy: "publish 2 as the id"}
	expiring = health.Finding{Severity: health.SeverityWarning, Code: health.CodeCertExpiring, Subject: "mta-sts.example.com",
		Message: "certificate of mta-sts.example.com expires in 12 days", Remedy: "renew it"}
	stale = health.Finding{Severity: health.SeverityWarning, Code: health.CodeMXPatternStale, Subject: "*.old.example.com",
		Message: "mx pattern *.old.example.com matches none of the MX hosts", Remedy: "remove it"}
)

// fakeSNS is an SNS endpoint on 127.0.0.1 speaking the query protocol: it
// decodes each Publish request and answers as SNS does.
type fakeSNS struct {
	mu       sync.Mutex
	requests []url.Values
	status   int // 0: 200
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "want a form POST", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.PostForm)
	status := f.status
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not allowed</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
		return
	}
	fmt.Fprint(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult><ResponseMetadata><RequestId>f187a3c1-376f-11df-8963-01868b7c937a</RequestId></ResponseMetadata></PublishResponse>`)
}

func newSNSClient(t *testing.T, f *fakeSNS) *sns.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return sns.New(sns.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestSNSPublish(t *testing.T) {
	f := &fakeSNS{}
	a := NewSNS(newSNSClient(t, f), topic)
	ctx := context.Background()
	if err := a.Alert(ctx, "example.com", []health.Finding{idMismatch, expiring}, []health.Finding{stale}); err != nil {
		t.Fatal(err)
	}
	if err := a.Alert(ctx, "example.org", nil, []health.Finding{expiring}); err != nil {
		t.Fatal(err)
	}
	if err := a.Alert(ctx, "example.net", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.requests) != 2 {
		t.Fatalf("%d requests, want 2 (none for an empty alert)", len(f.requests))
	}
	for i, want := range []map[string]string{
		{
			"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic,
			"Subject":                                     "ststack: example.com: 1 new error, 1 new warning, 1 resolved",
			"MessageAttributes.entry.1.Name":              "domain",
			"MessageAttributes.entry.1.Value.DataType":    "String",
			"MessageAttributes.entry.1.Value.StringValue": "example.com",
			"MessageAttributes.entry.2.Name":              "severity",
			"MessageAttributes.entry.2.Value.StringValue": "error",
		},
		{
			"Subject": "ststack: example.org: 1 resolved",
			"MessageAttributes.entry.1.Value.StringValue": "example.org",
			"MessageAttributes.entry.2.Value.StringValue": "cleared",
		},
	} {
		got := f.requests[i]
		for k, v := range want {
			if got.Get(k) != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got.Get(k), v)
			}
		}
	}
	msg := f.requests[0].Get("Message")
	for _, s := range []string{
		"New:\n- [error] sts-id-mismatch: _mta-sts.example.com has id=1",
		"  Fix: publish 2 as the id\n",
		"- [warning] cert-expiring (mta-sts.example.com): certificate of mta-sts.example.com expires in 12 days\n  Fix: renew it",
		"Resolved:\n- [warning] mx-pattern-stale (*.old.example.com): mx pattern",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "remove it") {
		t.Errorf("message gives a remedy for a resolved finding:\n%s", msg)
	}
}

func TestSNSError(t *testing.T) {
	f := &fakeSNS{status: http.StatusForbidden}
	a := NewSNS(newSNSClient(t, f), topic)
	err := a.Alert(context.Background(), "example.com", []health.Finding{idMismatch}, nil)
	if err == nil || !strings.Contains(err.Error(), "example.com") || !strings.Contains(err.Error(), "AuthorizationError") {
		t.Errorf("err %v, want the domain and the SNS error", err)
	}
}

func TestFormat(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example"
	for _, tc := range []struct {
		name              string
		domain            string
		appeared, cleared []health.Finding
		subject           string
	}{
		{"errors and notices", "example.com", []health.Finding{idMismatch, idMismatch, {Severity: health.SeverityInfo, Code: health.CodeReadyToEnforce, Message: "ready"}}, nil,
			"ststack: example.com: 2 new errors, 1 new notice"},
		{"cleared only", "example.com", nil, []health.Finding{idMismatch, stale}, "ststack: example.com: 2 resolved"},
		{"long domain cut", long, []health.Finding{idMismatch}, nil, ("ststack: " + long)[:100]},
		{"non-ASCII replaced", "bücher.example", nil, []health.Finding{stale}, "ststack: b?cher.example: 1 resolved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject, body := Format(tc.domain, tc.appeared, tc.cleared)
			if subject != tc.subject {
				t.Errorf("subject %q, want %q", subject, tc.subject)
			}
			if len(subject) > maxSubject || strings.ContainsAny(subject, "\r\n") {
				t.Errorf("subject %q breaks SNS limits", subject)
			}
			if !strings.Contains(body, tc.domain) {
				t.Errorf("body does not name %s", tc.domain)
			}
		})
	}
	many := make([]health.Finding, 3000)
	for i := range many {
		many[i] = health.Finding{Severity: health.SeverityError, Code: health.CodeMXNotCovered,
			Subject: fmt.Sprintf("mx%d.example", i), Message: strings.Repeat("é", 60)}
	}
	_, body := Format("example.com", many, nil)
	if len(body) > maxMessage || !strings.HasSuffix(body, "(truncated)\n") || !strings.Contains(body, "mx1.example") {
		t.Errorf("long body: %d bytes, suffix %q", len(body), body[max(0, len(body)-20):])
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := l.Alert(context.Background(), "example.com", []health.Finding{idMismatch, expiring}, []health.Finding{stale}); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []map[string]string{
		{"level": "ERROR", "msg": "finding appeared", "domain": "example.com", "code": "sts-id-mismatch", "severity": "error", "remedy": "publish 2 as the id"},
		{"level": "WARN", "msg": "finding appeared", "code": "cert-expiring", "subject": "mta-sts.example.com"},
		{"level": "INFO", "msg": "finding cleared", "code": "mx-pattern-stale", "subject": "*.old.example.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %q", i, k, got[i][k], v)
			}
		}
	}
	if _, ok := got[2]["remedy"]; ok {
		t.Error("cleared finding logged with a remedy")
	}
}

type failing struct{ err error }

func (f failing) Alert(context.Context, string, []health.Finding, []health.Finding) error {
	return f.err
}

func TestAll(t *testing.T) {
	var buf bytes.Buffer
	e1, e2 := errors.New("one"), errors.New("two")
	a := All(failing{e1}, NewLog(slog.New(slog.NewTextHandler(&buf, nil))), failing{e2})
	err := a.Alert(context.Background(), "example.com", []health.Finding{idMismatch}, nil)
	if !errors.Is(err, e1) || !errors.Is(err, e2) {
		t.Errorf("err %v, want both", err)
	}
	if !strings.Contains(buf.String(), "sts-id-mismatch") {
		t.Error("an alerter after a failing one was not called")
	}
	if err := All().Alert(context.Background(), "x", []health.Finding{idMismatch}, nil); err != nil {
		t.Error(err)
	}
}
