package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Silent senders (docs/checker.md, "Silent senders").
//
// Reports stop arriving when the rua breaks (a DNS change, an expired
// certificate on the report endpoint, a mailbox rule), and nothing else
// says so. Senders learns from the stored facts which organisations report
// a domain and how often; Silence judges, against a clock, which of them
// (and whether the domain as a whole) have gone quiet.
//
// Silence is measured by when reports were received (Fact.ReceivedAt), not
// by the day they describe: a report arriving weeks late (DESIGN.md,
// "Senders") proves that the sender still reaches the rua, and a sender
// that always reports with a lag is not silent for it. Facts stored before
// the receipt time was recorded count as received at their range's end.

// Sender is what a domain's reports say about one reporting organisation.
type Sender struct {
	// Organization is the normalised name (Fact.Organization).
	Organization string `json:"organization"`
	// Reports counts the reports for the domain read.
	Reports int `json:"reports"`
	// Interval is the organisation's learned cadence: the median gap
	// between the starts of its consecutive reports (24h for a daily
	// sender, 1h for an hourly one, 168h for a weekly one); 0 with fewer
	// than two distinct report starts. Within a day the reports are taken
	// as evenly spaced (day sums keep a day's first and last start).
	Interval time.Duration `json:"interval"`
	// LastStart is the start of its latest report.
	LastStart time.Time `json:"last_start"`
	// LastReceived is the latest receipt of any of its reports, which
	// may be a late one about an older day.
	LastReceived time.Time `json:"last_received"`
}

// received is when f was received: its ReceivedAt, for older facts the end
// of its range.
func received(f Fact) time.Time {
	if !f.ReceivedAt.IsZero() {
		return f.ReceivedAt
	}
	return f.End
}

// Senders groups the facts of domain (others are ignored) by organisation,
// most recently received first: SendersOf their day sums. Every fact
// counts, whatever its provenance or conflict: silence is about whether
// reports arrive at all.
func Senders(domain string, facts []Fact) []Sender {
	var from, to Day
	for _, f := range facts {
		if f.Domain != domain {
			continue
		}
		if from == "" || f.Day < from {
			from = f.Day
		}
		if f.Day > to {
			to = f.Day
		}
	}
	if from == "" {
		return []Sender{}
	}
	return SendersOf(SumDays(domain, from, to, facts))
}

// SendersOf merges the Senders of day sums (of one domain) by
// organisation, most recently received first.
func SendersOf(sums []DaySum) []Sender {
	type acc struct {
		s    Sender
		days []DaySender
	}
	by := map[string]*acc{}
	for _, ds := range sums {
		for _, d := range ds.Senders {
			a := by[d.Organization]
			if a == nil {
				a = &acc{s: Sender{Organization: d.Organization}}
				by[d.Organization] = a
			}
			a.days = append(a.days, d)
			a.s.Reports += d.Reports
			if t := time.Unix(d.LastReceived, 0).UTC(); t.After(a.s.LastReceived) {
				a.s.LastReceived = t
			}
			if t := time.Unix(d.LastStart, 0).UTC(); t.After(a.s.LastStart) {
				a.s.LastStart = t
			}
		}
	}
	out := make([]Sender, 0, len(by))
	for _, a := range by {
		a.s.Interval = interval(a.days)
		out = append(out, a.s)
	}
	slices.SortFunc(out, func(a, b Sender) int {
		return cmp.Or(b.LastReceived.Compare(a.LastReceived), cmp.Compare(a.Organization, b.Organization))
	})
	return out
}

// interval is the median gap between consecutive report starts of one
// organisation's days: within a day, reports with distinct starts are
// taken as evenly spaced from the first to the last; between days, the gap
// from one day's last start to the next one's first. Equal starts (two
// reports of one range) give no gap.
func interval(days []DaySender) time.Duration {
	slices.SortFunc(days, func(a, b DaySender) int { return cmp.Compare(a.FirstStart, b.FirstStart) })
	var gaps []time.Duration
	for i, d := range days {
		if n := int64(d.Reports - 1); n > 0 && d.LastStart > d.FirstStart {
			g := time.Duration((d.LastStart-d.FirstStart)/n) * time.Second
			for range n {
				gaps = append(gaps, g)
			}
		}
		if i > 0 {
			if g := d.FirstStart - days[i-1].LastStart; g > 0 {
				gaps = append(gaps, time.Duration(g)*time.Second)
			}
		}
	}
	return median(gaps)
}

// median is the median of d (the lower of the two middle values), 0 for
// none.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)-1)/2]
}

// SenderReader is what ReadSenders needs of a store: its day sums, and
// its facts for the days whose stored sums predate Senders (both stores
// have both).
type SenderReader interface {
	FactLister
	DaySumReader
}

// ReadSenders reads who reported domain over [from, to] from the day sums
// (complete as in DaySumReader: the caller's last complete day), one small
// item a day; the days whose stored sum predates SumVersion are read from
// their facts instead.
func ReadSenders(ctx context.Context, r SenderReader, domain string, from, to, complete Day) ([]Sender, error) {
	sums, err := r.DaySums(ctx, domain, from, to, complete)
	if err != nil {
		return nil, fmt.Errorf("day sums of %s: %w", domain, err)
	}
	var oldFrom, oldTo Day
	for _, ds := range sums {
		if ds.Version < SumVersion && len(ds.Classes) > 0 {
			if oldFrom == "" {
				oldFrom = ds.Day
			}
			oldTo = ds.Day
		}
	}
	if oldFrom != "" {
		facts, err := r.Facts(ctx, domain, oldFrom, oldTo)
		if err != nil {
			return nil, err
		}
		fresh := SumDays(domain, oldFrom, oldTo, facts)
		for i, ds := range sums {
			if ds.Day >= oldFrom && ds.Day <= oldTo {
				sums[i] = fresh[int(ds.Day.Time().Sub(oldFrom.Time())/(24*time.Hour))]
			}
		}
	}
	return SendersOf(sums), nil
}

// Silence sets when a sender or a domain counts as silent: the
// organisation file's checker.silence (docs/config.md).
type Silence struct {
	// SenderAfter: an organisation that reported regularly is silent
	// when nothing from it was received for longer than SenderAfter, or
	// than two of its intervals when that is longer (a weekly sender is
	// not silent after three days). 0 disables sender alerts.
	SenderAfter time.Duration
	// DomainAfter: a domain is silent when no report at all was
	// received for longer than this. 0 disables domain alerts.
	DomainAfter time.Duration
	// MinReports is how many reports an organisation must have sent
	// before its cadence counts as learned (below it, it is never called
	// silent).
	MinReports int
	// MaxInterval is the longest cadence taken for a regular sender:
	// one reporting less often is not watched.
	MaxInterval time.Duration
}

// Defaults of Silence: three days, a week, three reports, a week (some
// senders report weekly ranges, RFC 8460 §4.1 allows any).
const (
	DefaultSenderSilence      = 3 * 24 * time.Hour
	DefaultDomainSilence      = 7 * 24 * time.Hour
	DefaultSilenceMinReports  = 3
	DefaultSilenceMaxInterval = 8 * 24 * time.Hour
)

// Regular reports whether s has sent enough reports, at a cadence of at
// most MaxInterval, for its silence to mean something.
func (c Silence) Regular(s Sender) bool {
	return s.Reports >= c.MinReports && s.Interval > 0 && s.Interval <= c.MaxInterval
}

// Limit is how long s may stay silent: SenderAfter or two intervals,
// whichever is longer.
func (c Silence) Limit(s Sender) time.Duration {
	return max(c.SenderAfter, 2*s.Interval)
}

// SilentSender reports whether s, a regular sender, has been silent
// longer than its Limit at now.
func (c Silence) SilentSender(s Sender, now time.Time) bool {
	return c.SenderAfter > 0 && c.Regular(s) && now.Sub(s.LastReceived) > c.Limit(s)
}

// SilentDomain reports whether a domain whose senders are ss has received
// nothing for longer than DomainAfter at now, and since when. A domain
// without any report read is not called silent: nothing tells a new
// domain from a broken rua.
func (c Silence) SilentDomain(ss []Sender, now time.Time) (last time.Time, silent bool) {
	for _, s := range ss {
		if s.LastReceived.After(last) {
			last = s.LastReceived
		}
	}
	return last, c.DomainAfter > 0 && !last.IsZero() && now.Sub(last) > c.DomainAfter
}

// Cadence says an interval in words: "every hour", "every day", "every
// week", else "every N hours/days" (rounded).
func Cadence(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d <= 0:
		return "once"
	case d < 90*time.Minute:
		return "every hour"
	case d < 20*time.Hour:
		return fmt.Sprintf("every %d hours", int((d+30*time.Minute)/time.Hour))
	case d < 36*time.Hour:
		return "every day"
	case d >= 6*day && d < 8*day:
		return "every week"
	}
	return fmt.Sprintf("every %d days", int((d+day/2)/day))
}
