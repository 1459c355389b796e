package store

import (
	"cmp"
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

// Sender is what a domain's facts say about one reporting organisation.
type Sender struct {
	// Organization is the normalised name; Name the one last sent.
	Organization string `json:"organization"`
	Name         string `json:"name"`
	// Reports counts the facts (reports for the domain) read.
	Reports int `json:"reports"`
	// Interval is the organisation's learned cadence: the median gap
	// between the starts of its consecutive reports (24h for a daily
	// sender, 1h for an hourly one, 168h for a weekly one); 0 with fewer
	// than two distinct report starts.
	Interval time.Duration `json:"interval"`
	// Lag is the median time from a report's range end to its receipt.
	Lag time.Duration `json:"lag"`
	// LastStart and LastEnd are the date range of the latest report (by
	// start), LastReportID and LastReportKey name it.
	LastStart     time.Time `json:"last_start"`
	LastEnd       time.Time `json:"last_end"`
	LastReportID  string    `json:"last_report_id"`
	LastReportKey string    `json:"last_report_key"`
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
// most recently received first. Every fact counts, whatever its provenance
// or conflict: silence is about whether reports arrive at all.
func Senders(domain string, facts []Fact) []Sender {
	type acc struct {
		s      Sender
		starts []time.Time
		lags   []time.Duration
	}
	by := map[string]*acc{}
	for _, f := range facts {
		if f.Domain != domain {
			continue
		}
		a := by[f.Organization]
		if a == nil {
			a = &acc{s: Sender{Organization: f.Organization}}
			by[f.Organization] = a
		}
		a.s.Reports++
		a.starts = append(a.starts, f.Start)
		if !f.ReceivedAt.IsZero() {
			a.lags = append(a.lags, max(f.ReceivedAt.Sub(f.End), 0))
		}
		if r := received(f); r.After(a.s.LastReceived) {
			a.s.LastReceived = r
		}
		if a.s.LastReportKey == "" || f.Start.After(a.s.LastStart) ||
			f.Start.Equal(a.s.LastStart) && f.ReportKey > a.s.LastReportKey {
			a.s.LastStart, a.s.LastEnd = f.Start, f.End
			a.s.LastReportID, a.s.LastReportKey = f.ReportID, f.ReportKey
			a.s.Name = f.OrganizationName
		}
	}
	out := make([]Sender, 0, len(by))
	for _, a := range by {
		slices.SortFunc(a.starts, time.Time.Compare)
		a.starts = slices.CompactFunc(a.starts, time.Time.Equal)
		var gaps []time.Duration
		for i := 1; i < len(a.starts); i++ {
			gaps = append(gaps, a.starts[i].Sub(a.starts[i-1]))
		}
		a.s.Interval = median(gaps)
		a.s.Lag = median(a.lags)
		out = append(out, a.s)
	}
	slices.SortFunc(out, func(a, b Sender) int {
		return cmp.Or(b.LastReceived.Compare(a.LastReceived), cmp.Compare(a.Organization, b.Organization))
	})
	return out
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
