package mailin

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// DefaultMaxMessage bounds one e-mail: 40 MiB, the largest message SES
// receives (its limit, headers and encoded attachments included). A larger
// message is refused unread; the largest report it could carry (gzip,
// tlsrpt.DefaultLimits().MaxCompressed = 10 MiB, base64-encoded) fits
// well within it.
const DefaultMaxMessage = 40 << 20

// ErrTemporary is wrapped by errors worth retrying later: a DKIM key of the
// submitter that could not be fetched for a temporary reason, a store that
// failed, a message that could not be read from S3.
var ErrTemporary = errors.New("mailin: temporary failure")

// Kind is what became of one message.
type Kind string

// Kinds of Outcome. Every one but KindStored and KindDuplicate leaves
// nothing in the report store.
const (
	// KindStored: a new report, stored.
	KindStored Kind = "stored"
	// KindDuplicate: the report was stored before, by either channel.
	KindDuplicate Kind = "duplicate"
	// KindDropped: a report whose provenance is not
	// store.ProvenanceEmailAligned (no passing DKIM signature by the
	// submitter and the organisation), dropped as Options.DropUnsigned asks.
	KindDropped Kind = "dropped"
	// KindNotReport: a message that carries no report (a bounce, spam, a
	// reply).
	KindNotReport Kind = "not-report"
	// KindRefused: a message or report that cannot be accepted: too large,
	// malformed, invalid, or about no domain served here.
	KindRefused Kind = "refused"
)

// Outcome says what Process did with a message.
type Outcome struct {
	Kind Kind
	// Reason says why the message was not stored (one line, for logs and
	// for the user of `ststack report ingest`); empty for KindStored and
	// KindDuplicate.
	Reason string
	// Key and Domains are the report's identity key and the served
	// domains it has facts for, when a report was parsed.
	Key     string
	Domains []string
	// DKIM is the verdict on the message's signatures, nil when the
	// message was not verified (no report in it, or refused before).
	DKIM *store.DKIM
	// Provenance is store.ProvenanceEmailAligned or
	// store.ProvenanceEmailUnaligned once the report was parsed.
	Provenance string
	// Conflicts are the keys of other stored bodies with the report's
	// identity and other content (ingest.Result.Conflicts).
	Conflicts []string
	// MessageID, From and Submitter are from the message's header
	// (Submitter: TLS-Report-Submitter), for logs; bounded.
	MessageID, From, Submitter string
}

// Options configure a Processor. Only Domains is required.
type Options struct {
	// Domains are the served mail domains (as ingest.Options.Domains).
	Domains []string
	// DropUnsigned drops reports whose provenance is not
	// store.ProvenanceEmailAligned: no valid signature by the submitter's
	// and the named organisation's domain (RFC 8460 §5.3: reports lacking
	// a valid signature MUST be ignored). By default they are stored, the
	// verdict and provenance with them.
	DropUnsigned bool
	// MaxMessage bounds one message (0: DefaultMaxMessage).
	MaxMessage int64
	// Limits bound parsing (zero fields: tlsrpt.DefaultLimits).
	Limits tlsrpt.Limits
	// Resolver fetches DKIM keys (nil: the system's resolver).
	Resolver dnsresolve.Resolver
	// StoreTimeout bounds storing one report (0: ingest's default).
	StoreTimeout time.Duration
	// Logger receives one line per message (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Metrics counts the reports stored (ingest.Options.Metrics).
	Metrics ingest.Metrics
}

// Processor turns report e-mails into stored reports: message → report
// extracted → DKIM verdict → ingest, the same validation, limits and
// dedupe as reports posted over HTTPS. It is safe for concurrent use.
type Processor struct {
	store      ingest.Store
	ingestOpts ingest.Options
	verifier   *Verifier
	drop       bool
	maxMessage int64
	limits     tlsrpt.Limits
	log        *slog.Logger

	mu     sync.Mutex
	counts map[Kind]int64
}

// New returns a Processor storing into st (embedded.Store or
// awsstore.Store).
func New(st ingest.Store, o Options) (*Processor, error) {
	if st == nil {
		return nil, errors.New("mailin: no store")
	}
	if len(o.Domains) == 0 {
		return nil, errors.New("mailin: no served domain")
	}
	p := &Processor{
		store: st,
		ingestOpts: ingest.Options{Domains: o.Domains, Limits: o.Limits, StoreTimeout: o.StoreTimeout,
			Logger: o.Logger, Now: o.Now, Metrics: o.Metrics},
		verifier:   NewVerifier(o.Resolver),
		drop:       o.DropUnsigned,
		maxMessage: o.MaxMessage,
		limits:     o.Limits,
		log:        o.Logger,
		counts:     map[Kind]int64{},
	}
	if p.maxMessage <= 0 {
		p.maxMessage = DefaultMaxMessage
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// MaxMessage is the largest message Process accepts.
func (p *Processor) MaxMessage() int64 { return p.maxMessage }

// Counts returns how many messages had each outcome since the Processor
// was made, and how many calls failed (KindError).
func (p *Processor) Counts() map[Kind]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int64, len(p.counts))
	for k, n := range p.counts {
		out[k] = n
	}
	return out
}

// KindError is counted by Counts for each Process call that returned an
// error; it is never an Outcome's Kind.
const KindError Kind = "error"

func (p *Processor) count(k Kind) {
	p.mu.Lock()
	p.counts[k]++
	p.mu.Unlock()
}

// Process handles one message (RFC 5322, as received) and logs one line
// about it. The error, when not nil, wraps ErrTemporary (try again later:
// nothing or part of the report was stored, a later Process completes it)
// or is the context's; every other failure is an Outcome, so that a message
// that will never be a report is not retried.
func (p *Processor) Process(ctx context.Context, msg []byte) (Outcome, error) {
	start := time.Now()
	out, err := p.process(ctx, msg)
	if err != nil {
		p.count(KindError)
	} else {
		p.count(out.Kind)
	}

	attrs := []any{"bytes", len(msg), "message_id", out.MessageID, "from", out.From,
		"submitter", out.Submitter, "duration", time.Since(start).Round(time.Microsecond).String()}
	if out.Key != "" {
		attrs = append(attrs, "report", out.Key, "domains", out.Domains)
	}
	if out.DKIM != nil {
		attrs = append(attrs, "dkim", out.DKIM.Result, "dkim_domain", out.DKIM.Domain)
	}
	if out.Provenance != "" {
		attrs = append(attrs, "provenance", out.Provenance)
	}
	if len(out.Conflicts) > 0 {
		attrs = append(attrs, "conflicts", out.Conflicts)
	}
	switch {
	case err != nil:
		p.log.ErrorContext(ctx, "mailin: not processed, to be retried", append(attrs, "error", err.Error())...)
	case (out.Kind == KindStored || out.Kind == KindDuplicate) && len(out.Conflicts) > 0:
		// Another body claims the same identity: one of them may be forged.
		p.log.WarnContext(ctx, "mailin: "+string(out.Kind)+", conflicting", attrs...)
	case out.Kind == KindStored || out.Kind == KindDuplicate:
		p.log.InfoContext(ctx, "mailin: "+string(out.Kind), attrs...)
	default:
		p.log.WarnContext(ctx, "mailin: "+string(out.Kind), append(attrs, "reason", out.Reason)...)
	}
	return out, err
}

func (p *Processor) process(ctx context.Context, msg []byte) (Outcome, error) {
	var out Outcome
	if int64(len(msg)) > p.maxMessage {
		out.Kind, out.Reason = KindRefused, fmt.Sprintf("message larger than %d bytes", p.maxMessage)
		return out, nil
	}
	out.MessageID, out.From, out.Submitter = headerFacts(msg)
	// Bounds first (issue 14 §4): no header work beyond them.
	if err := checkHeader(msg); err != nil {
		out.Kind, out.Reason = KindRefused, oneLine(err)
		return out, nil
	}

	// The report first: a message without one costs no DNS query.
	data, err := tlsrpt.ExtractFromMessage(msg, p.limits)
	switch {
	case errors.Is(err, tlsrpt.ErrNotReport):
		out.Kind, out.Reason = KindNotReport, "no TLS report in the message"
		if err != tlsrpt.ErrNotReport { // it says more: a zip archive
			out.Reason += ": " + oneLine(err)
		}
		return out, nil
	case err != nil:
		out.Kind, out.Reason = KindRefused, oneLine(err)
		return out, nil
	}

	verdict, err := p.verifier.Verify(ctx, msg)
	if errors.Is(err, ErrHeaderLimit) { // checked above; Verify checks again
		out.Kind, out.Reason = KindRefused, oneLine(err)
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	out.DKIM = &verdict
	rep, err := tlsrpt.ParseReport(data, p.limits)
	if err != nil {
		// tlsrpt.ErrTooLarge, ErrMalformed, ErrInvalid, ErrTooDeep,
		// ErrTooMany.
		out.Kind, out.Reason = KindRefused, oneLine(err)
		return out, nil
	}
	out.Key = rep.Identity().Key()
	var why string
	out.Provenance, why = provenanceOf(verdict, rep.OrganizationName)
	if out.Provenance != store.ProvenanceEmailAligned && p.drop {
		out.Kind, out.Reason = KindDropped, why
		if verdict.Result != store.DKIMPass {
			out.Reason += ": " + cmp.Or(verdict.Reason, "no valid signature")
		}
		return out, nil
	}

	in, err := ingest.New(p.store, p.ingestOpts)
	if err != nil {
		return out, err
	}
	res, err := in.IngestReport(ctx, rep, data, ingest.Source{Channel: ingest.ChannelEmail,
		Provenance: out.Provenance, DKIM: &verdict, Hints: hints(msg)})
	out.Key, out.Domains, out.Conflicts = res.Key, res.Domains, res.Conflicts
	switch {
	case err == nil && res.Created:
		out.Kind = KindStored
	case err == nil:
		out.Kind = KindDuplicate
	case errors.Is(err, ingest.ErrStore):
		return out, fmt.Errorf("%w: %w", ErrTemporary, err)
	case ctx.Err() != nil:
		return out, ctx.Err()
	default:
		// ingest.ErrNotServed, ingest.ErrImplausible, tlsrpt.ErrInvalid.
		out.Kind, out.Reason = KindRefused, oneLine(err)
	}
	return out, nil
}

// headerFacts returns the Message-ID, From and TLS-Report-Submitter of
// msg, bounded, "" where absent or unreadable.
func headerFacts(msg []byte) (id, from, submitter string) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return "", "", ""
	}
	h := func(k string) string { return reason(strings.TrimSpace(m.Header.Get(k))) }
	return h("Message-ID"), h("From"), h("TLS-Report-Submitter")
}

// hints returns what the message says of the report's policy domain, for
// a policy without policy-domain (ingest.Attribute): the TLS-Report-Domain
// header field and the subject's Report Domain and Report-ID (RFC 8460
// §5.3), never its Submitter nor the domain after the Report-ID's "@", the
// sender's own domain, which may be served here too (a deployment that
// reports to itself). A subject not of the
// RFC's form is one hint as a whole.
func hints(msg []byte) []string {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return nil
	}
	decode := func(s string) string {
		if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
			return d
		}
		return s
	}
	var out []string
	if d := strings.TrimSpace(decode(m.Header.Get("TLS-Report-Domain"))); d != "" {
		out = append(out, d)
	}
	subject := decode(m.Header.Get("Subject"))
	if sub, ok := tlsrpt.ParseSubject(subject); ok {
		// A Report-ID is a msg-id (RFC 5322 §3.6.4): what follows its
		// "@" is the submitter's domain ("<…+example.com@google.com>").
		id := sub.ReportID
		if i := strings.LastIndexByte(id, '@'); i >= 0 {
			id = id[:i]
		}
		return append(out, sub.Domain, id)
	}
	return append(out, subject)
}

// oneLine is err's text without package prefixes, one bounded line.
func oneLine(err error) string {
	s := err.Error()
	for _, p := range []string{"tlsrpt: ", "ingest: ", "mailin: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return reason(s)
}
