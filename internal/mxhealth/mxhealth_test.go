package mxhealth

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

const domain = "example.com"

var from = store.Day("2026-11-01")

// day returns the i-th day of the range.
func day(i int) store.Day { return from.AddDays(i) }

// fact is one report of org on day i: success sessions and failures at mx
// (from sending IP ip) of type certificate-expired.
func fact(i int, org string, success int64, mx string, failed int64, ip string) store.Fact {
	f := store.Fact{Domain: domain, Day: day(i), Organization: org, OrganizationName: org,
		ReportKey: fmt.Sprintf("%s.%d", org, i), Success: success, Failure: failed}
	if failed > 0 {
		f.Failures = []store.FailureCount{{ResultType: tlsrpt.ResultCertificateExpired, MXHost: mx, SendingIP: ip, Count: failed}}
	}
	return f
}

// history is n healthy days of three organisations, then the failing
// days given: per day, the organisations failing at mx1 with 10 sessions
// each.
func history(n int, failing ...[]string) []store.Fact {
	var facts []store.Fact
	orgs := []string{"google.com", "microsoft.com", "yahoo.com"}
	for i := range n {
		for _, o := range orgs {
			facts = append(facts, fact(i, o, 100, "", 0, ""))
		}
	}
	for j, fs := range failing {
		for k, o := range orgs {
			if slices.Contains(fs, o) {
				facts = append(facts, fact(n+j, o, 50, "mx1.example.com", 10, fmt.Sprintf("192.0.%d.1", k)))
			} else {
				facts = append(facts, fact(n+j, o, 100, "", 0, ""))
			}
		}
	}
	return facts
}

func view(facts []store.Fact, to int) View {
	return Hosts(Input{Domain: domain, From: from, To: day(to), Facts: facts}, Default)
}

func host(v View, name string) *Host {
	for i := range v.Hosts {
		if v.Hosts[i].MXHost == name {
			return &v.Hosts[i]
		}
	}
	return nil
}

// TestOnset: generated report sets around the onset rule, borderline ones
// included; the onset (or its absence) is asserted.
func TestOnset(t *testing.T) {
	all := []string{"google.com", "microsoft.com", "yahoo.com"}
	two := []string{"google.com", "microsoft.com"}
	cases := []struct {
		name  string
		facts []store.Fact
		to    int
		since store.Day // "" for no onset
		orgs  int
	}{
		{"healthy then all fail", history(5, all, all), 6, day(5), 3},
		{"healthy then two of three fail", history(5, two), 5, day(5), 2},
		{"one of three fails: not many senders", history(5, []string{"yahoo.com"}), 5, "", 0},
		{"failing from the start: never healthy", history(0, all, all, all, all), 3, "", 0},
		{"only two healthy days before", history(2, all), 2, "", 0},
		{"exactly the healthy days needed", history(3, all), 3, day(3), 3},
		{"recovered on the last day", history(5, all, nil), 6, "", 0},
		{"failing run too old", history(5, all), 9, "", 0},
		{"failing run reaching the recent days", history(5, all), 7, day(5), 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := view(c.facts, c.to)
			h := host(v, "mx1.example.com")
			var got *Onset
			if h != nil {
				got = h.Onset
			}
			switch {
			case c.since == "" && got != nil:
				t.Fatalf("onset %+v, want none", *got)
			case c.since == "":
				return
			case got == nil:
				t.Fatalf("no onset, want one since %s (days %+v)", c.since, h)
			}
			if got.Since != c.since || len(got.Failing) != c.orgs || got.FailedSessions != int64(10*c.orgs)*int64(got.Last.Time().Sub(got.Since.Time()).Hours()/24+1) {
				t.Errorf("onset %+v, want since %s with %d organisations", *got, c.since, c.orgs)
			}
			if d := h.Days[int(got.Since.Time().Sub(from.Time()).Hours()/24)]; len(d.Networks) != c.orgs || d.Networks[0] != "192.0.0.0/24" {
				t.Errorf("networks of %s: %q, want the %d of the failing organisations", d.Day, d.Networks, c.orgs)
			}
			if len(got.Networks) != c.orgs || len(got.Reports) == 0 || got.ResultTypes[0].Key != string(tlsrpt.ResultCertificateExpired) {
				t.Errorf("onset evidence %+v: want %d networks, the reports and the result type", *got, c.orgs)
			}
		})
	}
}

// TestFourReporters: more than FailingPercent of the reporters must fail:
// two of four is not more than half, three of four is.
func TestFourReporters(t *testing.T) {
	orgs := []string{"a.example", "b.example", "c.example", "d.example"}
	mk := func(failing int) []store.Fact {
		var facts []store.Fact
		for i := range 4 {
			for _, o := range orgs {
				facts = append(facts, fact(i, o, 100, "", 0, ""))
			}
		}
		for k, o := range orgs {
			if k < failing {
				facts = append(facts, fact(4, o, 0, "mx1.example.com", 10, "198.51.100.1"))
			} else {
				facts = append(facts, fact(4, o, 100, "", 0, ""))
			}
		}
		return facts
	}
	if h := host(view(mk(2), 4), "mx1.example.com"); h == nil || h.Onset != nil || h.Days[4].State != StateDegraded {
		t.Errorf("2 of 4 failing: %+v, want a degraded day and no onset", h)
	}
	if h := host(view(mk(3), 4), "mx1.example.com"); h == nil || h.Onset == nil || h.Days[4].State != StateFailing {
		t.Errorf("3 of 4 failing: %+v, want a failing day and an onset", h)
	}
}

// TestHostSessionsAndTLSA: sessions go to a host only from policies naming
// it alone; tlsa policies are listed per host with their records.
func TestHostSessionsAndTLSA(t *testing.T) {
	const r1, r2 = "3 1 1 aa", "3 1 1 bb"
	facts := []store.Fact{
		{Domain: domain, Day: day(0), Organization: "microsoft.com", ReportKey: "m0", Success: 30, Failure: 2,
			MXPolicies: []store.MXPolicy{
				{Type: tlsrpt.PolicyTypeTLSA, MXHosts: []string{"mx1.example.com"}, Records: []string{r1, r2}, Success: 20, Failure: 2},
				{Type: tlsrpt.PolicyTypeSTS, MXHosts: []string{"*.example.com"}, Success: 10},
			},
			Failures: []store.FailureCount{{ResultType: tlsrpt.ResultTLSAInvalid, MXHost: "mx1.example.com", SendingIP: "2001:db8:1:2::3", Count: 2}}},
		{Domain: domain, Day: day(1), Organization: "sonne.floppy.org", ReportKey: "p1", Success: 5,
			MXPolicies: []store.MXPolicy{{Type: tlsrpt.PolicyTypeTLSA, MXHosts: []string{"mx1.example.com"}, Records: []string{r1, r2}, Success: 5}}},
		{Domain: domain, Day: day(1), Organization: "google.com", ReportKey: "g1", Success: 7, Failure: 1,
			MXPolicies: []store.MXPolicy{{Type: tlsrpt.PolicyTypeSTS, MXHosts: []string{"mx1.example.com", "mx2.example.com"}, Success: 7, Failure: 1}},
			Failures:   []store.FailureCount{{ResultType: tlsrpt.ResultSTARTTLSNotSupported, Count: 1}}},
		{Domain: "other.example", Day: day(1), Organization: "x", ReportKey: "x1", Failures: []store.FailureCount{{ResultType: tlsrpt.ResultTLSAInvalid, MXHost: "mx9.example.com", Count: 9}}},
	}
	v := view(facts, 1)
	if len(v.Hosts) != 1 || v.Unnamed != 1 {
		t.Fatalf("hosts %+v, unnamed %d: want mx1 only and 1 unnamed failure", v.Hosts, v.Unnamed)
	}
	h := v.Hosts[0]
	if h.Success != 25 || h.Failure != 2 || h.FailedSessions != 2 {
		t.Errorf("mx1 sessions %d/%d, failed %d: want 25/2 from the tlsa policies, 2 failed", h.Success, h.Failure, h.FailedSessions)
	}
	want := TLSAPolicy{Records: []string{r1, r2}, Success: 25, Failure: 2,
		Organizations: []string{"microsoft.com", "sonne.floppy.org"}, Reports: []string{"m0", "p1"}}
	if len(h.TLSA) != 1 || !slices.Equal(h.TLSA[0].Records, want.Records) || h.TLSA[0].Success != 25 ||
		!slices.Equal(h.TLSA[0].Organizations, want.Organizations) || !slices.Equal(h.TLSA[0].Reports, want.Reports) {
		t.Errorf("tlsa %+v, want %+v", h.TLSA, want)
	}
	if len(h.ByNetwork) != 1 || h.ByNetwork[0].Key != "2001:db8:1::/48" {
		t.Errorf("networks %+v, want the /48", h.ByNetwork)
	}
	if len(h.Days) != 2 || h.Days[0].State != StateDegraded || h.Days[1].State != StateHealthy || h.Days[1].Reporters != 2 {
		t.Errorf("days %+v", h.Days)
	}
	if Remedy(tlsrpt.ResultTLSAInvalid) == "" || Remedy(tlsrpt.ResultDNSSECInvalid) == "" || Remedy(tlsrpt.ResultDANERequired) == "" || Remedy(tlsrpt.ResultCertificateExpired) != "" {
		t.Error("a remedy for each DANE result type, none for others")
	}
}

// TestCounting: facts the Counting leaves out (conflicting) are not read.
func TestCounting(t *testing.T) {
	f := fact(0, "a.example", 0, "mx1.example.com", 50, "192.0.2.1")
	f.Conflict = true
	if v := view([]store.Fact{f}, 0); len(v.Hosts) != 0 {
		t.Errorf("a conflicting report counted: %+v", v.Hosts)
	}
}

// TestSums: days known from the day sums only (the checker reads the facts
// of failing days only) count as reported and healthy, so the onset rule
// gives what it gives over every fact.
func TestSums(t *testing.T) {
	all := []string{"google.com", "microsoft.com", "yahoo.com"}
	facts := history(5, all)
	var failing []store.Fact
	var sums []store.DayTotals
	for i := range 5 {
		sums = append(sums, store.DayTotals{Day: day(i), Totals: store.Totals{Success: 300}})
	}
	for _, f := range facts {
		if f.Day == day(5) {
			failing = append(failing, f)
		}
	}
	v := Hosts(Input{Domain: domain, From: from, To: day(5), Facts: failing, Sums: sums}, Default)
	h := host(v, "mx1.example.com")
	if h == nil || h.Onset == nil || h.Onset.HealthyDays != 5 || h.Days[0].State != StateHealthy {
		t.Fatalf("from sums and the failing day's facts: %+v, want an onset after 5 healthy days", h)
	}
	if v := Hosts(Input{Domain: domain, From: from, To: day(5), Facts: failing}, Default); host(v, "mx1.example.com").Onset != nil {
		t.Error("without the sums the days before are no-data: no onset")
	}
}

// TestDomainTLSA: a tlsa policy naming no MX host (as Microsoft sends
// them) or several is listed for the domain, not for a host.
func TestDomainTLSA(t *testing.T) {
	facts := []store.Fact{
		{Domain: domain, Day: day(0), Organization: "microsoft corporation", ReportKey: "m0", Success: 4,
			MXPolicies: []store.MXPolicy{{Type: tlsrpt.PolicyTypeTLSA, Records: []string{"3 1 1 60", "3 1 1 83"}, Success: 2}}},
		{Domain: domain, Day: day(0), Organization: "x.example", ReportKey: "x0", Success: 1,
			MXPolicies: []store.MXPolicy{{Type: tlsrpt.PolicyTypeTLSA, MXHosts: []string{"a.example.com", "b.example.com"}, Records: []string{"3 1 1 60", "3 1 1 83"}, Success: 1}}},
	}
	v := view(facts, 0)
	if len(v.Hosts) != 0 || len(v.TLSA) != 1 || v.TLSA[0].Success != 3 || !slices.Equal(v.TLSA[0].Reports, []string{"m0", "x0"}) {
		t.Errorf("hosts %+v, domain tlsa %+v: want one domain policy of 3 sessions from both reports", v.Hosts, v.TLSA)
	}
}
