// Package sample makes the sample data of `ststack serve --sample-data`:
// realistic SMTP TLS reports (RFC 8460) and check results for the domains of
// an organisation file, so that a newcomer sees a populated dashboard with one
// command (`make run`).
//
// Everything is derived deterministically from a seed and the day: the same
// seed gives byte-identical reports for a given day, whatever day the data
// is generated on, so loading twice (or on consecutive days) stores nothing
// twice. Reports are ingested through package ingest, the path real reports
// take.
//
// Sample data is marked as such where a reader looks: every organisation
// name ends in Marker ("(sample)"), every report-id starts with
// ReportIDPrefix ("sample-"), every contact is at the reserved .invalid
// top-level domain, and every check finding's message starts with
// "sample: ". IsSample recognises a sample report from its organisation name
// and report-id. Addresses come from the documentation ranges 192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and 2001:db8::/32 (RFC 3849).
package sample

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Markers of sample data.
const (
	// Marker ends the organisation name of every sample report.
	Marker = store.SampleMarker
	// ReportIDPrefix starts the report-id of every sample report.
	ReportIDPrefix = store.SampleReportIDPrefix
	// messagePrefix starts the message of every sample check finding.
	messagePrefix = "sample: "
)

// Defaults of Options.
const (
	DefaultSeed = 8460
	DefaultDays = 30
	// MaxDays bounds Options.Days.
	MaxDays = 366
)

// Options say what to generate. The zero value gives DefaultDays days of
// DefaultSeed ending yesterday.
type Options struct {
	// Seed selects the data set (0: DefaultSeed).
	Seed uint64
	// Days is the number of days with reports (0: DefaultDays; at most
	// MaxDays).
	Days int
	// End is within the last day with reports (UTC); zero: the day before
	// Now.
	End time.Time
	// Now is the clock (nil: time.Now); only used when End is zero.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Days <= 0 {
		o.Days = DefaultDays
	}
	o.Days = min(o.Days, MaxDays)
	if o.End.IsZero() {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		o.End = now().UTC().AddDate(0, 0, -1)
	}
	return o
}

// days returns the days with reports, oldest first.
func (o Options) days() []store.Day {
	last := store.DayOf(o.End)
	l := make([]store.Day, o.Days)
	for i := range l {
		l[i] = last.AddDays(i - o.Days + 1)
	}
	return l
}

// IsSample reports whether a report with this organisation name and
// report-id is sample data.
func IsSample(organizationName, reportID string) bool {
	return store.IsSampleReport(organizationName, reportID)
}

// reporter is a sending organisation of the sample data.
type reporter struct {
	name, slug string
	// volume is its sessions per day for the largest domain.
	volume int64
	// sendingIPs are its outbound MTAs.
	sendingIPs []string
}

var reporters = []reporter{
	{"Google LLC " + Marker, "google", 1400, []string{"203.0.113.10", "203.0.113.11", "2001:db8:10::25"}},
	{"Microsoft Corporation " + Marker, "microsoft", 600, []string{"198.51.100.40", "198.51.100.41", "2001:db8:40::25"}},
	{"Yahoo Inc. " + Marker, "yahoo", 140, []string{"203.0.113.70"}},
}

// plan is what the sample data does with the domains of a configuration.
type plan struct {
	domains []config.Domain
	// failing is the index of the domain whose reports have sts failures:
	// the first in mode enforce, else the second, else the only one.
	failing int
	// expiring is the index of the domain whose check finds a certificate
	// about to expire, -1 for none.
	expiring int
}

func newPlan(cfg *config.Config) plan {
	p := plan{domains: cfg.Domains, failing: -1, expiring: -1}
	for i, d := range cfg.Domains {
		if d.Policy.Mode == mtasts.ModeEnforce {
			p.failing = i
			break
		}
	}
	if p.failing < 0 {
		p.failing = min(1, len(cfg.Domains)-1)
	}
	if n := len(cfg.Domains); n > 1 && n-1 != p.failing {
		p.expiring = n - 1
	}
	return p
}

// mxHosts returns two MX host names matching the policy of d (a wildcard
// pattern gets mx1 and mx2 as its label), or of the domain itself for a
// policy without mx.
func mxHosts(d config.Domain) []string {
	var hosts []string
	for _, m := range d.Policy.MX {
		if m.Wildcard {
			hosts = append(hosts, "mx1."+m.Domain, "mx2."+m.Domain)
		} else {
			hosts = append(hosts, m.Domain)
		}
	}
	if len(hosts) == 0 {
		hosts = []string{"mx1." + d.Name, "mx2." + d.Name}
	}
	return hosts[:min(len(hosts), 2)]
}

// receivingIP is the documentation address of the i-th MX host of domain
// number n: IPv4 for the first host, IPv6 for the others.
func receivingIP(n, i int) string {
	if i == 0 {
		return fmt.Sprintf("192.0.2.%d", 10+n*10)
	}
	return fmt.Sprintf("2001:db8:%x::%d", 0x100+n, 25+i)
}

// rng returns the generator of one (reporter, domain, day): a function of
// the seed and those three only.
func rng(seed uint64, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// between returns a number in [lo, hi].
func between(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }

// Reports returns the sample reports for the domains of cfg: one report per
// reporting organisation, domain and day (the smallest reporter skips some
// days of the smaller domains), oldest day first.
func Reports(cfg *config.Config, o Options) []*tlsrpt.Report {
	o = o.withDefaults()
	p := newPlan(cfg)
	var out []*tlsrpt.Report
	days := o.days()
	for _, day := range days {
		for _, rep := range reporters {
			for n, d := range p.domains {
				if r := report(o.Seed, p, rep, n, d, day); r != nil {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// report is the report of rep about domain number n, d, for day; nil when
// rep sends none that day.
func report(seed uint64, p plan, rep reporter, n int, d config.Domain, day store.Day) *tlsrpt.Report {
	r := rng(seed, rep.slug, d.Name, string(day))
	if n > 0 && rep.volume < 200 && r.IntN(100) < 15 {
		return nil
	}
	// Volume falls with the domain's rank, dips at weekends, varies ±20%.
	volume := float64(rep.volume) / float64((n+1)*(n+1))
	if wd := day.Time().Weekday(); wd == time.Saturday || wd == time.Sunday {
		volume *= 0.6
	}
	volume *= 0.8 + 0.4*r.Float64()
	sessions := max(int64(volume), 1)

	hosts := mxHosts(d)
	pr := tlsrpt.PolicyResult{
		Type:          tlsrpt.PolicyTypeSTS,
		Domain:        d.Name,
		PolicyStrings: strings.Split(strings.TrimRight(d.PolicyText(), "\r\n"), "\r\n"),
		MXHosts:       policyMX(d),
	}
	if n == p.failing {
		pr.Failures = failures(r, rep, n, hosts, day)
	}
	for _, f := range pr.Failures {
		pr.Failure += f.Count
	}
	pr.Success = max(sessions-pr.Failure, 0)
	start := day.Time()
	return &tlsrpt.Report{
		OrganizationName: rep.name,
		ContactInfo:      "tlsrpt@" + rep.slug + ".sample.invalid",
		ReportID:         fmt.Sprintf("%s%s-%s-%s", ReportIDPrefix, rep.slug, day, d.Name),
		Start:            start,
		End:              start.Add(24*time.Hour - time.Second),
		Policies:         []tlsrpt.PolicyResult{pr},
	}
}

// policyMX is the mx-host list of a report: the policy's mx patterns.
func policyMX(d config.Domain) []string {
	l := make([]string, len(d.Policy.MX))
	for i, m := range d.Policy.MX {
		l[i] = m.String()
	}
	return l
}

// failures are the failure details of the failing domain for one report:
// an expired certificate on the second MX host four days in every thirty,
// and scattered failures of other result types.
func failures(r *rand.Rand, rep reporter, n int, hosts []string, day store.Day) []tlsrpt.FailureDetail {
	scale := max(rep.volume/100, 1)
	second := hosts[len(hosts)-1]
	var l []tlsrpt.FailureDetail
	sip := rep.sendingIPs[r.IntN(len(rep.sendingIPs))]
	// Counted in days since the epoch, so that the incident falls on the
	// same dates whatever day the data is generated on.
	if k := int(day.Time().Unix()/86400) % 30; k >= 16 && k <= 19 {
		l = append(l, tlsrpt.FailureDetail{
			ResultType: tlsrpt.ResultCertificateExpired, SendingMTAIP: sip,
			ReceivingMXHostname: second, ReceivingIP: receivingIP(n, len(hosts)-1),
			Count: between(r, 2*scale, 4*scale), ReasonCode: "X509_V_ERR_CERT_HAS_EXPIRED",
		})
	}
	if r.IntN(100) < 25 {
		l = append(l, tlsrpt.FailureDetail{
			ResultType: tlsrpt.ResultSTARTTLSNotSupported, SendingMTAIP: sip,
			ReceivingMXHostname: hosts[0], ReceivingIP: receivingIP(n, 0),
			Count: between(r, 1, 3), ReasonCode: "starttls: 454 4.7.0 TLS not available",
		})
	}
	if rep.slug == "microsoft" && r.IntN(100) < 15 {
		// Like Mail.ru's reports: no IP addresses, no MX host name.
		l = append(l, tlsrpt.FailureDetail{
			ResultType: tlsrpt.ResultSTSPolicyFetchError,
			Count:      between(r, 1, 2), ReasonCode: "policy fetch: connection timed out",
		})
	}
	if rep.slug == "yahoo" && r.IntN(100) < 20 {
		l = append(l, tlsrpt.FailureDetail{
			ResultType: tlsrpt.ResultValidationFailure, SendingMTAIP: sip,
			ReceivingMXHostname: hosts[0], ReceivingIP: receivingIP(n, 0),
			Count: 1, ReasonCode: "unable to get local issuer certificate",
		})
	}
	if rep.slug == "google" && r.IntN(100) < 10 {
		l = append(l, tlsrpt.FailureDetail{
			ResultType: tlsrpt.ResultCertificateHostMismatch, SendingMTAIP: sip,
			ReceivingMXHostname: second, ReceivingIP: receivingIP(n, len(hosts)-1),
			Count: between(r, 1, 2), ReasonCode: "certificate is for mail.example.net",
		})
	}
	return l
}

// Checks returns a sample check result for each domain of cfg, as the
// checker would have found on the last day of the data: the sts failures
// of the reports, readiness for domains in mode testing (with the
// thresholds of cfg.Checker), the certificate of every policy host and,
// for one domain, a certificate about to expire.
func Checks(cfg *config.Config, o Options) []health.Result {
	o = o.withDefaults()
	p := newPlan(cfg)
	window := cfg.Checker.ReadinessWindowDays
	if window <= 0 {
		window = 14
	}
	minSessions := cfg.Checker.ReadinessMinSessions
	if minSessions <= 0 {
		minSessions = 100
	}
	last := store.DayOf(o.End)
	from := last.AddDays(1 - window)
	type sums struct {
		success, failure int64
		byType           map[tlsrpt.ResultType]int64
	}
	per := map[string]*sums{}
	for _, r := range Reports(cfg, o) {
		if store.DayOf(r.Start) < from {
			continue
		}
		for _, pr := range r.Policies {
			s := per[pr.Domain]
			if s == nil {
				s = &sums{byType: map[tlsrpt.ResultType]int64{}}
				per[pr.Domain] = s
			}
			s.success += pr.Success
			s.failure += pr.Failure
			for _, f := range pr.Failures {
				s.byType[f.ResultType] += f.Count
			}
		}
	}
	checkedAt := last.Time().Add(23 * time.Hour)
	out := make([]health.Result, len(p.domains))
	for i, d := range p.domains {
		res := health.Result{Domain: d.Name, CheckedAt: checkedAt, Mode: d.Policy.Mode, Findings: []health.Finding{},
			Certificate: sampleCert(d.PolicyHost(), checkedAt, i)}
		if i == p.expiring {
			exp := checkedAt.AddDate(0, 0, 12)
			res.Certificate.NotBefore = exp.AddDate(0, 0, -certLifetimeDays)
			res.Certificate.NotAfter = exp
			res.Findings = append(res.Findings, health.Finding{
				Severity: health.SeverityWarning, Code: health.CodeCertExpiring, Subject: d.PolicyHost(),
				Message: fmt.Sprintf("%scertificate of %s expires in %d days (%s)", messagePrefix, d.PolicyHost(), 12, exp.Format(time.DateOnly)),
				Remedy:  "renew the certificate of " + d.PolicyHost(),
			})
		}
		s := per[d.Name]
		if s == nil {
			s = &sums{}
		}
		if s.failure > 0 {
			sev := health.SeverityWarning
			if d.Policy.Mode == mtasts.ModeEnforce {
				sev = health.SeverityError
			}
			res.Findings = append(res.Findings, health.Finding{
				Severity: sev, Code: health.CodeReportsSTSFailures,
				Message: fmt.Sprintf("%ssenders reported %d failed of %d sessions under the sts policy in the last %d days (%s)",
					messagePrefix, s.failure, s.success+s.failure, window, typeList(s.byType)),
				Remedy: "fix what the result types say on the MX hosts named",
			})
		}
		if d.Policy.Mode == mtasts.ModeTesting {
			if total := s.success + s.failure; s.failure == 0 && total >= minSessions {
				res.Findings = append(res.Findings, health.Finding{
					Severity: health.SeverityInfo, Code: health.CodeReadyToEnforce,
					Message: fmt.Sprintf("%sready to enforce: %d sessions under the sts policy in %d days had no failure", messagePrefix, total, window),
					Remedy:  "set mode: enforce for the domain and deploy",
				})
			} else {
				res.Findings = append(res.Findings, health.Finding{
					Severity: health.SeverityInfo, Code: health.CodeNotReady,
					Message: fmt.Sprintf("%snot ready to enforce: %d sessions, %d failed, in %d days (%d needed, none failed)",
						messagePrefix, total, s.failure, window, minSessions),
					Remedy: "fix the errors and wait for more reports without sts failures",
				})
			}
		}
		out[i] = res
	}
	return out
}

// certLifetimeDays is the validity period of an ACM certificate (13
// months), as CloudFront serves the policy hosts' certificates.
const certLifetimeDays = 395

// sampleCert is the certificate the i-th domain's policy host presents at
// checkedAt: issued 30 to 330 days before, so valid for more than
// checker.CertWarnDays days still.
func sampleCert(host string, checkedAt time.Time, i int) *health.CertInfo {
	from := checkedAt.Truncate(24*time.Hour).AddDate(0, 0, -30-(47*i)%300)
	return &health.CertInfo{Host: host, NotBefore: from, NotAfter: from.AddDate(0, 0, certLifetimeDays).Add(-time.Second)}
}

// typeList lists failed sessions by result type in result-type order.
func typeList(m map[tlsrpt.ResultType]int64) string {
	var parts []string
	for _, t := range []tlsrpt.ResultType{
		tlsrpt.ResultCertificateExpired, tlsrpt.ResultCertificateHostMismatch,
		tlsrpt.ResultSTARTTLSNotSupported, tlsrpt.ResultSTSPolicyFetchError, tlsrpt.ResultValidationFailure,
	} {
		if m[t] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, m[t]))
		}
	}
	return "by result type: " + strings.Join(parts, ", ")
}

// Ingester stores one report: *ingest.Ingester. Ingest parses data (gzip
// or JSON) received by channel and stores it, idempotently; an error means
// it is not stored.
type Ingester interface {
	Ingest(ctx context.Context, data []byte, channel string) (ingest.Result, error)
}

// Loaded says what Load did.
type Loaded struct {
	// Reports is the number of sample reports; Created how many of them
	// were not stored before.
	Reports, Created int
	// Checks is the number of check results saved.
	Checks int
}

// History saves check results: the Save of checker.History (both stores
// have it). Save stores r as the latest result of r.Domain unless a later
// one is kept.
type History interface {
	Save(ctx context.Context, r health.Result) error
}

// Load ingests the sample reports through in, gzip-compressed as real
// senders post them, and saves the sample check results into h (none when
// h is nil). Loading the same data again stores nothing new.
func Load(ctx context.Context, in Ingester, h History, cfg *config.Config, o Options) (Loaded, error) {
	if len(cfg.Domains) == 0 {
		return Loaded{}, errors.New("sample: the organisation has no domain")
	}
	var l Loaded
	for _, r := range Reports(cfg, o) {
		raw, err := Gzip(r)
		if err != nil {
			return l, err
		}
		res, err := in.Ingest(ctx, raw, ingest.ChannelHTTPS)
		if err != nil {
			return l, fmt.Errorf("sample: report %s: %w", r.ReportID, err)
		}
		l.Reports++
		if res.Created {
			l.Created++
		}
	}
	if h == nil {
		return l, nil
	}
	for _, c := range Checks(cfg, o) {
		if err := h.Save(ctx, c); err != nil {
			return l, fmt.Errorf("sample: check of %s: %w", c.Domain, err)
		}
		l.Checks++
	}
	return l, nil
}

// Gzip returns r as RFC 8460 JSON compressed with gzip, the same bytes for
// the same report (no name, no modification time in the gzip header).
func Gzip(r *tlsrpt.Report) ([]byte, error) {
	js, err := r.JSON()
	if err != nil {
		return nil, fmt.Errorf("sample: report %s: %w", r.ReportID, err)
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
