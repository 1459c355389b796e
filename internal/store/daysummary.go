package store

import (
	"context"
	"fmt"
)

// DaySumReader is what DayCounted needs of a store besides its facts: the
// day sums of a domain (both stores have it; docs/reports.md, "Day sums").
//
// DaySums returns one DaySum for every day of [from, to], in order, equal
// to store.SumDays over the facts of those days; the sums of days up to
// complete may be read from stored sums (and are stored when missing),
// later days are summed from the facts on every call.
type DaySumReader interface {
	DaySums(ctx context.Context, domain string, from, to, complete Day) ([]DaySum, error)
}

// DefaultLiveDays is how many days, the last day of a range included,
// DayCounted sums from the facts on every call: reports about a day
// mostly arrive the day after, so the days before it are complete and
// their sums are derived once and stored (the dashboard uses the same).
const DefaultLiveDays = 2

// DayCounted is a Summary reader that reads day sums instead of every
// fact: the checker's readiness window (14 days) costs one small item a
// day instead of every report of every day. Facts are read only where the
// sums cannot answer: the failure breakdown (by result type, MX host,
// receiving and sending IP) of the days whose counted sessions failed.
//
// Its Summary equals Counted's (SummarizeCounting over the facts) in
// every field but ByOrganization, which stays empty, and the failure
// breakdowns, which count the failure details of the days with failed
// sessions only (a report's failure details describe its failed
// sessions, RFC 8460 §4.3, so other days have none).
type DayCounted struct {
	Facts FactLister
	Sums  DaySumReader
	Counting
	// LiveDays is how many days at the end of a range are summed from the
	// facts on every call (0: DefaultLiveDays); the days before are
	// complete and their sums are stored.
	LiveDays int
}

// Summary sums domain's reports over [from, to] from the day sums, as
// c.Counting counts them.
func (c DayCounted) Summary(ctx context.Context, domain string, from, to Day) (Summary, error) {
	s, _, err := c.SummaryFacts(ctx, domain, from, to)
	return s, err
}

// SummaryFacts is Summary, and the counted facts it read: every counted
// fact of the days from the first to the last with failed sessions (none
// when no day failed). The days of [from, to] outside them have no failed
// sessions; Summary.ByDay gives their sessions.
func (c DayCounted) SummaryFacts(ctx context.Context, domain string, from, to Day) (Summary, []Fact, error) {
	s := Summary{Domain: domain, From: from, To: to, ByDay: []DayTotals{}, ByOrganization: []OrgTotals{},
		ByResultType: []Count{}, ByMXHost: []Count{}, ByReceivingIP: []Count{}, BySendingIP: []Count{}}
	if !from.Valid() || !to.Valid() || from > to {
		return s, nil, nil
	}
	live := c.LiveDays
	if live <= 0 {
		live = DefaultLiveDays
	}
	sums, err := c.Sums.DaySums(ctx, domain, from, to, to.AddDays(-live))
	if err != nil {
		return Summary{}, nil, fmt.Errorf("day sums of %s: %w", domain, err)
	}
	var firstFail, lastFail Day
	for _, ds := range sums { // in order of day
		if ds.Domain != domain || ds.Day < from || ds.Day > to {
			continue
		}
		n := ds.Counted(c.Counting)
		s.Conflicting += n.Conflicting
		s.Excluded += n.Excluded
		if n.Reports == 0 {
			continue
		}
		s.Reports += n.Reports
		s.add(n.Success, n.Failure)
		s.STS.add(n.STS.Success, n.STS.Failure)
		s.ByDay = append(s.ByDay, DayTotals{Day: ds.Day, Totals: n.Totals, STS: n.STS})
		if n.Failure > 0 {
			if firstFail == "" {
				firstFail = ds.Day
			}
			lastFail = ds.Day
		}
	}
	if firstFail == "" {
		return s, nil, nil
	}
	// The breakdown of failures needs the failure details, which only the
	// facts hold: read the days from the first to the last with failures.
	facts, err := c.Facts.Facts(ctx, domain, firstFail, lastFail)
	if err != nil {
		return Summary{}, nil, err
	}
	detail := SummarizeCounting(domain, firstFail, lastFail, facts, c.Counting)
	s.ByResultType, s.ByMXHost = detail.ByResultType, detail.ByMXHost
	s.ByReceivingIP, s.BySendingIP = detail.ByReceivingIP, detail.BySendingIP
	return s, countedFacts(domain, firstFail, lastFail, facts, c.Counting), nil
}
