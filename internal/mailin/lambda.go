package mailin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ObjectGetter is the part of *s3.Client the Lambda handler uses: it reads
// the raw messages SES stored.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Event sources the Lambda handler takes (the eventSource of each record).
const (
	SourceSES = "aws:ses" // an SES receipt rule's Lambda action
	SourceS3  = "aws:s3"  // an S3 event notification: the message's object
)

// LambdaOptions configure LambdaHandler.
type LambdaOptions struct {
	// Bucket and Prefix are where the SES receipt rule's S3 action stores
	// messages: an SES event's message is the object Prefix + messageId in
	// Bucket. Not needed for S3 events, which name their object.
	Bucket, Prefix string
	// Logger receives a line for each record not processed (nil:
	// slog.Default()).
	Logger *slog.Logger
}

// LambdaFunc is the mailin Lambda handler, as lambda.Start takes it.
type LambdaFunc = func(ctx context.Context, ev json.RawMessage) error

// LambdaHandler returns the Lambda handler of the mailin function. It takes
// either event:
//
//   - an SES receipt rule Lambda action event (events.SimpleEmailEvent,
//     eventSource aws:ses, invocation type Event), the message then read
//     from o.Bucket at o.Prefix + messageId, where the rule's S3 action
//     stored it: the deployed wiring (see docs/email.md);
//   - an S3 event notification (events.S3Event, eventSource aws:s3) for a
//     stored message: for a bucket notification, and to re-drive a message
//     by hand.
//
// Each record's message is read from S3 (at most p.MaxMessage bytes: a
// larger one is refused unread) and processed. The handler fails, so that
// Lambda retries the event (asynchronous invocations: twice), only for
// temporary failures (ErrTemporary: the store, a DKIM key lookup, S3) and
// for events it does not understand; a message that is not a report, or not
// acceptable, is logged and counted and the invocation succeeds.
func LambdaHandler(p *Processor, s3c ObjectGetter, o LambdaOptions) LambdaFunc {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	h := &lambdaHandler{p: p, s3: s3c, bucket: o.Bucket, prefix: o.Prefix, log: log}
	return h.handle
}

type lambdaHandler struct {
	p              *Processor
	s3             ObjectGetter
	bucket, prefix string
	log            *slog.Logger
}

// record is what the handler needs to tell the sources apart.
type record struct {
	EventSource string `json:"eventSource"`
}

func (h *lambdaHandler) handle(ctx context.Context, raw json.RawMessage) error {
	var ev struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("mailin: event: %v", err)
	}
	if len(ev.Records) == 0 {
		return errors.New("mailin: event without Records: want an S3 or SES event")
	}
	var errs []error
	for i, rr := range ev.Records {
		var r record
		if err := json.Unmarshal(rr, &r); err != nil {
			errs = append(errs, fmt.Errorf("mailin: Records[%d]: %v", i, err))
			continue
		}
		var err error
		switch r.EventSource {
		case SourceS3:
			var s3r events.S3EventRecord
			if err = json.Unmarshal(rr, &s3r); err == nil {
				err = h.s3Record(ctx, s3r)
			}
		case SourceSES:
			var ser events.SimpleEmailRecord
			if err = json.Unmarshal(rr, &ser); err == nil {
				err = h.sesRecord(ctx, ser)
			}
		default:
			err = fmt.Errorf("eventSource %q: want %s or %s", r.EventSource, SourceS3, SourceSES)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mailin: Records[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func (h *lambdaHandler) s3Record(ctx context.Context, r events.S3EventRecord) error {
	bucket, key := r.S3.Bucket.Name, r.S3.Object.URLDecodedKey
	if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
		h.log.InfoContext(ctx, "mailin: event ignored", "event", r.EventName, "bucket", bucket, "key", key)
		return nil
	}
	if bucket == "" || key == "" {
		return errors.New("s3 event without bucket name or object key")
	}
	if r.S3.Object.Size > h.p.MaxMessage() {
		h.refuseUnread(ctx, bucket, key, r.S3.Object.Size)
		return nil
	}
	return h.object(ctx, bucket, key)
}

func (h *lambdaHandler) sesRecord(ctx context.Context, r events.SimpleEmailRecord) error {
	id := r.SES.Mail.MessageID
	if h.bucket == "" {
		return errors.New("ses event: no bucket configured to read the message from")
	}
	// SES message ids are letters, digits and "-"; anything else is not
	// a key this handler should read.
	if id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return fmt.Errorf("ses event: messageId %q", id)
	}
	h.log.InfoContext(ctx, "mailin: ses event", "message", id, "source", r.SES.Mail.Source,
		"spam", r.SES.Receipt.SpamVerdict.Status, "virus", r.SES.Receipt.VirusVerdict.Status,
		"ses_dkim", r.SES.Receipt.DKIMVerdict.Status)
	return h.object(ctx, h.bucket, h.prefix+id)
}

// object reads one message from S3 and processes it.
func (h *lambdaHandler) object(ctx context.Context, bucket, key string) error {
	out, err := h.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		// Deleted since (or never stored): nothing a retry could fix.
		h.log.WarnContext(ctx, "mailin: message gone", "bucket", bucket, "key", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: read s3://%s/%s: %w", ErrTemporary, bucket, key, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > h.p.MaxMessage() {
		h.refuseUnread(ctx, bucket, key, *out.ContentLength)
		return nil
	}
	// Sized from the object, so that a large message is not copied while
	// the buffer grows (io.ReadAll would allocate about twice its size).
	var buf bytes.Buffer
	if out.ContentLength != nil && *out.ContentLength >= 0 {
		buf.Grow(int(*out.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, h.p.MaxMessage()+1)); err != nil {
		return fmt.Errorf("%w: read s3://%s/%s: %w", ErrTemporary, bucket, key, err)
	}
	msg := buf.Bytes()
	// Process refuses a message over the limit and logs the outcome.
	if _, err := h.p.Process(ctx, msg); err != nil {
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// refuseUnread records a message too large to read.
func (h *lambdaHandler) refuseUnread(ctx context.Context, bucket, key string, size int64) {
	h.p.count(KindRefused)
	h.log.WarnContext(ctx, "mailin: "+string(KindRefused), "bucket", bucket, "key", key, "bytes", size,
		"reason", "message larger than "+strconv.FormatInt(h.p.MaxMessage(), 10)+" bytes")
}
