package mailin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// Placeholders of the event files in testdata (the shapes AWS sends).
const (
	eventBucket    = "ststack-mail-example"
	eventKey       = "inbox/EXAMPLEKEY"
	eventSize      = `"size": 3839`
	eventMessageID = "EXAMPLEMESSAGEID"
)

// s3Event is testdata/s3-event.json for the object key (as S3 encodes keys
// in events) of size bytes in bucket, with the event name given.
func s3Event(t *testing.T, bucket, key string, size int, name string) json.RawMessage {
	t.Helper()
	ev := string(sample(t, "testdata/s3-event.json"))
	ev = strings.ReplaceAll(ev, eventBucket, bucket)
	ev = strings.ReplaceAll(ev, eventKey, key)
	ev = strings.ReplaceAll(ev, eventSize, `"size": `+strconv.Itoa(size))
	ev = strings.ReplaceAll(ev, "ObjectCreated:Put", name)
	return json.RawMessage(ev)
}

func sesEvent(t *testing.T, messageID string) json.RawMessage {
	t.Helper()
	return json.RawMessage(strings.ReplaceAll(string(sample(t, "testdata/ses-event.json")), eventMessageID, messageID))
}

// TestEventShapes: the event files decode into the events package's types
// with the fields the handler reads.
func TestEventShapes(t *testing.T) {
	var s3e events.S3Event
	if err := json.Unmarshal(s3Event(t, "b", "inbox/a+b%3D", 7, "ObjectCreated:Put"), &s3e); err != nil {
		t.Fatal(err)
	}
	o := s3e.Records[0].S3.Object
	if s3e.Records[0].EventSource != SourceS3 || o.URLDecodedKey != "inbox/a b=" || o.Size != 7 {
		t.Errorf("S3 event: %+v", s3e.Records[0])
	}
	var sese events.SimpleEmailEvent
	if err := json.Unmarshal(sesEvent(t, "abc123"), &sese); err != nil {
		t.Fatal(err)
	}
	r := sese.Records[0]
	if r.EventSource != SourceSES || r.SES.Mail.MessageID != "abc123" || r.SES.Receipt.Action.Type != "Lambda" {
		t.Errorf("SES event: %+v", r)
	}
}

// mailEnv is a report store on the AWS stand-ins and a bucket of raw
// messages, as the stack has them.
type mailEnv struct {
	aws        *awstest.Env
	st         *awsstore.Store
	mailBucket string
	p          *Processor
	handle     LambdaFunc
}

func newMailEnv(t *testing.T, d *checktest.DNS) *mailEnv {
	t.Helper()
	e := &mailEnv{aws: awstest.New(t)}
	e.mailBucket = e.aws.Bucket + "-mail"
	if _, err := e.aws.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(e.mailBucket)}); err != nil {
		t.Fatal(err)
	}
	e.st = awsstore.New(e.aws.S3, e.aws.DynamoDB, e.aws.Bucket, e.aws.Table)
	e.p = newProcessor(t, e.st, d, Options{})
	e.handle = LambdaHandler(e.p, e.aws.S3, LambdaOptions{Bucket: e.mailBucket, Prefix: "inbox/", Logger: quiet})
	return e
}

// put stores a raw message as the SES receipt rule's S3 action does.
func (e *mailEnv) put(t *testing.T, key string, msg []byte) {
	t.Helper()
	_, err := e.aws.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(e.mailBucket), Key: aws.String(key), Body: bytes.NewReader(msg),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestS3Event: the deployed path. SES stores the message in S3, S3 invokes
// the function with an event notification, the report lands in S3 and
// DynamoDB (gofakes3, dynalite) once, with its verdict.
func TestS3Event(t *testing.T) {
	d := checktest.NewDNS(t)
	e := newMailEnv(t, d)
	ctx := context.Background()
	msg := sample(t, googleEML)
	e.put(t, "inbox/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81", msg)
	ev := s3Event(t, e.mailBucket, "inbox/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81", len(msg), "ObjectCreated:Put")
	for i := range 2 { // the second delivery is a duplicate
		if err := e.handle(ctx, ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	key := keyOf(t, msg)
	rep, err := e.st.Report(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Channel != "email" || rep.DKIM == nil || rep.DKIM.Result != store.DKIMFail || rep.DKIM.Domain != "google.com" ||
		rep.Success != 48 {
		t.Errorf("stored %+v, dkim %+v", rep, rep.DKIM)
	}
	facts, err := e.st.Facts(ctx, "cardinalhealth.ca", "2024-09-03", "2024-09-03")
	if err != nil || len(facts) != 1 || facts[0].ReportKey != key {
		t.Errorf("facts = %+v, %v", facts, err)
	}
	if c := e.p.Counts(); c[KindStored] != 1 || c[KindDuplicate] != 1 {
		t.Errorf("Counts = %v", c)
	}

	// A key as S3 encodes it in events (space as "+", "=" as %3D).
	e.put(t, "inbox/a b=", sample(t, microsoftEML))
	if err := e.handle(ctx, s3Event(t, e.mailBucket, "inbox/a+b%3D", 10, "ObjectCreated:Put")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Report(ctx, keyOf(t, sample(t, microsoftEML))); err != nil {
		t.Errorf("encoded key: %v", err)
	}
}

// TestS3EventNotReports: messages that are no reports, gone or too large
// succeed (logged, counted) so that they are never retried; a store
// failure fails the invocation so that Lambda retries it.
func TestS3EventNotReports(t *testing.T) {
	d := checktest.NewDNS(t)
	e := newMailEnv(t, d)
	ctx := context.Background()
	e.put(t, "inbox/bounce", []byte("From: MAILER-DAEMON@example.net\r\nSubject: failure\r\n\r\nUndeliverable.\r\n"))
	cases := []struct {
		name string
		ev   json.RawMessage
		kind Kind
	}{
		{"bounce", s3Event(t, e.mailBucket, "inbox/bounce", 60, "ObjectCreated:Put"), KindNotReport},
		{"too large, not read", s3Event(t, e.mailBucket, "inbox/huge", DefaultMaxMessage+1, "ObjectCreated:Put"), KindRefused},
		{"gone", s3Event(t, e.mailBucket, "inbox/nothing", 60, "ObjectCreated:Put"), ""},
		{"not a creation", s3Event(t, e.mailBucket, "inbox/bounce", 60, "ObjectRemoved:Delete"), ""},
	}
	for _, tc := range cases {
		before := e.p.Counts()
		gets := e.aws.Faults.Calls("GetObject")
		if err := e.handle(ctx, tc.ev); err != nil {
			t.Errorf("%s: %v, want success", tc.name, err)
		}
		after := e.p.Counts()
		if tc.kind != "" && after[tc.kind] != before[tc.kind]+1 {
			t.Errorf("%s: counts %v → %v, want one more %s", tc.name, before, after, tc.kind)
		}
		if tc.kind == KindRefused && e.aws.Faults.Calls("GetObject") != gets {
			t.Errorf("%s: message read", tc.name)
		}
	}

	e.put(t, "inbox/report", sample(t, googleEML))
	e.aws.Faults.Fail("PutItem", 0, -1, awstest.ServerError)
	err := e.handle(ctx, s3Event(t, e.mailBucket, "inbox/report", 3839, "ObjectCreated:Put"))
	if !errors.Is(err, ErrTemporary) {
		t.Errorf("store failure: %v, want ErrTemporary", err)
	}
	e.aws.Faults.Reset()
	e.aws.Faults.Fail("GetObject", 0, -1, awstest.ServerError)
	if err := e.handle(ctx, s3Event(t, e.mailBucket, "inbox/report", 3839, "ObjectCreated:Put")); !errors.Is(err, ErrTemporary) {
		t.Errorf("S3 failure: %v, want ErrTemporary", err)
	}
	e.aws.Faults.Reset()
	if err := e.handle(ctx, s3Event(t, e.mailBucket, "inbox/report", 3839, "ObjectCreated:Put")); err != nil {
		t.Errorf("retry: %v", err)
	}
	if _, err := e.st.Report(ctx, keyOf(t, sample(t, googleEML))); err != nil {
		t.Errorf("after the retry: %v", err)
	}
}

// TestSESEvent: the SES receipt rule's Lambda action, after its S3 action
// stored the message under the prefix and the message id.
func TestSESEvent(t *testing.T) {
	d := checktest.NewDNS(t)
	e := newMailEnv(t, d)
	ctx := context.Background()
	google := newSigner(t, d, "rsa", "google.com", "20230601", "")
	msg := google.sign(t, reportMessage(t, sample(t, googleJSON), nil))
	e.put(t, "inbox/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81", msg)
	if err := e.handle(ctx, sesEvent(t, "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81")); err != nil {
		t.Fatal(err)
	}
	rep, err := e.st.Report(ctx, keyOf(t, msg))
	if err != nil || rep.DKIM == nil || *rep.DKIM != (store.DKIM{Result: store.DKIMPass, Domain: "google.com"}) {
		t.Errorf("stored %+v, %v", rep, err)
	}
	for _, id := range []string{"../etc/passwd", "a/b", ""} {
		if err := e.handle(ctx, sesEvent(t, id)); err == nil || !strings.Contains(err.Error(), "messageId") {
			t.Errorf("messageId %q: %v, want an error naming it", id, err)
		}
	}
	noBucket := LambdaHandler(e.p, e.aws.S3, LambdaOptions{Logger: quiet})
	if err := noBucket(ctx, sesEvent(t, "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g81")); err == nil {
		t.Error("SES event without a bucket configured: no error")
	}
}

func TestBadEvents(t *testing.T) {
	d := checktest.NewDNS(t)
	h := LambdaHandler(newProcessor(t, openStore(t), d, Options{}), nil, LambdaOptions{Logger: quiet})
	for _, ev := range []string{
		`[]`,
		`{}`,
		`{"Records": []}`,
		`{"Records": [{"eventSource": "aws:sqs"}]}`,
		`{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": ""}, "object": {"key": "k"}}}]}`,
		`{"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "%zz"}}}]}`,
		`{"Records": [1]}`,
	} {
		if err := h(context.Background(), json.RawMessage(ev)); err == nil {
			t.Errorf("event %s: no error", ev)
		}
	}
}
