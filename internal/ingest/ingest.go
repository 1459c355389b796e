// Package ingest takes TLS reports (RFC 8460) in, whatever the channel:
// bytes in → parsed and validated report → raw body archived → facts stored,
// idempotently. Ingester.Ingest is the channel-independent core;
// NewHandler serves it over HTTPS at /v1/tlsrpt (RFC 8460 §3, §5.4) for
// `ststack serve`, and LambdaHandler adapts that handler to API Gateway HTTP
// API events (payload format 2.0) for the tlsrpt Lambda function.
//
// A report is answered 2xx only once its raw body and its facts are both
// durably stored (201 stored now, 200 already known); 5xx when storage
// fails, so the sender retries; 4xx with a short plain-text reason for bad
// input. A refused report leaves nothing in the store. See docs/reports.md
// for the statuses, limits and storage layout.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Channels a report arrives by, recorded in store.Receipt.Channel.
const (
	ChannelHTTPS = "https"
	ChannelEmail = "email"
)

// Default limits. tlsrpt.DefaultLimits bound parsing: gzip input 10 MiB,
// inflated or JSON input 64 MiB, JSON nesting 32, 10000 policies, 100000
// failure details, 100000 policy-string and mx-host entries, strings of
// 64 KiB.
const (
	// DefaultMaxBody bounds a posted body, compressed or not. RFC 8460
	// §5.1 mentions 10 MB as a size receivers commonly accept.
	DefaultMaxBody = 10 << 20
	// DefaultStoreTimeout bounds the storage of one report, within API
	// Gateway's 30 s integration limit.
	DefaultStoreTimeout = 20 * time.Second
)

// Store is what ingest needs of a report store: SaveReport stores e and
// says whether this call completed its storage (Saved.Created; false: the
// same content was stored already, nothing was written), under which key,
// and which other bodies of the same identity it conflicts with (a body
// whose content differs from the one stored first is kept beside it under
// a variant key, never dropped). An error means the report is not yet
// complete; what was written stays and a later SaveReport of the same
// report completes it. Concurrent calls must be safe, exactly one per
// content reporting Created. Implementations: awsstore.Store and
// embedded.Store (package store has the full contract).
type Store interface {
	SaveReport(ctx context.Context, e store.Entry) (store.Saved, error)
}

// Errors of Ingest, besides the tlsrpt ones (tlsrpt.ErrTooLarge,
// ErrMalformed, ErrInvalid, ErrTooDeep, ErrTooMany) for bad input.
var (
	// ErrNotServed: the report is about no domain this deployment serves.
	ErrNotServed = errors.New("ingest: report about no domain served here")
	// ErrStore: the store failed; the report is not (completely) stored.
	ErrStore = errors.New("ingest: storage failed")
	// ErrImplausible: the report's date range is outside what any real
	// report covers (see checkRange).
	ErrImplausible = errors.New("ingest: implausible date range")
)

// Bounds of a plausible date range (docs/reports.md, "Date ranges").
// ststack records no date at which a domain was configured, and archived
// report e-mails may be ingested long after (ststack report ingest), so a
// range may start any time after RFC 8460 was published.
const (
	// MaxRangeAhead: a range ending more than this after the report is
	// received is refused: a report cannot count sessions still to come
	// (two days allow for clock skew and ranges ending at next midnight in
	// a time zone ahead of UTC).
	MaxRangeAhead = 2 * 24 * time.Hour
	// MaxRangeLength: a longer range is refused. RFC 8460 §4.1 reports
	// cover a day; some senders send hourly or weekly ranges.
	MaxRangeLength = 8 * 24 * time.Hour
)

// earliestStart is the start of 2016, when the first drafts of RFC 8460
// appeared (the RFC's own example report is dated 2016-04-01): no TLS
// report describes sessions before it.
func earliestStart() time.Time { return time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC) }

// checkRange refuses a date range far outside the plausible window: one
// that starts before TLS reporting existed, ends more than MaxRangeAhead after
// now, or lasts longer than MaxRangeLength. Such a report would claim an identity (say a future
// report-id of Google's) while hiding from every dashboard range.
func checkRange(r *tlsrpt.Report, now time.Time) error {
	const at = "date-range"
	switch {
	case r.Start.Before(earliestStart()):
		return fmt.Errorf("%w: %s: start-datetime %s is before TLS reporting existed (%s)", ErrImplausible, at,
			r.Start.UTC().Format(time.DateOnly), earliestStart().Format(time.DateOnly))
	case r.End.After(now.Add(MaxRangeAhead)):
		return fmt.Errorf("%w: %s: end-datetime %s is in the future (received %s)", ErrImplausible, at,
			r.End.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case r.End.Sub(r.Start) > MaxRangeLength:
		return fmt.Errorf("%w: %s: %s to %s is longer than %d days", ErrImplausible, at,
			r.Start.UTC().Format(time.DateOnly), r.End.UTC().Format(time.DateOnly), int(MaxRangeLength.Hours()/24))
	}
	return nil
}

// Options configure an Ingester. Only Domains is required.
type Options struct {
	// Domains are the served mail domains (A-labels, any case). Facts are
	// stored for these only, and a report about none of them is refused.
	Domains []string
	// Limits bound parsing; zero fields take tlsrpt.DefaultLimits.
	Limits tlsrpt.Limits
	// MaxBody bounds a posted body (0: DefaultMaxBody).
	MaxBody int64
	// StoreTimeout bounds storing one report (0: DefaultStoreTimeout).
	StoreTimeout time.Duration
	// Logger receives one line per report (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Metrics counts the reports stored (nil: none are counted).
	Metrics Metrics
}

// Metrics counts stored reports: package metrics (EMF in the functions,
// Prometheus in ststack serve). Stored is called once for each report whose
// storage an Ingest call completed (Result.Created; a duplicate is not
// counted again), after it was stored, with the entry stored. It must be
// safe for concurrent use, return quickly, and never fail the ingest: a
// metric that cannot be written is dropped.
type Metrics interface {
	Stored(e store.Entry)
}

// Ingester validates and stores reports. It is safe for concurrent use.
type Ingester struct {
	store        Store
	served       map[string]bool
	limits       tlsrpt.Limits
	maxBody      int64
	storeTimeout time.Duration
	log          *slog.Logger
	now          func() time.Time
	metrics      Metrics
}

// New returns an Ingester storing into st.
func New(st Store, o Options) (*Ingester, error) {
	if st == nil {
		return nil, errors.New("ingest: no store")
	}
	if len(o.Domains) == 0 {
		return nil, errors.New("ingest: no served domain")
	}
	in := &Ingester{
		store:        st,
		served:       make(map[string]bool, len(o.Domains)),
		limits:       o.Limits,
		maxBody:      o.MaxBody,
		storeTimeout: o.StoreTimeout,
		log:          o.Logger,
		now:          o.Now,
		metrics:      o.Metrics,
	}
	for _, d := range o.Domains {
		in.served[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	if in.maxBody <= 0 {
		in.maxBody = DefaultMaxBody
	}
	if in.storeTimeout <= 0 {
		in.storeTimeout = DefaultStoreTimeout
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	if in.now == nil {
		in.now = time.Now
	}
	return in, nil
}

// Result says what Ingest did with a report.
type Result struct {
	// Created is true when this call completed the report's storage, false
	// when the same content was already stored (nothing changed).
	Created bool
	// Key is the key the report is stored under (store.Receipt.Key): its
	// identity key, or a variant key when another body with other content
	// holds the identity (store.VariantKey).
	Key string
	// Conflicts are the keys of the other bodies stored for the same
	// identity; none when the report is the only one.
	Conflicts []string
	// Report is the parsed report.
	Report *tlsrpt.Report
	// Domains are the served domains facts were stored for.
	Domains []string
}

// Source is how a report arrived: its channel (ChannelHTTPS or
// ChannelEmail), its provenance (store.ProvenanceHTTPS, …EmailAligned or
// …EmailUnaligned) and, for e-mail, the DKIM verdict of its message.
type Source struct {
	Channel    string
	Provenance string
	DKIM       *store.DKIM
	// Hints name where the report was sent, for a policy without
	// policy-domain (see Attribute): the endpoint's host it was posted to,
	// the e-mail's subject.
	Hints []string
}

// Ingest parses data (a report, gzip or JSON, RFC 8460 §4) received by
// channel and stores it: a report posted over HTTPS has provenance
// store.ProvenanceHTTPS, one e-mailed (without the verdict package mailin
// adds through IngestReport) store.ProvenanceEmailUnaligned. Errors wrap
// a tlsrpt sentinel for bad input, ErrNotServed, or ErrStore (with the
// store's error).
func (in *Ingester) Ingest(ctx context.Context, data []byte, channel string) (Result, error) {
	src := Source{Channel: channel, Provenance: store.ProvenanceHTTPS}
	if channel == ChannelEmail {
		src.Provenance = store.ProvenanceEmailUnaligned
	}
	return in.IngestFrom(ctx, data, src)
}

// IngestFrom parses data as Ingest does and stores it as arrived from src.
func (in *Ingester) IngestFrom(ctx context.Context, data []byte, src Source) (Result, error) {
	rep, err := tlsrpt.ParseReport(data, in.limits)
	if err != nil {
		return Result{}, err
	}
	return in.IngestReport(ctx, rep, data, src)
}

// IngestReport stores rep, parsed from data (its raw body), which arrived
// as src says; errors as Ingest's.
func (in *Ingester) IngestReport(ctx context.Context, rep *tlsrpt.Report, data []byte, src Source) (Result, error) {
	now := in.now()
	if err := checkRange(rep, now); err != nil {
		return Result{Key: rep.Identity().Key(), Report: rep}, err
	}
	Attribute(rep, in.serves, src.Hints...)
	e := store.NewEntry(rep, data, in.serves, src.Channel, now)
	e.SetProvenance(src.Provenance)
	e.Report.DKIM = src.DKIM
	res := Result{Key: e.Report.Key, Report: rep, Domains: e.Report.Domains}
	if err := store.ValidKey(e.Report.Key); err != nil {
		// The parser requires organization-name and report-id; an empty
		// identity is a report this store cannot keep apart from others.
		return res, fmt.Errorf("%w: organization-name and report-id: empty", tlsrpt.ErrInvalid)
	}
	if len(e.Facts) == 0 {
		return res, fmt.Errorf("%w: policies[*].policy.policy-domain: %s", ErrNotServed, strings.Join(limitList(rep.Domains(), 5), ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, in.storeTimeout)
	defer cancel()
	saved, err := in.store.SaveReport(ctx, e)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrStore, err)
	}
	res.Created, res.Key, res.Conflicts = saved.Created, saved.Key, saved.Conflicts
	if saved.Created && in.metrics != nil {
		in.metrics.Stored(e)
	}
	return res, nil
}

func (in *Ingester) serves(domain string) bool { return in.served[domain] }

// Attribute gives each policy of rep without a policy-domain (some senders
// omit it, for no-policy-found) the one served domain that the report
// leaves as candidate: the served domains named by its report-id or by
// hints (the host the report was posted to, the e-mail's subject), a name
// counting for the longest served domain it is or ends in. With no or
// several candidates the policy stays unattributed: it is kept in the raw
// body and shown, but gives no fact, as a fact belongs to one domain
// (docs/reports.md, "Lenience"). Each attribution is recorded in
// rep.Quirks.
func Attribute(rep *tlsrpt.Report, serves func(domain string) bool, hints ...string) {
	var candidates []string
	done := false
	for i := range rep.Policies {
		p := &rep.Policies[i]
		if p.Domain != "" {
			continue
		}
		if !done {
			done = true
			for _, h := range append([]string{rep.ReportID}, hints...) {
				for _, d := range namedDomains(h, serves) {
					if !slices.Contains(candidates, d) {
						candidates = append(candidates, d)
					}
				}
			}
		}
		if len(candidates) != 1 {
			continue
		}
		p.Domain = candidates[0]
		rep.Quirks = append(rep.Quirks, fmt.Sprintf("policies[%d].policy.policy-domain: missing; attributed to %s, the one served domain the report-id, subject or endpoint names", i, p.Domain))
	}
}

// maxHint bounds the text of one hint that is looked at.
const maxHint = 2048

// namedDomains returns the served domains that s names: each run of
// letters, digits, "-" and "." in s that is a served domain or a name
// under one, for the longest such domain.
func namedDomains(s string, serves func(string) bool) []string {
	if len(s) > maxHint {
		s = s[:maxHint]
	}
	var out []string
	tokens := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	})
	for _, t := range tokens {
		t = strings.Trim(t, ".")
		// The name itself, then each parent: the first served is the
		// longest.
		for n := t; n != ""; {
			if serves(n) {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
				break
			}
			_, rest, ok := strings.Cut(n, ".")
			if !ok {
				break
			}
			n = rest
		}
	}
	return out
}

// limitList returns l, or its first n elements and a count of the rest.
func limitList(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(l[:n:n], fmt.Sprintf("and %d more", len(l)-n))
}
