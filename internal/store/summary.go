package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// Totals are session counts.
type Totals struct {
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
}

func (t *Totals) add(success, failure int64) {
	t.Success = addSat(t.Success, success)
	t.Failure = addSat(t.Failure, failure)
}

// DayTotals are one day's session counts: all policy types, and those of
// policies of type "sts" only (RFC 8460 §4.4: sessions of senders that
// applied the MTA-STS policy).
type DayTotals struct {
	Day Day `json:"day"`
	Totals
	STS Totals `json:"sts"`
}

// OrgTotals are one reporting organisation's session counts and number of
// reports.
type OrgTotals struct {
	// Organization is the normalised name; Name the one first seen as sent.
	Organization string `json:"organization"`
	Name         string `json:"name"`
	Reports      int    `json:"reports"`
	Totals
}

// Count is a number of failed sessions under a key (a result type, an MX
// host, an IP address; "" when reports did not say).
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Summary sums the facts of one domain over a day range: the one aggregate
// of stored reports, read by the dashboard and by the checker (sts failures,
// readiness to enforce).
type Summary struct {
	Domain  string `json:"domain"`
	From    Day    `json:"from"`
	To      Day    `json:"to"`
	Reports int    `json:"reports"`
	// Conflicting counts the facts in the range whose report is one of
	// several bodies of one identity (Fact.Conflict), counted or not;
	// Excluded the facts the Counting left out of every sum below.
	Conflicting int `json:"conflicting"`
	Excluded    int `json:"excluded"`
	// Totals are summed over every policy type; STS over policies of type
	// "sts" only (RFC 8460 §4.4).
	Totals
	STS Totals `json:"sts"`
	// ByDay has one entry per day with reports, ascending.
	ByDay []DayTotals `json:"by_day"`
	// ByOrganization is ordered by sessions, most first.
	ByOrganization []OrgTotals `json:"by_organization"`
	// The failed sessions by result type, receiving MX host, receiving IP
	// and sending IP, largest first.
	ByResultType  []Count `json:"by_result_type"`
	ByMXHost      []Count `json:"by_mx_host"`
	ByReceivingIP []Count `json:"by_receiving_ip"`
	BySendingIP   []Count `json:"by_sending_ip"`
}

// Counting says which stored facts the sums count: the organisation
// file's reporting.count (docs/reports.md, "What counts"). The zero
// Counting counts every provenance, conflicting reports not.
type Counting struct {
	// Provenances are the provenances counted (Provenance*); empty: all.
	// Facts stored before provenance was recorded count only with all.
	Provenances []string
	// Conflicting counts the facts of conflicting reports too; by default
	// they are left out until the conflict is resolved.
	Conflicting bool
}

// Counts reports whether c counts f.
func (c Counting) Counts(f Fact) bool {
	if f.Conflict && !c.Conflicting {
		return false
	}
	return len(c.Provenances) == 0 || slices.Contains(c.Provenances, f.Provenance)
}

// Summarize sums facts (those of domain within [from, to]; others are
// ignored) into a Summary, as the zero Counting says.
func Summarize(domain string, from, to Day, facts []Fact) Summary {
	return SummarizeCounting(domain, from, to, facts, Counting{})
}

// SummarizeCounting is Summarize counting what c counts.
func SummarizeCounting(domain string, from, to Day, facts []Fact, c Counting) Summary {
	s := Summary{Domain: domain, From: from, To: to,
		ByDay: []DayTotals{}, ByOrganization: []OrgTotals{}}
	byDay := map[Day]*DayTotals{}
	byOrg := map[string]*OrgTotals{}
	byType, byMX, byRIP, bySIP := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, f := range facts {
		if f.Domain != domain || f.Day < from || f.Day > to {
			continue
		}
		if f.Conflict {
			s.Conflicting++
		}
		if !c.Counts(f) {
			s.Excluded++
			continue
		}
		s.Reports++
		s.add(f.Success, f.Failure)
		d := byDay[f.Day]
		if d == nil {
			d = &DayTotals{Day: f.Day}
			byDay[f.Day] = d
		}
		d.add(f.Success, f.Failure)
		for _, p := range f.Policies {
			if p.Type == tlsrpt.PolicyTypeSTS {
				s.STS.add(p.Success, p.Failure)
				d.STS.add(p.Success, p.Failure)
			}
		}
		o := byOrg[f.Organization]
		if o == nil {
			o = &OrgTotals{Organization: f.Organization, Name: f.OrganizationName}
			byOrg[f.Organization] = o
		}
		o.Reports++
		o.add(f.Success, f.Failure)
		for _, r := range f.Failures {
			byType[string(r.ResultType)] = addSat(byType[string(r.ResultType)], r.Count)
			byMX[r.MXHost] = addSat(byMX[r.MXHost], r.Count)
			byRIP[r.ReceivingIP] = addSat(byRIP[r.ReceivingIP], r.Count)
			bySIP[r.SendingIP] = addSat(bySIP[r.SendingIP], r.Count)
		}
	}
	for _, d := range byDay {
		s.ByDay = append(s.ByDay, *d)
	}
	slices.SortFunc(s.ByDay, func(a, b DayTotals) int { return cmp.Compare(a.Day, b.Day) })
	for _, o := range byOrg {
		s.ByOrganization = append(s.ByOrganization, *o)
	}
	slices.SortFunc(s.ByOrganization, func(a, b OrgTotals) int {
		return cmp.Or(cmp.Compare(addSat(b.Success, b.Failure), addSat(a.Success, a.Failure)), cmp.Compare(a.Organization, b.Organization))
	})
	s.ByResultType, s.ByMXHost = counts(byType), counts(byMX)
	s.ByReceivingIP, s.BySendingIP = counts(byRIP), counts(bySIP)
	return s
}

func counts(m map[string]int64) []Count {
	l := make([]Count, 0, len(m))
	for k, n := range m {
		l = append(l, Count{Key: k, Count: n})
	}
	slices.SortFunc(l, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key)) })
	return l
}

// FactLister is what the derived queries need of a store: its facts of a
// domain over a day range (both stores have it).
type FactLister interface {
	Facts(ctx context.Context, domain string, from, to Day) ([]Fact, error)
}

// SummaryFrom reads domain's facts over [from, to] from s and sums them
// (Summarize): every store's Summary.
func SummaryFrom(ctx context.Context, s FactLister, domain string, from, to Day) (Summary, error) {
	return Counted{s, Counting{}}.Summary(ctx, domain, from, to)
}

// Counted sums the facts of a store as its Counting says: the Summary the
// checker reads when the organisation file chooses what counts.
type Counted struct {
	FactLister
	Counting
}

// Summary reads domain's facts over [from, to] and sums those c counts.
func (c Counted) Summary(ctx context.Context, domain string, from, to Day) (Summary, error) {
	facts, err := c.Facts(ctx, domain, from, to)
	if err != nil {
		return Summary{}, err
	}
	return SummarizeCounting(domain, from, to, facts, c.Counting), nil
}

// SummaryFacts reads domain's facts over [from, to] once and returns their
// Summary (as Summary does) and the facts c counts, in the store's order:
// for the checker, which judges clusters and MX hosts from the same read.
func (c Counted) SummaryFacts(ctx context.Context, domain string, from, to Day) (Summary, []Fact, error) {
	facts, err := c.Facts(ctx, domain, from, to)
	if err != nil {
		return Summary{}, nil, err
	}
	return SummarizeCounting(domain, from, to, facts, c.Counting), countedFacts(domain, from, to, facts, c.Counting), nil
}

// countedFacts returns the facts of domain within [from, to] that c counts.
func countedFacts(domain string, from, to Day, facts []Fact, c Counting) []Fact {
	counted := make([]Fact, 0, len(facts))
	for _, f := range facts {
		if f.Domain == domain && f.Day >= from && f.Day <= to && c.Counts(f) {
			counted = append(counted, f)
		}
	}
	return counted
}
