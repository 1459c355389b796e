package checker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ststack/ststack/internal/dnsname"
	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Defaults for the zero values of Config.
const (
	DefaultHTTPSPort            = 443
	DefaultSMTPPort             = 25
	DefaultTimeout              = 10 * time.Second
	DefaultConcurrency          = 16
	DefaultHELOName             = "localhost"
	DefaultReadinessWindowDays  = 14
	DefaultReadinessMinSessions = 100
	DefaultSilenceLookbackDays  = 60
)

// Config is everything the checker takes from outside: where it asks DNS,
// whom it trusts, which ports it connects to, how long it waits, its clock
// and where it reads reports. Tests point all of it at loopback fixtures.
type Config struct {
	// Resolver is the "HOST:PORT" of the recursive DNS server to ask, as
	// `dig @server`; empty: the servers of /etc/resolv.conf in turn. Every
	// name, including those the checker connects to, is resolved there.
	Resolver string
	// RootCAs are the trusted roots; nil: the system's.
	RootCAs *x509.CertPool
	// HTTPSPort is the port policies are fetched from (0: 443).
	HTTPSPort int
	// SMTPProbe enables the STARTTLS probe of each MX host.
	SMTPProbe bool
	// SMTPPort is the port MX hosts are probed on (0: 25).
	SMTPPort int
	// HELOName is the name the probe gives in EHLO (empty: "localhost").
	HELOName string
	// Timeout bounds each network operation: one DNS exchange, one policy
	// fetch, one SMTP probe (0: 10s).
	Timeout time.Duration
	// Concurrency is how many domains CheckAll checks at once (0: 16).
	Concurrency int
	// Now is the clock (nil: time.Now); certificates are judged at Now too.
	Now func() time.Time
	// Stats gives the stored TLS reports; nil: report findings and
	// readiness are not computed.
	Stats ReportStats
	// ReadinessWindowDays is the number of days of reports readiness looks
	// at, today included (0: 14).
	ReadinessWindowDays int
	// ReadinessMinSessions is the number of sessions under the sts policy
	// those days must hold for a domain to be ready (0: 100).
	ReadinessMinSessions int64
	// Senders reads the stored reports the silent-sender findings learn
	// from (silent.go); nil: no silence findings.
	Senders SenderReports
	// Silence says when a regular sender and a domain count as silent;
	// zero MinReports and MaxInterval take store's defaults, a zero
	// SenderAfter or DomainAfter switches that finding off.
	Silence store.Silence
	// SilenceLookbackDays is the number of days of reports read to learn
	// who reports a domain and how often, today included (0: 60).
	SilenceLookbackDays int
}

// Target is one domain to check, and what it should look like when ststack
// deploys it. For a domain ststack does not deploy, only Domain is set and
// the checker compares nothing with a configuration.
type Target struct {
	// Domain is the mail domain, an A-label.
	Domain string
	// Policy is the configured policy; nil: not configured.
	Policy *mtasts.Policy
	// RUA are the reporting addresses the domain's _smtp._tls record must
	// include; nil: any valid record will do.
	RUA []tlsrpt.RUA
	// RemovableAfter is set for a retiring domain (config.Retirement):
	// when it may leave the configuration (retire.go).
	RemovableAfter time.Time
	// Delegated is set for a client domain by delegation (config
	// dns: delegated): the CNAMEs at mta-sts.<domain>, _mta-sts.<domain>
	// and _smtp._tls.<domain> that must point into the operator's zone
	// (delegation.go).
	Delegated []CNAME
}

// Checker checks domains. It is safe for concurrent use.
type Checker struct {
	cfg Config
	res *resolver
	// txt answers the TXT questions: res, through the resolver interface
	// mailin's DKIM lookups use too.
	txt  dnsresolve.Resolver
	http *http.Client
}

// New returns a checker using cfg, with defaults filled in.
func New(cfg Config) (*Checker, error) {
	if cfg.HTTPSPort == 0 {
		cfg.HTTPSPort = DefaultHTTPSPort
	}
	if cfg.SMTPPort == 0 {
		cfg.SMTPPort = DefaultSMTPPort
	}
	if cfg.HELOName == "" {
		cfg.HELOName = DefaultHELOName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadinessWindowDays == 0 {
		cfg.ReadinessWindowDays = DefaultReadinessWindowDays
	}
	if cfg.ReadinessMinSessions == 0 {
		cfg.ReadinessMinSessions = DefaultReadinessMinSessions
	}
	if cfg.SilenceLookbackDays == 0 {
		cfg.SilenceLookbackDays = DefaultSilenceLookbackDays
	}
	if cfg.Silence.MinReports == 0 {
		cfg.Silence.MinReports = store.DefaultSilenceMinReports
	}
	if cfg.Silence.MaxInterval == 0 {
		cfg.Silence.MaxInterval = store.DefaultSilenceMaxInterval
	}
	switch {
	case cfg.HTTPSPort < 0 || cfg.HTTPSPort > 65535:
		return nil, fmt.Errorf("checker: HTTPSPort %d out of range", cfg.HTTPSPort)
	case cfg.SMTPPort < 0 || cfg.SMTPPort > 65535:
		return nil, fmt.Errorf("checker: SMTPPort %d out of range", cfg.SMTPPort)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("checker: Timeout %v is negative", cfg.Timeout)
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("checker: Concurrency %d is negative", cfg.Concurrency)
	case cfg.ReadinessWindowDays < 0:
		return nil, fmt.Errorf("checker: ReadinessWindowDays %d is negative", cfg.ReadinessWindowDays)
	case cfg.ReadinessMinSessions < 0:
		return nil, fmt.Errorf("checker: ReadinessMinSessions %d is negative", cfg.ReadinessMinSessions)
	case cfg.SilenceLookbackDays < 0 || cfg.Silence.SenderAfter < 0 || cfg.Silence.DomainAfter < 0:
		return nil, errors.New("checker: negative silence settings")
	}
	if err := checkName(strings.ToLower(cfg.HELOName), 1); err != nil {
		return nil, fmt.Errorf("checker: HELOName %q: %w", cfg.HELOName, err)
	}
	res, err := newResolver(cfg.Resolver, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	c := &Checker{cfg: cfg, res: res, txt: res}
	c.http = c.newHTTPClient()
	return c, nil
}

// newHTTPClient returns the client policies are fetched with, as RFC 8461
// §3.3 has senders fetch them: HTTPS only, names resolved with the
// checker's resolver, no redirect followed, no proxy, no connection reuse.
// Certificates are verified by inspectChain in VerifyConnection so that a
// failed handshake says precisely what is wrong.
func (c *Checker) newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: c.cfg.Timeout}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return c.res.dial(ctx, d, host, c.cfg.HTTPSPort)
		},
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // verified in VerifyConnection, below
			VerifyConnection: func(cs tls.ConnectionState) error {
				rep := inspectChain(cs.PeerCertificates, cs.ServerName, c.cfg.Now(), c.cfg.RootCAs)
				if !rep.ok() {
					return &certError{rep}
				}
				return nil
			},
		},
		TLSHandshakeTimeout:    c.cfg.Timeout,
		ResponseHeaderTimeout:  c.cfg.Timeout,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   c.cfg.Timeout,
		// RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed".
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// certError aborts a handshake whose certificate a sender would refuse.
type certError struct{ rep certReport }

func (e *certError) Error() string {
	var parts []string
	if e.rep.expired {
		parts = append(parts, "certificate expired or not yet valid")
	}
	if e.rep.nameErr != nil {
		parts = append(parts, e.rep.nameErr.Error())
	}
	if e.rep.trustErr != nil {
		parts = append(parts, e.rep.trustErr.Error())
	}
	return "invalid certificate: " + strings.Join(parts, "; ")
}

// CheckAll checks targets, at most Config.Concurrency at once, and returns
// their results in the order of targets. progress, if not nil, is called
// after each domain (never concurrently) with the number done so far.
func (c *Checker) CheckAll(ctx context.Context, targets []Target, progress func(done, total int)) []health.Result {
	results := make([]health.Result, len(targets))
	var mu sync.Mutex
	done := 0
	c.each(len(targets), func(i int) {
		results[i] = c.Check(ctx, targets[i])
		if progress != nil {
			mu.Lock()
			done++
			progress(done, len(targets))
			mu.Unlock()
		}
	})
	return results
}

// each calls fn(i) for every i in [0, n), Concurrency at a time, and
// returns when all have returned.
func (c *Checker) each(n int, fn func(i int)) {
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// run is the state of checking one domain.
type run struct {
	c      *Checker
	t      Target
	domain string
	now    time.Time
	res    health.Result

	record *mtasts.Record // the _mta-sts record, when exactly one valid
	served *mtasts.Policy // the policy served, when it parsed
	mxs    []mxRecord
	dane   map[string]*daneHost // MX hosts with TLSA records (dane.go)
}

func (r *run) add(f health.Finding) { r.res.Findings = append(r.res.Findings, f) }

// Check checks one domain. Failures to reach DNS or servers are findings,
// never errors: they are what a sender would meet.
func (c *Checker) Check(ctx context.Context, t Target) health.Result {
	now := c.cfg.Now()
	domain := normaliseName(t.Domain)
	r := &run{c: c, t: t, domain: domain, now: now,
		res: health.Result{Domain: domain, CheckedAt: now.UTC(), Findings: []health.Finding{}}}
	if err := validDomain(domain); err != nil {
		r.add(finding(health.SeverityError, health.CodeDomainInvalid, "",
			fmt.Sprintf("%q is not a mail domain: %v", t.Domain, err),
			"give the domain as an ASCII name (A-label, xn--…), for example example.com"))
		return r.res
	}
	ctx = c.res.prefetch(ctx, domain) // the DNS questions of the check, asked at once
	if !r.checkMX(ctx) {
		return r.res
	}
	r.checkDelegation(ctx)
	r.checkRecord(ctx)
	if r.record != nil || t.Policy != nil {
		r.checkPolicy(ctx)
	}
	switch {
	case t.Policy != nil:
		r.res.Mode = t.Policy.Mode
	case r.served != nil:
		r.res.Mode = r.served.Mode
	}
	r.checkCoverage()
	r.checkRetirement()
	r.checkTLSRPT(ctx)
	r.checkDANE(ctx)
	if c.cfg.SMTPProbe {
		r.probeMXs(ctx)
	}
	for _, h := range r.mxHosts() {
		if d := r.dane[h]; d != nil {
			r.res.DANE = append(r.res.DANE, d.state)
		}
	}
	if c.cfg.Stats != nil && r.res.Mode != "" {
		r.checkReports(ctx)
	}
	if c.cfg.Senders != nil && r.res.Mode != "" {
		r.checkSilence(ctx)
	}
	return r.res
}

// validDomain accepts a DNS name of at least two labels in ASCII letters,
// digits and hyphens (RFC 5321 §4.1.2 Domain, RFC 8461 §3 uses A-labels).
func validDomain(d string) error { return checkName(d, 2) }

// checkName accepts a lower-case host name of at least minLabels labels.
func checkName(d string, minLabels int) error {
	for _, ch := range d {
		if ch >= utf8.RuneSelf {
			return fmt.Errorf("non-ASCII character %q: use the A-label form", ch)
		}
	}
	// The rules of every package: dnsname.Parse (LDH labels of 1 to 63
	// octets, at most 253 in all, valid A-labels).
	n, err := dnsname.Parse(d)
	if err != nil {
		return err
	}
	if n.String() != d {
		return fmt.Errorf("%q is not in lower-case form without a trailing dot", d)
	}
	if n.Labels() < minLabels {
		return errors.New("a single label")
	}
	return nil
}

// finding is a health.Finding of the given fields, in their order.
func finding(sev health.Severity, code health.Code, subject, message, remedy string) health.Finding {
	return health.Finding{Severity: sev, Code: code, Subject: subject, Message: message, Remedy: remedy}
}
