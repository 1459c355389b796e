package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/rollout"
	"github.com/ststack/ststack/internal/sample"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
	"github.com/ststack/ststack/internal/triage"
)

// What the pages and the JSON API show. The JSON field names are the
// documented API (docs/dashboard.md): add fields, never rename them.

// Overview is every configured domain's health at a glance.
type Overview struct {
	Organization string    `json:"organization"`
	GeneratedAt  time.Time `json:"generated_at"`
	Today        store.Day `json:"today"`
	// SampleData is true while sample reports are stored.
	SampleData bool           `json:"sample_data"`
	Domains    []DomainStatus `json:"domains"`
	// Last7Days and Last30Days sum every domain.
	Last7Days  Window `json:"last_7_days"`
	Last30Days Window `json:"last_30_days"`
}

// DomainStatus is one row of the overview.
type DomainStatus struct {
	Domain      string        `json:"domain"`
	Mode        mtasts.Mode   `json:"mode"`
	DNS         string        `json:"dns"` // "route53" or "external"
	Check       *CheckSummary `json:"check"`
	Certificate Certificate   `json:"certificate"`
	Last7Days   Window        `json:"last_7_days"`
	Last30Days  Window        `json:"last_30_days"`
	Readiness   Readiness     `json:"readiness"`
	// Conflicting counts the reports of the last 30 days that have a
	// second, different body under one identity (left out of the sums
	// unless reporting.count.conflicting).
	Conflicting int `json:"conflicting"`
	// Rollout is the domain's rollout stage and next step (rollout.go).
	Rollout *RolloutStatus `json:"rollout"`
}

// Window is the report volume of a day range.
type Window struct {
	DayRange
	Reports int   `json:"reports"`
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
	// FailureRate is Failure/(Success+Failure); null without sessions.
	FailureRate *float64 `json:"failure_rate"`
}

func (w *Window) add(f store.Fact) {
	if f.Day < w.From || f.Day > w.To {
		return
	}
	w.Reports++
	w.Success = store.AddSat(w.Success, f.Success)
	w.Failure = store.AddSat(w.Failure, f.Failure)
}

func (w *Window) finish() {
	w.FailureRate = failureRate(w.Success, w.Failure)
}

// failureRate is failure/(success+failure), nil without sessions. The sum
// is taken in float64: saturated counts (math.MaxInt64 each) would
// overflow as int64.
func failureRate(success, failure int64) *float64 {
	if success <= 0 && failure <= 0 {
		return nil
	}
	r := float64(failure) / (float64(success) + float64(failure))
	return &r
}

// Check statuses: the worst severity among the latest check's findings.
const (
	StatusOK      = "ok"
	StatusWarning = "warning"
	StatusError   = "error"
)

// CheckSummary is the gist of a domain's latest check.
type CheckSummary struct {
	CheckedAt time.Time `json:"checked_at"`
	// Status is StatusOK (only news), StatusWarning or StatusError.
	Status   string `json:"status"`
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
	// Worst is the first finding of the worst severity; null when Status
	// is StatusOK.
	Worst *health.Finding `json:"worst"`
}

func summarizeCheck(r health.Result) *CheckSummary {
	s := &CheckSummary{CheckedAt: r.CheckedAt, Status: StatusOK,
		Errors: r.Count(health.SeverityError), Warnings: r.Count(health.SeverityWarning)}
	if f, ok := worstFinding(r.Findings); ok && f.Severity > health.SeverityInfo {
		s.Worst = &f
		s.Status = f.Severity.String()
	}
	return s
}

// worstFinding is the first finding of the highest severity.
func worstFinding(fs []health.Finding) (health.Finding, bool) {
	if len(fs) == 0 {
		return health.Finding{}, false
	}
	w := fs[0]
	for _, f := range fs[1:] {
		if f.Severity > w.Severity {
			w = f
		}
	}
	return w, true
}

// Certificate statuses of the mta-sts host, from the latest check.
const (
	CertOK       = "ok"       // valid, more than health.CertWarnDays days left
	CertExpiring = "expiring" // valid, fewer days left
	CertExpired  = "expired"  // expired or not yet valid
	CertInvalid  = "invalid"  // wrong name or untrusted
	CertUnknown  = "unknown"  // no check yet, or the host could not be reached
)

// Certificate is what the latest check says of the certificate of
// mta-sts.<domain>.
type Certificate struct {
	Status string `json:"status"`
	// DaysLeft counts whole days from now until the certificate expires,
	// rounded down (negative once expired), when the check recorded the
	// certificate; null otherwise.
	DaysLeft *int `json:"days_left"`
	// Expires is the UTC day the certificate expires when known.
	Expires string `json:"expires,omitempty"`
	Message string `json:"message"`
}

// certificateOf reads what the latest check r (nil: none) says of the
// certificate of host, at time now. The status is the check's verdict, from
// its findings about host; the days left count from now to the expiry the
// check recorded (checker.Result.Certificate).
func certificateOf(r *health.Result, host string, now time.Time) Certificate {
	if r == nil {
		return Certificate{Status: CertUnknown, Message: "no check yet"}
	}
	c, judged := certVerdict(r, host)
	if ci := r.Certificate; ci != nil && ci.Host == host {
		n := ci.DaysLeft(now)
		c.DaysLeft = &n
		c.Expires = ci.NotAfter.UTC().Format(time.DateOnly)
		if !judged {
			c = Certificate{Status: CertOK, DaysLeft: &n, Expires: c.Expires, Message: "valid until " + c.Expires}
		}
		return c
	}
	if judged {
		if c.Status == CertExpiring || c.Status == CertExpired {
			legacyExpiry(&c, now)
		}
		return c
	}
	if r.Has(health.CodePolicyFetchFailed) || r.Has(health.CodeDomainNXDomain) || r.Has(health.CodeDomainInvalid) {
		return Certificate{Status: CertUnknown, Message: "the last check could not reach " + host}
	}
	// A result without the certificate and without a finding about it.
	return Certificate{Status: CertOK, Message: fmt.Sprintf("valid, more than %d days left", health.CertWarnDays)}
}

// certVerdict is the status the first cert-* finding of r about host gives,
// with its message; judged is false when r has none.
func certVerdict(r *health.Result, host string) (c Certificate, judged bool) {
	for _, f := range r.Findings {
		if f.Subject != "" && f.Subject != host {
			continue
		}
		switch f.Code {
		case health.CodeCertExpiring:
			return Certificate{Status: CertExpiring, Message: f.Message}, true
		case health.CodeCertExpired:
			return Certificate{Status: CertExpired, Message: f.Message}, true
		case health.CodeCertNameMismatch, health.CodeCertUntrusted:
			return Certificate{Status: CertInvalid, Message: f.Message}, true
		}
	}
	return Certificate{}, false
}

// legacyDateRE finds the expiry date in the message of a cert-expiring or
// cert-expired finding: its last YYYY-MM-DD.
var legacyDateRE = regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})\b`)

// legacyExpiry sets the expiry of c from its message, for a check result
// stored before the checker recorded certificates: the day the message
// names, counted from its start.
func legacyExpiry(c *Certificate, now time.Time) {
	m := legacyDateRE.FindAllString(c.Message, -1)
	if len(m) == 0 {
		return
	}
	t, err := time.Parse(time.DateOnly, m[len(m)-1])
	if err != nil {
		return
	}
	n := health.CertInfo{NotAfter: t}.DaysLeft(now)
	c.DaysLeft, c.Expires = &n, m[len(m)-1]
}

// Readiness statuses.
const (
	ReadyYes      = "ready"     // mode testing, the checker says ready
	ReadyNo       = "not-ready" // mode testing, not yet
	ReadyEnforced = "enforced"  // mode enforce already
	ReadyNone     = "none"      // mode none: the policy is being retired
	ReadyUnknown  = "unknown"   // mode testing, no verdict yet
)

// Readiness says whether a domain can move from testing to enforce.
type Readiness struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func readinessOf(mode mtasts.Mode, r *health.Result) Readiness {
	switch mode {
	case mtasts.ModeEnforce:
		return Readiness{ReadyEnforced, "mode enforce"}
	case mtasts.ModeNone:
		return Readiness{ReadyNone, "mode none: senders drop the policy"}
	}
	if r != nil {
		for _, f := range r.Findings {
			switch f.Code {
			case health.CodeReadyToEnforce:
				return Readiness{ReadyYes, f.Message}
			case health.CodeNotReady:
				return Readiness{ReadyNo, f.Message}
			}
		}
	}
	return Readiness{ReadyUnknown, "no verdict: the checker decides once it has read reports"}
}

// DomainDetail is everything the domain page shows.
type DomainDetail struct {
	Domain string      `json:"domain"`
	Mode   mtasts.Mode `json:"mode"`
	DNS    DNSInfo     `json:"dns"`
	DayRange
	SampleData bool `json:"sample_data"`
	// Totals sum the range: the reports reporting.count counts.
	Totals Window `json:"totals"`
	// Conflicting counts the reports of the range with a second,
	// different body under one identity; Excluded those left out of
	// every sum by reporting.count.
	Conflicting int `json:"conflicting"`
	Excluded    int `json:"excluded"`
	// Daily has one entry per day of the range, oldest first.
	Daily []DayPoint `json:"daily"`
	// Failed sessions by result type, MX host, receiving and sending IP
	// ("" when reports did not say), largest first; sessions by
	// reporting organisation, most first.
	ByResultType   []store.Count     `json:"by_result_type"`
	ByOrganization []store.OrgTotals `json:"by_organization"`
	ByMXHost       []store.Count     `json:"by_mx_host"`
	ByReceivingIP  []store.Count     `json:"by_receiving_ip"`
	BySendingIP    []store.Count     `json:"by_sending_ip"`
	// Check is the latest check result, null before the first.
	Check       *health.Result `json:"check"`
	Certificate Certificate    `json:"certificate"`
	Readiness   Readiness      `json:"readiness"`
	Policy      PolicyInfo     `json:"policy"`
	Records     []DNSRecord    `json:"records"`
	// Delegation is set for a client domain by delegation (dns:
	// delegated): its phase and the client's records (delegation.go).
	Delegation *Delegation `json:"delegation,omitempty"`
	// Triage has a verdict with its evidence per cluster of failed
	// sessions of the range, judged against the latest check
	// (internal/triage; docs/checker.md, "Failure triage").
	Triage []triage.Cluster `json:"triage"`
	// Senders lists every organisation that reported the domain in the
	// last checker.silence.lookback_days days (not only the page's
	// range), most recently heard from first: its learned cadence, its
	// latest report and whether the checker calls it silent
	// (docs/checker.md, "Silent senders").
	Senders []SenderRow `json:"senders"`
	// Rollout is the domain's rollout stage, next step and its evidence
	// (`ststack plan`, docs/rollout.md; rollout.go).
	Rollout rollout.Step `json:"rollout"`
}

// SenderRow is one reporting organisation of a domain.
type SenderRow struct {
	store.Sender
	// Cadence says Interval in words ("every day").
	Cadence string `json:"cadence"`
	// Silent is true when the organisation reported regularly and has
	// sent nothing for longer than checker.silence allows.
	Silent bool `json:"silent"`
	// ReportsQuery lists its reports in the dashboard (/reports?…).
	ReportsQuery string `json:"reports_query"`
}

// DNSInfo says where a domain's records are published.
type DNSInfo struct {
	Kind         string `json:"kind"` // "route53", "external" or "delegated"
	HostedZoneID string `json:"hosted_zone_id,omitempty"`
	ZoneName     string `json:"zone_name,omitempty"`
}

func dnsOf(d config.Domain) DNSInfo {
	if d.DNS.External {
		return DNSInfo{Kind: "external"}
	}
	if d.DNS.Delegated {
		return DNSInfo{Kind: "delegated"}
	}
	return DNSInfo{Kind: "route53", HostedZoneID: d.DNS.HostedZoneID, ZoneName: d.DNS.ZoneName}
}

// DayPoint is one day of the daily series.
type DayPoint struct {
	Day     store.Day `json:"day"`
	Reports int       `json:"reports"`
	Success int64     `json:"success"`
	Failure int64     `json:"failure"`
}

// PolicyInfo is the policy as deployed.
type PolicyInfo struct {
	URL  string `json:"url"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// DNSRecord is one record the deployment publishes (or prints, for
// external DNS).
type DNSRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	Note  string `json:"note,omitempty"`
}

// ReportList is a page of the filtered report list.
type ReportList struct {
	Filter ReportFilter `json:"filter"`
	// Total is the number of reports matching the filter.
	Total   int         `json:"total"`
	Reports []ReportRow `json:"reports"`
}

// ReportRow is one report of the list. Success and Failure are summed over
// the domains listed (those of the filter).
type ReportRow struct {
	Key              string              `json:"key"`
	Organization     string              `json:"organization"`
	OrganizationName string              `json:"organization_name"`
	ReportID         string              `json:"report_id"`
	Day              store.Day           `json:"day"`
	Start            time.Time           `json:"start"`
	End              time.Time           `json:"end"`
	Domains          []string            `json:"domains"`
	Success          int64               `json:"success"`
	Failure          int64               `json:"failure"`
	ResultTypes      []tlsrpt.ResultType `json:"result_types"`
	Sample           bool                `json:"sample"`
	// Provenance is how far the report is authenticated (store.Receipt
	// .Provenance; "" for reports stored before it was recorded);
	// Conflict is true when another body holds the same identity.
	Provenance string `json:"provenance"`
	Conflict   bool   `json:"conflict"`
}

// ReportView is one stored report.
type ReportView struct {
	// Report is the stored record (package store's JSON form).
	Report store.Receipt `json:"report"`
	Sample bool          `json:"sample"`
	// Normalised is the raw body parsed and written back in the form of
	// RFC 8460 §4.4 (UTC dates, canonical IPs, lower-case names); null
	// when the stored body no longer parses (ParseError says why). The
	// JSON names keep the spelling the API documents (docs/dashboard.md);
	// identifiers in code are British, as the docs.
	Normalised json.RawMessage `json:"normalized"`
	ParseError string          `json:"parse_error,omitempty"`
	// NormalisedOmitted says why normalized is null for a report too
	// large to show (maxViewJSON); the raw body is still at RawURL.
	NormalisedOmitted string `json:"normalized_omitted,omitempty"`
	RawURL            string `json:"raw_url"`
	parsed            *tlsrpt.Report
}

// model computes what the pages and the API show from the store.
type model struct {
	cfg       *config.Config
	st        Store
	delegated DelegationStates // nil: none
	ruaHTTPS  string
	now       func() time.Time

	sampleMu    sync.Mutex
	sampleUntil time.Time
	sampleSeen  bool
}

// workers bounds the store reads run at once.
const workers = 8

// eachDomain runs fn for every domain, at most workers at once, and
// returns the first error.
func eachDomain(ctx context.Context, domains []config.Domain, fn func(ctx context.Context, i int, d config.Domain) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, workers)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i, d := range domains {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ctx.Err() != nil {
				return
			}
			if err := fn(ctx, i, d); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

func (m *model) today() store.Day { return store.DayOf(m.now()) }

// counting is what the sums count: the organisation file's reporting.count.
func (m *model) counting() store.Counting {
	return store.Counting{Provenances: m.cfg.Reporting.Count.Provenances, Conflicting: m.cfg.Reporting.Count.Conflicting}
}

// counts reports whether the sums count fact f.
func (m *model) counts(f store.Fact) bool { return m.counting().Counts(f) }

// last returns the latest check of domain, nil when none.
func (m *model) last(ctx context.Context, domain string) (*health.Result, error) {
	r, ok, err := m.st.Last(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("last check of %s: %w", domain, err)
	}
	if !ok {
		return nil, nil
	}
	return &r, nil
}

func (m *model) facts(ctx context.Context, domain string, r DayRange) ([]store.Fact, error) {
	f, err := m.st.Facts(ctx, domain, r.From, r.To)
	if err != nil {
		return nil, fmt.Errorf("facts of %s: %w", domain, err)
	}
	return f, nil
}

// sampleTTL is how long the answer of hasSample is reused.
const sampleTTL = time.Minute

// hasSample reports whether sample reports are stored: whether a sample
// report (sample.IsSample) is summed in the last
// DefaultRangeDays days of any domain, from the day sums (daySums), as the
// overview shows them.
func (m *model) hasSample(ctx context.Context) (bool, error) {
	m.sampleMu.Lock()
	if time.Now().Before(m.sampleUntil) {
		seen := m.sampleSeen
		m.sampleMu.Unlock()
		return seen, nil
	}
	m.sampleMu.Unlock()
	r := lastDays(m.today(), DefaultRangeDays)
	var mu sync.Mutex
	seen := false
	err := eachDomain(ctx, m.cfg.Domains, func(ctx context.Context, _ int, d config.Domain) error {
		mu.Lock()
		done := seen
		mu.Unlock()
		if done {
			return nil
		}
		sums, err := m.daySums(ctx, d.Name, r)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(sums, isSampleSum) {
			mu.Lock()
			seen = true
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	m.noteSample(seen)
	return seen, nil
}

func (m *model) noteSample(seen bool) {
	m.sampleMu.Lock()
	defer m.sampleMu.Unlock()
	m.sampleSeen, m.sampleUntil = seen, time.Now().Add(sampleTTL) // the real clock: a cache
}

func isSampleFact(f store.Fact) bool { return sample.IsSample(f.OrganizationName, f.ReportID) }

// isSampleSum reports whether sample reports are stored for the day.
func isSampleSum(s store.DaySum) bool { return s.SampleReports > 0 }

// liveDays is how many days, today included, are summed from the facts on
// every view: reports about a day mostly arrive the day after, so the days
// before are complete and their sums are derived once and stored
// (store.DaySum; a late report makes the store derive them again).
const liveDays = 2

// daySums reads the day sums of domain over r.
func (m *model) daySums(ctx context.Context, domain string, r DayRange) ([]store.DaySum, error) {
	sums, err := m.st.DaySums(ctx, domain, r.From, r.To, m.today().AddDays(-liveDays))
	if err != nil {
		return nil, fmt.Errorf("day sums of %s: %w", domain, err)
	}
	return sums, nil
}

// addCount adds the counted reports of one day to w.
func (w *Window) addCount(day store.Day, c store.DayCount) {
	if day < w.From || day > w.To {
		return
	}
	w.Reports += c.Reports
	w.Success = store.AddSat(w.Success, c.Success)
	w.Failure = store.AddSat(w.Failure, c.Failure)
}

// overview reads the day sums of the last 30 days of every domain (one
// small item per day, not every report) and its latest check.
func (m *model) overview(ctx context.Context) (*Overview, error) {
	now := m.now()
	today := store.DayOf(now)
	w7, w30 := lastDays(today, 7), lastDays(today, 30)
	o := &Overview{Organization: m.cfg.Organization, GeneratedAt: now.UTC(), Today: today,
		Domains:   make([]DomainStatus, len(m.cfg.Domains)),
		Last7Days: Window{DayRange: w7}, Last30Days: Window{DayRange: w30}}
	sampleSeen := make([]bool, len(m.cfg.Domains))
	counting := m.counting()
	err := eachDomain(ctx, m.cfg.Domains, func(ctx context.Context, i int, d config.Domain) error {
		sums, err := m.daySums(ctx, d.Name, w30)
		if err != nil {
			return err
		}
		chk, err := m.last(ctx, d.Name)
		if err != nil {
			return err
		}
		s := DomainStatus{Domain: d.Name, Mode: d.Policy.Mode, DNS: dnsOf(d).Kind,
			Certificate: certificateOf(chk, d.PolicyHost(), now),
			Readiness:   readinessOf(d.Policy.Mode, chk),
			Last7Days:   Window{DayRange: w7}, Last30Days: Window{DayRange: w30}}
		if chk != nil {
			s.Check = summarizeCheck(*chk)
		}
		for _, ds := range sums {
			c := ds.Counted(counting)
			s.Conflicting += c.Conflicting
			s.Last7Days.addCount(ds.Day, c)
			s.Last30Days.addCount(ds.Day, c)
		}
		s.Last7Days.finish()
		s.Last30Days.finish()
		step, err := m.rolloutStep(ctx, d, sums, w30.From, w30.To, chk) // rollout.go
		if err != nil {
			return err
		}
		s.Rollout = statusOf(step)
		o.Domains[i] = s
		sampleSeen[i] = slices.ContainsFunc(sums, isSampleSum)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range o.Domains {
		for _, p := range []struct{ sum, w *Window }{{&o.Last7Days, &s.Last7Days}, {&o.Last30Days, &s.Last30Days}} {
			p.sum.Reports += p.w.Reports
			p.sum.Success = store.AddSat(p.sum.Success, p.w.Success)
			p.sum.Failure = store.AddSat(p.sum.Failure, p.w.Failure)
		}
	}
	o.Last7Days.finish()
	o.Last30Days.finish()
	// The overview read every domain's last DefaultRangeDays days: what
	// hasSample would read.
	o.SampleData = slices.Contains(sampleSeen, true)
	m.noteSample(o.SampleData)
	return o, nil
}

// domain reads the domain page of d over r.
func (m *model) domain(ctx context.Context, d config.Domain, r DayRange) (*DomainDetail, error) {
	facts, err := m.facts(ctx, d.Name, r)
	if err != nil {
		return nil, err
	}
	chk, err := m.last(ctx, d.Name)
	if err != nil {
		return nil, err
	}
	sum := store.SummarizeCounting(d.Name, r.From, r.To, facts, m.counting())
	dd := &DomainDetail{
		Domain: d.Name, Mode: d.Policy.Mode, DNS: dnsOf(d), DayRange: r,
		Totals:         Window{DayRange: r},
		ByResultType:   sum.ByResultType,
		ByOrganization: sum.ByOrganization,
		ByMXHost:       sum.ByMXHost,
		ByReceivingIP:  sum.ByReceivingIP,
		BySendingIP:    sum.BySendingIP,
		Check:          chk,
		Certificate:    certificateOf(chk, d.PolicyHost(), m.now()),
		Readiness:      readinessOf(d.Policy.Mode, chk),
		Policy: PolicyInfo{URL: "https://" + d.PolicyHost() + "/.well-known/mta-sts.txt",
			ID: d.Policy.ID(), Text: d.PolicyText()},
		Records:     m.records(d),
		Conflicting: sum.Conflicting,
		Excluded:    sum.Excluded,
	}
	byDay := make(map[store.Day]*DayPoint, r.Days())
	dd.Daily = make([]DayPoint, r.Days())
	for i := range dd.Daily {
		dd.Daily[i].Day = r.From.AddDays(i)
		byDay[dd.Daily[i].Day] = &dd.Daily[i]
	}
	for _, f := range facts {
		if !m.counts(f) {
			continue
		}
		dd.Totals.add(f)
		if p := byDay[f.Day]; p != nil {
			p.Reports++
			p.Success = store.AddSat(p.Success, f.Success)
			p.Failure = store.AddSat(p.Failure, f.Failure)
		}
	}
	dd.Totals.finish()
	dd.Triage = triage.Triage(triage.Input{Domain: d.Name, Facts: facts, Counting: m.counting(), Check: chk}, triage.Default)
	if dd.Senders, err = m.senders(ctx, d.Name); err != nil {
		return nil, err
	}
	if dd.Rollout, err = m.rolloutStep(ctx, d, nil, "", "", chk); err != nil { // rollout.go
		return nil, err
	}
	if dd.Delegation, err = m.delegation(ctx, d, chk); err != nil {
		return nil, err
	}
	if dd.SampleData, err = m.hasSample(ctx); err != nil {
		return nil, err
	}
	return dd, nil
}

// senders lists the organisations that reported domain over the silence
// lookback, read from the day sums (store.ReadSenders), judged as the
// checker judges them.
func (m *model) senders(ctx context.Context, domain string) ([]SenderRow, error) {
	c := m.cfg.Checker
	today := m.today()
	r := DayRange{From: today.AddDays(-(max(c.SilenceLookbackDays, 1) - 1)), To: today}
	ss, err := store.ReadSenders(ctx, m.st, domain, r.From, r.To, today.AddDays(-liveDays))
	if err != nil {
		return nil, err
	}
	sil := store.Silence{SenderAfter: time.Duration(c.SilenceSenderDays) * 24 * time.Hour,
		MinReports: store.DefaultSilenceMinReports, MaxInterval: store.DefaultSilenceMaxInterval}
	rows := make([]SenderRow, len(ss))
	for i, s := range ss {
		q := ReportFilter{DayRange: r, Domain: domain, Organization: s.Organization, Limit: DefaultLimit}
		rows[i] = SenderRow{Sender: s, Cadence: store.Cadence(s.Interval), Silent: sil.SilentSender(s, m.now()),
			ReportsQuery: q.values().Encode()}
	}
	return rows, nil
}

// records are the DNS records published for d.
func (m *model) records(d config.Domain) []DNSRecord {
	tr := DNSRecord{Name: "_smtp._tls." + d.Name, Type: "TXT", Value: m.cfg.TLSRPTRecord(m.ruaHTTPS).String()}
	if m.cfg.Reporting.HTTPS && m.ruaHTTPS == "" {
		tr.Note = "the deployment also lists its https report endpoint first"
	}
	alias := DNSRecord{Name: d.PolicyHost(), Type: "A, AAAA", Value: "alias of the CloudFront distribution"}
	if d.DNS.External {
		alias = DNSRecord{Name: d.PolicyHost(), Type: "CNAME", Value: "the CloudFront distribution's domain name",
			Note: "external DNS: create these records yourself (ststack prints them at deploy)"}
	}
	if del, ok := m.cfg.Delegated(d); ok {
		// Published in the operator's zone; the client's CNAMEs lead there.
		sts := DNSRecord{Name: del.STS.Target, Type: "TXT", Value: d.STSRecord().String(), Note: "reached through " + del.STS.Name}
		tr.Name, tr.Note = del.TLSRPT.Target, "reached through "+del.TLSRPT.Name
		return []DNSRecord{sts, tr,
			{Name: del.PolicyHost.Target, Type: "CNAME", Value: "the CloudFront routing endpoint", Note: "reached through " + del.PolicyHost.Name}}
	}
	return []DNSRecord{
		{Name: "_mta-sts." + d.Name, Type: "TXT", Value: d.STSRecord().String()},
		tr,
		alias,
	}
}

// reports lists the reports matching f.
func (m *model) reports(ctx context.Context, f ReportFilter) (*ReportList, error) {
	domains := m.cfg.Domains
	if f.Domain != "" {
		d, _ := m.cfg.Domain(f.Domain)
		domains = []config.Domain{d}
	}
	all := make([][]store.Fact, len(domains))
	err := eachDomain(ctx, domains, func(ctx context.Context, i int, d config.Domain) error {
		facts, err := m.facts(ctx, d.Name, f.DayRange)
		all[i] = facts
		return err
	})
	if err != nil {
		return nil, err
	}
	rows := map[string]*ReportRow{}
	types := map[string]map[tlsrpt.ResultType]bool{}
	for _, facts := range all {
		for _, fa := range facts {
			r := rows[fa.ReportKey]
			if r == nil {
				r = &ReportRow{Key: fa.ReportKey, Organization: fa.Organization, OrganizationName: fa.OrganizationName,
					ReportID: fa.ReportID, Day: fa.Day, Start: fa.Start, End: fa.End,
					Sample: isSampleFact(fa), ResultTypes: []tlsrpt.ResultType{},
					Provenance: fa.Provenance, Conflict: fa.Conflict}
				rows[fa.ReportKey] = r
				types[fa.ReportKey] = map[tlsrpt.ResultType]bool{}
			}
			r.Domains = append(r.Domains, fa.Domain)
			r.Success = store.AddSat(r.Success, fa.Success)
			r.Failure = store.AddSat(r.Failure, fa.Failure)
			for _, fc := range fa.Failures {
				if fc.Count > 0 {
					types[fa.ReportKey][fc.ResultType] = true
				}
			}
		}
	}
	l := &ReportList{Filter: f, Reports: []ReportRow{}}
	var keep []*ReportRow
	for key, r := range rows {
		for t := range types[key] {
			r.ResultTypes = append(r.ResultTypes, t)
		}
		slices.Sort(r.ResultTypes)
		slices.Sort(r.Domains)
		switch {
		case f.FailuresOnly && r.Failure == 0,
			f.Organization != "" && !strings.Contains(r.Organization, f.Organization),
			f.ResultType != "" && !types[key][tlsrpt.ResultType(f.ResultType)]:
			continue
		}
		keep = append(keep, r)
	}
	slices.SortFunc(keep, func(a, b *ReportRow) int {
		return cmp.Or(b.Start.Compare(a.Start), cmp.Compare(a.Organization, b.Organization), cmp.Compare(a.Key, b.Key))
	})
	l.Total = len(keep)
	for _, r := range keep[min(f.Offset, len(keep)):min(f.Offset+f.Limit, len(keep))] {
		l.Reports = append(l.Reports, *r)
	}
	return l, nil
}

// maxViewJSON bounds what a view of one report parses again and sends: the
// report's JSON (inflated) size. Parsing stays within the limits of
// ingestion (tlsrpt.DefaultLimits, which every stored report passed) with a
// smaller size: real reports are a few KB, and a larger one is shown by its
// stored record and raw body, so a view costs bounded memory and its
// response is bounded (the normalised JSON is at most the report's JSON
// with strings escaped, here also cut at 2 × maxViewJSON).
const maxViewJSON = 4 << 20

// viewLimits are the limits a view parses a stored body with.
func viewLimits() tlsrpt.Limits {
	lim := tlsrpt.DefaultLimits()
	lim.MaxDecompressed = maxViewJSON
	return lim
}

// report reads one report, its record and its raw body parsed again.
func (m *model) report(ctx context.Context, key string) (*ReportView, error) {
	rec, err := m.st.Report(ctx, key)
	if err != nil {
		return nil, err
	}
	v := &ReportView{Report: rec, Sample: sample.IsSample(rec.OrganizationName, rec.ReportID),
		RawURL: apiPrefix + "/reports/" + key + "/raw"}
	raw, err := m.st.Raw(ctx, key)
	if err != nil {
		return nil, err
	}
	p, err := tlsrpt.ParseReport(raw, viewLimits())
	omitted := fmt.Sprintf("the report's JSON is over %d MiB, too large to show here; download it as received", maxViewJSON>>20)
	switch {
	case errors.Is(err, tlsrpt.ErrTooLarge):
		v.NormalisedOmitted = omitted
		return v, nil
	case err != nil:
		v.ParseError = err.Error()
		return v, nil
	}
	js, err := p.JSON()
	switch {
	case err != nil:
		v.ParseError = err.Error()
		return v, nil
	case len(js) > 2*maxViewJSON:
		v.NormalisedOmitted = omitted
		return v, nil
	}
	v.Normalised, v.parsed = js, p
	return v, nil
}
