// Package mxhealth reads the health of each receiving MX host of a domain
// from the TLS reports senders send (issue 18 §2): per MX host, the
// sessions, the failures by result type, the organisations and sending
// networks that report them, day by day, the DANE (tlsa) policies senders
// applied with their records, and whether the host, healthy before,
// started failing for many senders (Onset). AWS blocks outbound port 25
// from Lambda by default, so most deployments cannot probe their MX hosts:
// the reports are what tells them.
//
// It is pure: it reads the stored facts of one domain (store.Fact) and
// nothing else. The rules and every threshold live here and in
// docs/checker.md ("MX health from reports"); the two must say the same.
//
// RFC 8460 §4.4 counts sessions per policy. A policy that names exactly
// one MX host (tlsa policies do, RFC 8460 §4.5) gives that host's
// sessions; a policy naming several hosts or a wildcard gives none to any
// host. Failure details name the receiving MX host of each failure, so
// failures per host are exact whatever the policy.
package mxhealth

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
	"github.com/ststack/ststack/internal/triage"
)

// Thresholds are the numbers the onset rule uses. Default is the one set
// in use; docs/checker.md gives the reasoning for each.
type Thresholds struct {
	// RecentDays: the failing run must reach one of the last RecentDays
	// days of the range (reports arrive a day or two after the mail).
	RecentDays int `json:"recent_days"`
	// MinHealthyDays: the host must have been healthy on at least this
	// many days with reports before the run started.
	MinHealthyDays int `json:"min_healthy_days"`
	// HealthyMaxFailurePercent: a day is healthy for a host when its
	// failed sessions are at most this share (in percent) of all the
	// domain's sessions reported that day.
	HealthyMaxFailurePercent int `json:"healthy_max_failure_percent"`
	// MinFailingOrganizations, FailingPercent and MinFailedSessions: a
	// day is failing for a host when at least MinFailingOrganizations
	// organisations, more than FailingPercent percent of those reporting
	// the domain that day, report at least MinFailedSessions failed
	// sessions at the host in all.
	MinFailingOrganizations int   `json:"min_failing_organizations"`
	FailingPercent          int   `json:"failing_percent"`
	MinFailedSessions       int64 `json:"min_failed_sessions"`
}

// Default are the thresholds in use.
var Default = Thresholds{
	RecentDays:               3,
	MinHealthyDays:           3,
	HealthyMaxFailurePercent: 1,
	MinFailingOrganizations:  2,
	FailingPercent:           50,
	MinFailedSessions:        10,
}

// Day states of a host (HostDay.State).
const (
	StateHealthy  = "healthy"  // failures within HealthyMaxFailurePercent
	StateFailing  = "failing"  // many senders fail (the failing rule)
	StateDegraded = "degraded" // failures, but neither healthy nor failing
	StateNoData   = "no-data"  // no report for the domain that day
)

// View is the MX health of one domain over a day range.
type View struct {
	Domain string    `json:"domain"`
	From   store.Day `json:"from"`
	To     store.Day `json:"to"`
	// Hosts are the MX hosts reports name (in failure details, or as the
	// one host of a policy), most failed sessions first, then by name.
	Hosts []Host `json:"hosts"`
	// Unnamed counts the failed sessions whose details name no MX host.
	Unnamed int64 `json:"unnamed_failed_sessions"`
	// TLSA are the DANE (tlsa) policies that name no single MX host
	// (Microsoft sends them without mx-host): they apply to the domain's
	// MX hosts, which ones the report does not say.
	TLSA []TLSAPolicy `json:"tlsa"`
	// Thresholds are the ones the states and onsets were judged with.
	Thresholds Thresholds `json:"thresholds"`
}

// Host is one MX host's health over the range.
type Host struct {
	MXHost string `json:"mx_host"`
	// Success and Failure are the sessions of the policies naming this
	// host alone (see the package comment); FailedSessions the failed
	// sessions the failure details name it for.
	Success        int64 `json:"success"`
	Failure        int64 `json:"failure"`
	FailedSessions int64 `json:"failed_sessions"`
	// ByResultType, ByOrganization and ByNetwork split FailedSessions by
	// result type, reporting organisation (normalised name) and sending
	// network (/24 or /48, triage.Network; "" when not reported), largest
	// first.
	ByResultType   []store.Count `json:"by_result_type"`
	ByOrganization []store.Count `json:"by_organization"`
	ByNetwork      []store.Count `json:"by_network"`
	// Days has one entry per day of the range, oldest first.
	Days []HostDay `json:"days"`
	// TLSA are the DANE policies (RFC 8460 policy-type tlsa) senders
	// applied to this host, one per distinct set of records.
	TLSA []TLSAPolicy `json:"tlsa"`
	// Onset is set when the host, healthy before, started failing for
	// many senders (the onset rule); nil otherwise.
	Onset *Onset `json:"onset"`
}

// HostDay is one day of a host.
type HostDay struct {
	Day store.Day `json:"day"`
	// Reporters counts the organisations reporting the domain that day
	// (0 for a day known from Input.Sums only), Sessions the domain's
	// sessions they reported.
	Reporters int   `json:"reporters"`
	Sessions  int64 `json:"sessions"`
	// FailedSessions at this host, the organisations reporting them and
	// the sending networks (/24, /48; "" when not reported) they came
	// from, sorted.
	FailedSessions int64    `json:"failed_sessions"`
	Failing        []string `json:"failing"`
	Networks       []string `json:"networks"`
	State          string   `json:"state"`
}

// TLSAPolicy is a DANE policy senders applied to a host: its TLSA records
// as reported, the sessions under it and who reported it.
type TLSAPolicy struct {
	Records       []string `json:"records"`
	Success       int64    `json:"success"`
	Failure       int64    `json:"failure"`
	Organizations []string `json:"organizations"`
	Reports       []string `json:"reports"`
}

// Onset says when and how a healthy host started failing.
type Onset struct {
	// Since is the first day of the failing run, Last its last day.
	Since store.Day `json:"since"`
	Last  store.Day `json:"last"`
	// HealthyDays counts the healthy days before Since.
	HealthyDays int `json:"healthy_days"`
	// FailedSessions, Failing (organisations), Networks and ResultTypes
	// sum the run; Reports are the keys of the reports with failures at
	// the host during the run (at most maxReports).
	FailedSessions int64         `json:"failed_sessions"`
	Failing        []string      `json:"failing"`
	Networks       []string      `json:"networks"`
	ResultTypes    []store.Count `json:"result_types"`
	Reports        []string      `json:"reports"`
}

// maxReports bounds Onset.Reports.
const maxReports = 20

// Input is what Hosts reads: the facts of one domain over [From, To]
// (others are ignored); Counting says which of them count.
type Input struct {
	Domain   string
	From, To store.Day
	Facts    []store.Fact
	Counting store.Counting
	// Sums are the domain's counted sessions per day (store.Summary
	// .ByDay), for a reader that has the facts of the days with failures
	// only (the checker, store.DayCounted): a day listed here without a
	// fact in Facts had reports and no failure, with these sessions. nil
	// when Facts holds every fact of the range.
	Sums []store.DayTotals
}

type dayAcc struct {
	reporters map[string]bool
	sessions  int64
}

type hostAcc struct {
	h       Host
	types   map[string]int64
	orgs    map[string]int64
	nets    map[string]int64
	days    map[store.Day]*HostDay
	reports map[store.Day]map[string]bool
	nets24  map[store.Day]map[string]bool
	dtypes  map[store.Day]map[string]int64
	tlsa    map[string]*TLSAPolicy
	tlsaSet map[string]map[string]bool // key → orgs and reports seen
}

// Hosts computes the MX health view of in with thresholds th.
func Hosts(in Input, th Thresholds) View {
	v := View{Domain: in.Domain, From: in.From, To: in.To, Hosts: []Host{}, TLSA: []TLSAPolicy{}, Thresholds: th}
	domainTLSA := &hostAcc{tlsa: map[string]*TLSAPolicy{}, tlsaSet: map[string]map[string]bool{}}
	if !in.From.Valid() || !in.To.Valid() || in.From > in.To {
		return v
	}
	days := map[store.Day]*dayAcc{}
	hosts := map[string]*hostAcc{}
	host := func(name string) *hostAcc {
		a := hosts[name]
		if a == nil {
			a = &hostAcc{h: Host{MXHost: name, TLSA: []TLSAPolicy{}}, types: map[string]int64{}, orgs: map[string]int64{},
				nets: map[string]int64{}, days: map[store.Day]*HostDay{}, reports: map[store.Day]map[string]bool{},
				nets24: map[store.Day]map[string]bool{}, dtypes: map[store.Day]map[string]int64{},
				tlsa: map[string]*TLSAPolicy{}, tlsaSet: map[string]map[string]bool{}}
			hosts[name] = a
		}
		return a
	}
	for _, f := range in.Facts {
		if f.Domain != in.Domain || f.Day < in.From || f.Day > in.To || !in.Counting.Counts(f) {
			continue
		}
		d := days[f.Day]
		if d == nil {
			d = &dayAcc{reporters: map[string]bool{}}
			days[f.Day] = d
		}
		d.reporters[f.Organization] = true
		d.sessions = store.AddSat(d.sessions, store.AddSat(f.Success, f.Failure))
		for _, p := range f.MXPolicies {
			if len(p.MXHosts) != 1 || strings.HasPrefix(p.MXHosts[0], "*.") {
				if p.Type == tlsrpt.PolicyTypeTLSA {
					domainTLSA.addTLSA(p, f)
				}
				continue
			}
			a := host(p.MXHosts[0])
			a.h.Success = store.AddSat(a.h.Success, p.Success)
			a.h.Failure = store.AddSat(a.h.Failure, p.Failure)
			if p.Type == tlsrpt.PolicyTypeTLSA {
				a.addTLSA(p, f)
			}
		}
		for _, r := range f.Failures {
			if r.Count <= 0 {
				continue
			}
			if r.MXHost == "" {
				v.Unnamed = store.AddSat(v.Unnamed, r.Count)
				continue
			}
			a := host(r.MXHost)
			net := triage.Network(r.SendingIP)
			a.h.FailedSessions = store.AddSat(a.h.FailedSessions, r.Count)
			a.types[string(r.ResultType)] = store.AddSat(a.types[string(r.ResultType)], r.Count)
			a.orgs[f.Organization] = store.AddSat(a.orgs[f.Organization], r.Count)
			a.nets[net] = store.AddSat(a.nets[net], r.Count)
			hd := a.days[f.Day]
			if hd == nil {
				hd = &HostDay{Day: f.Day}
				a.days[f.Day] = hd
				a.reports[f.Day] = map[string]bool{}
				a.nets24[f.Day] = map[string]bool{}
				a.dtypes[f.Day] = map[string]int64{}
			}
			hd.FailedSessions = store.AddSat(hd.FailedSessions, r.Count)
			if !slices.Contains(hd.Failing, f.Organization) {
				hd.Failing = append(hd.Failing, f.Organization)
			}
			a.reports[f.Day][f.ReportKey] = true
			a.nets24[f.Day][net] = true
			a.dtypes[f.Day][string(r.ResultType)] = store.AddSat(a.dtypes[f.Day][string(r.ResultType)], r.Count)
		}
	}
	for _, sd := range in.Sums {
		if days[sd.Day] == nil && sd.Day >= in.From && sd.Day <= in.To {
			days[sd.Day] = &dayAcc{reporters: map[string]bool{}, sessions: store.AddSat(sd.Success, sd.Failure)}
		}
	}
	for _, a := range hosts {
		h := a.h
		h.ByResultType, h.ByOrganization, h.ByNetwork = counts(a.types), counts(a.orgs), counts(a.nets)
		for d := in.From; d <= in.To; d = d.AddDays(1) {
			hd := HostDay{Day: d, Failing: []string{}, Networks: []string{}}
			if x := a.days[d]; x != nil {
				hd = *x
				slices.Sort(hd.Failing)
				hd.Networks = keys(a.nets24[d])
			}
			da := days[d]
			if da != nil {
				hd.Reporters, hd.Sessions = len(da.reporters), da.sessions
			}
			hd.State = state(hd, da != nil, th)
			h.Days = append(h.Days, hd)
		}
		h.TLSA = append(h.TLSA, a.tlsaPolicies()...)
		h.Onset = onset(h.Days, a, in.To, th)
		v.Hosts = append(v.Hosts, h)
	}
	v.TLSA = append(v.TLSA, domainTLSA.tlsaPolicies()...)
	slices.SortFunc(v.Hosts, func(a, b Host) int {
		return cmp.Or(cmp.Compare(b.FailedSessions, a.FailedSessions), cmp.Compare(a.MXHost, b.MXHost))
	})
	return v
}

// addTLSA sums the tlsa policy p of fact f into a, one entry per set of
// records.
func (a *hostAcc) addTLSA(p store.MXPolicy, f store.Fact) {
	key := strings.Join(p.Records, "\n")
	t := a.tlsa[key]
	if t == nil {
		t = &TLSAPolicy{Records: append([]string{}, p.Records...)}
		a.tlsa[key] = t
		a.tlsaSet[key] = map[string]bool{}
	}
	t.Success = store.AddSat(t.Success, p.Success)
	t.Failure = store.AddSat(t.Failure, p.Failure)
	if !a.tlsaSet[key]["o"+f.Organization] {
		a.tlsaSet[key]["o"+f.Organization] = true
		t.Organizations = append(t.Organizations, f.Organization)
	}
	if !a.tlsaSet[key]["r"+f.ReportKey] {
		a.tlsaSet[key]["r"+f.ReportKey] = true
		t.Reports = append(t.Reports, f.ReportKey)
	}
}

// tlsaPolicies returns a's tlsa policies in order of their records.
func (a *hostAcc) tlsaPolicies() []TLSAPolicy {
	keys := make([]string, 0, len(a.tlsa))
	for k := range a.tlsa {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var l []TLSAPolicy
	for _, k := range keys {
		t := *a.tlsa[k]
		slices.Sort(t.Organizations)
		slices.Sort(t.Reports)
		l = append(l, t)
	}
	return l
}

// state judges one day of a host (docs/checker.md, "MX health from
// reports").
func state(d HostDay, reported bool, th Thresholds) string {
	switch {
	case !reported:
		return StateNoData
	case len(d.Failing) >= th.MinFailingOrganizations && 100*len(d.Failing) > th.FailingPercent*d.Reporters &&
		d.FailedSessions >= th.MinFailedSessions:
		return StateFailing
	case d.Sessions > 0 && float64(d.FailedSessions)*100 <= float64(th.HealthyMaxFailurePercent)*float64(d.Sessions):
		return StateHealthy
	case d.FailedSessions == 0:
		return StateHealthy
	}
	return StateDegraded
}

// onset applies the onset rule: the days with reports that end the range
// are failing (a run reaching one of the last RecentDays days of the
// range), and before the run the host was healthy on at least
// MinHealthyDays days, the last day with reports before the run
// included.
func onset(days []HostDay, a *hostAcc, to store.Day, th Thresholds) *Onset {
	var reported []HostDay
	for _, d := range days {
		if d.State != StateNoData {
			reported = append(reported, d)
		}
	}
	i := len(reported)
	for i > 0 && reported[i-1].State == StateFailing {
		i--
	}
	if i == len(reported) || reported[len(reported)-1].Day < to.AddDays(1-th.RecentDays) || i == 0 ||
		reported[i-1].State != StateHealthy {
		return nil
	}
	healthy := 0
	for _, d := range reported[:i] {
		if d.State == StateHealthy {
			healthy++
		}
	}
	if healthy < th.MinHealthyDays {
		return nil
	}
	o := &Onset{Since: reported[i].Day, Last: reported[len(reported)-1].Day, HealthyDays: healthy}
	orgs, nets, reports, types := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]int64{}
	for _, d := range reported[i:] {
		o.FailedSessions = store.AddSat(o.FailedSessions, d.FailedSessions)
		for _, org := range d.Failing {
			orgs[org] = true
		}
		for n := range a.nets24[d.Day] {
			nets[n] = true
		}
		for k := range a.reports[d.Day] {
			reports[k] = true
		}
		for t, n := range a.dtypes[d.Day] {
			types[t] = store.AddSat(types[t], n)
		}
	}
	o.Failing, o.Networks, o.Reports, o.ResultTypes = keys(orgs), keys(nets), keys(reports), counts(types)
	if len(o.Reports) > maxReports {
		o.Reports = o.Reports[:maxReports]
	}
	return o
}

// Summary is one line saying what the onset is: for a finding's message.
func (o *Onset) Summary(host string) string {
	var types []string
	for _, c := range o.ResultTypes {
		types = append(types, fmt.Sprintf("%s %d", c.Key, c.Count))
	}
	known := 0
	for _, n := range o.Networks {
		if n != "" {
			known++
		}
	}
	return fmt.Sprintf("%s was healthy on %d days with reports, then from %s to %s %d organisation(s) (%s) from %d sending network(s) reported %d failed sessions at it (%s)",
		host, o.HealthyDays, o.Since, o.Last, len(o.Failing), strings.Join(o.Failing, ", "), known, o.FailedSessions, strings.Join(types, ", "))
}

func keys(m map[string]bool) []string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}

func counts(m map[string]int64) []store.Count {
	l := make([]store.Count, 0, len(m))
	for k, n := range m {
		l = append(l, store.Count{Key: k, Count: n})
	}
	slices.SortFunc(l, func(a, b store.Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key)) })
	return l
}

// Remedy says what a DANE result type (RFC 8460 §4.3.1) means and what to
// do about it; "" for other result types.
func Remedy(t tlsrpt.ResultType) string {
	switch t {
	case tlsrpt.ResultDANERequired:
		return "senders found no usable TLSA records where DANE was required (RFC 8460 §4.3.1): publish TLSA records at _25._tcp.<mx> in a DNSSEC-signed zone, or remove what tells senders DANE is required"
	case tlsrpt.ResultDNSSECInvalid:
		return "the DNSSEC chain of the MX host's TLSA records did not validate (RFC 8460 §4.3.1): check the zone's DS record at the parent, its signatures' expiry and key rollover"
	case tlsrpt.ResultTLSAInvalid:
		return "the MX host's certificate matched none of its TLSA records (RFC 8460 §4.3.1), usually after a certificate or key change: publish the new key's TLSA record before the change (3 1 1 of the next key next to the current one) and remove the old one after"
	}
	return ""
}
