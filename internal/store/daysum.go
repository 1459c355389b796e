package store

import (
	"cmp"
	"slices"
	"strings"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// Day sums (docs/reports.md, "Day sums").
//
// Facts are the truth; a DaySum is derived from the facts of one domain and
// one day, so that a view of many domains over many days (the dashboard's
// overview) reads one small item per day instead of every report. A store
// keeps the sum of a complete day (one no later than the caller's last
// complete day) once it has computed it, and forgets it, or marks it stale,
// whenever a fact of that day is written or flagged afterwards (a late
// report, a conflicting body): a stored sum is never used once it may differ
// from the facts. Sums can always be rebuilt from the facts (Rebuild).

// SampleMarker ends the organisation name, and SampleReportIDPrefix starts
// the report-id, of every report of the sample data (package sample):
// day sums count sample reports (DaySum.SampleReports) so that a view
// knows sample data is shown without reading every report.
const (
	SampleMarker         = "(sample)"
	SampleReportIDPrefix = "sample-"
)

// IsSampleReport reports whether a report (or fact) with this
// organisation name and report-id is sample data.
func IsSampleReport(organizationName, reportID string) bool {
	return strings.HasSuffix(strings.TrimSpace(organizationName), " "+SampleMarker) &&
		strings.HasPrefix(reportID, SampleReportIDPrefix)
}

// DaySum is the sum of the facts of one domain on one day, split by what
// decides whether a fact counts (Counting): its provenance and whether it
// conflicts. Counted sums what a Counting counts.
type DaySum struct {
	Domain string `json:"domain"`
	Day    Day    `json:"day"`
	// Classes has one entry per (Provenance, Conflict) of the day's facts,
	// in that order.
	Classes []ClassSum `json:"classes,omitempty"`
	// SampleReports counts the day's sample reports (IsSampleReport),
	// counted or not.
	SampleReports int `json:"sample_reports,omitempty"`
	// Senders has one entry per organisation that reported the day, in
	// order of organisation, whatever the class: what silent-sender
	// alerts learn from (senders.go).
	Senders []DaySender `json:"senders,omitempty"`
	// Version is SumVersion for sums derived since they carry Senders;
	// 0 in sums stored before (ReadSenders reads their facts instead).
	Version int `json:"version,omitempty"`
}

// SumVersion is the Version of the sums SumDays derives.
const SumVersion = 1

// DaySender is what one organisation reported on one day (by the day its
// reports start), counted or not: kept small, as every reader of day sums
// reads it (times are Unix seconds).
type DaySender struct {
	Organization string `json:"o"`
	Reports      int    `json:"n"`
	// FirstStart and LastStart are the earliest and latest start of the
	// day's reports; LastReceived their latest receipt (Fact.ReceivedAt,
	// or the range's end for facts stored before it).
	FirstStart   int64 `json:"f"`
	LastStart    int64 `json:"l"`
	LastReceived int64 `json:"r"`
}

// add counts f, a fact of d's organisation and day.
func (d *DaySender) add(f Fact) {
	start, recv := f.Start.Unix(), received(f).Unix()
	if d.Reports == 0 || start < d.FirstStart {
		d.FirstStart = start
	}
	if d.Reports == 0 || start > d.LastStart {
		d.LastStart = start
	}
	if d.Reports == 0 || recv > d.LastReceived {
		d.LastReceived = recv
	}
	d.Reports++
}

// ClassSum sums the facts of a day with one provenance and conflict flag.
type ClassSum struct {
	Provenance string `json:"provenance,omitempty"`
	Conflict   bool   `json:"conflict,omitempty"`
	Reports    int    `json:"reports"`
	// Totals are summed over every policy type; STS over policies of type
	// "sts" only (RFC 8460 §4.4), as in Summary.
	Totals
	STS Totals `json:"sts"`
}

// DayCount is what a Counting counts of a DaySum (or of several: Add).
type DayCount struct {
	Reports int `json:"reports"`
	Totals
	STS Totals `json:"sts"`
	// Conflicting and Excluded count facts as in Summary.
	Conflicting int `json:"conflicting"`
	Excluded    int `json:"excluded"`
}

// Add adds o to d, saturating.
func (d *DayCount) Add(o DayCount) {
	d.Reports += o.Reports
	d.add(o.Success, o.Failure)
	d.STS.add(o.STS.Success, o.STS.Failure)
	d.Conflicting += o.Conflicting
	d.Excluded += o.Excluded
}

// Counted sums the classes of s that c counts.
func (s DaySum) Counted(c Counting) DayCount {
	var d DayCount
	for _, cl := range s.Classes {
		if cl.Conflict {
			d.Conflicting += cl.Reports
		}
		if !c.Counts(Fact{Provenance: cl.Provenance, Conflict: cl.Conflict}) {
			d.Excluded += cl.Reports
			continue
		}
		d.Reports += cl.Reports
		d.add(cl.Success, cl.Failure)
		d.STS.add(cl.STS.Success, cl.STS.Failure)
	}
	return d
}

// SumDays sums facts (those of domain within [from, to]; others are
// ignored) by day: one DaySum for every day of [from, to], in order, also
// for days without facts. Counts saturate (AddSat).
func SumDays(domain string, from, to Day, facts []Fact) []DaySum {
	if !from.Valid() || !to.Valid() || from > to {
		return nil
	}
	var sums []DaySum
	index := map[Day]int{}
	for d := from; d <= to; d = d.AddDays(1) {
		index[d] = len(sums)
		sums = append(sums, DaySum{Domain: domain, Day: d, Version: SumVersion})
	}
	senders := make([]map[string]*DaySender, len(sums))
	type class struct {
		provenance string
		conflict   bool
	}
	classes := make([]map[class]*ClassSum, len(sums))
	for _, f := range facts {
		i, ok := index[f.Day]
		if f.Domain != domain || !ok {
			continue
		}
		if classes[i] == nil {
			classes[i] = map[class]*ClassSum{}
		}
		k := class{f.Provenance, f.Conflict}
		cl := classes[i][k]
		if cl == nil {
			cl = &ClassSum{Provenance: f.Provenance, Conflict: f.Conflict}
			classes[i][k] = cl
		}
		cl.Reports++
		cl.add(f.Success, f.Failure)
		for _, p := range f.Policies {
			if p.Type == tlsrpt.PolicyTypeSTS {
				cl.STS.add(p.Success, p.Failure)
			}
		}
		if IsSampleReport(f.OrganizationName, f.ReportID) {
			sums[i].SampleReports++
		}
		if senders[i] == nil {
			senders[i] = map[string]*DaySender{}
		}
		ds := senders[i][f.Organization]
		if ds == nil {
			ds = &DaySender{Organization: f.Organization}
			senders[i][f.Organization] = ds
		}
		ds.add(f)
	}
	for i := range sums {
		for _, cl := range classes[i] {
			sums[i].Classes = append(sums[i].Classes, *cl)
		}
		slices.SortFunc(sums[i].Classes, func(a, b ClassSum) int {
			return cmp.Or(cmp.Compare(a.Provenance, b.Provenance), cmp.Compare(btoi(a.Conflict), btoi(b.Conflict)))
		})
		for _, ds := range senders[i] {
			sums[i].Senders = append(sums[i].Senders, *ds)
		}
		slices.SortFunc(sums[i].Senders, func(a, b DaySender) int { return cmp.Compare(a.Organization, b.Organization) })
	}
	return sums
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
