package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Shape of BenchmarkChecker.
const (
	checkDomains     = 1000
	checkDNSLatency  = 20 * time.Millisecond
	checkConcurrency = checker.DefaultConcurrency
	checkRUA         = "mailto:tlsrpt@reports.example"
)

var checkNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// checkWorld is a loopback world of n healthy domains c0000.check.test …
// as ststack deploys them (two MX hosts, a policy naming both, a TLSRPT
// record), and the targets that describe them.
func checkWorld(tb testing.TB, n int) (*checktest.World, []checker.Target) {
	tb.Helper()
	w := checktest.NewWorld(tb, checkNow)
	rua, err := tlsrpt.ParseRUA(checkRUA)
	if err != nil {
		tb.Fatal(err)
	}
	targets := make([]checker.Target, n)
	for i := range n {
		name := fmt.Sprintf("c%04d.check.test", i)
		p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx1." + name + "\nmx: mx2." + name + "\nmax_age: 604800\n"))
		if err != nil {
			tb.Fatal(err)
		}
		w.Serve(tb, checktest.Domain{Name: name, Policy: p.String(), ID: p.ID(),
			MX: []string{"mx1." + name, "mx2." + name}, TLSRPT: "v=TLSRPTv1; rua=" + checkRUA})
		targets[i] = checker.Target{Domain: name, Policy: &p, RUA: []tlsrpt.RUA{rua}}
	}
	return w, targets
}

// peakHeap runs fn while sampling the live heap every millisecond and
// returns the highest value seen above what was live before.
func peakHeap(fn func()) uint64 {
	const metric = "/memory/classes/heap/objects:bytes"
	runtime.GC()
	s := []metrics.Sample{{Name: metric}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: metric}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return max(peak.Load(), base) - base
}

// sequentialChecker is the baseline of BenchmarkChecker: what a
// straightforward checker does for each domain, one step after the other
// (the DNS questions of a sending MTA, then the policy fetch), with the same
// concurrency over domains as ststack's. It reports only whether a domain
// is healthy.
type sequentialChecker struct {
	dns   *dns.Client
	dnsAt string
	http  *http.Client
}

func newSequentialChecker(w *checktest.World) *sequentialChecker {
	c := &sequentialChecker{dns: &dns.Client{Net: "udp", Timeout: 3 * time.Second, UDPSize: 1232}, dnsAt: w.DNS.Addr}
	d := &net.Dialer{Timeout: 3 * time.Second}
	c.http = &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{RootCAs: w.CA.Pool, Time: func() time.Time { return w.Now }},
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				ips, err := c.lookupAddrs(ctx, host)
				if err != nil {
					return nil, err
				}
				return d.DialContext(ctx, "tcp", net.JoinHostPort(ips[0], strconv.Itoa(w.HTTPS.Port)))
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

func (c *sequentialChecker) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	m, _, err := c.dns.ExchangeContext(ctx, q, c.dnsAt)
	if err != nil {
		return nil, err
	}
	if m.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s: %s", name, dns.RcodeToString[m.Rcode])
	}
	return m.Answer, nil
}

func (c *sequentialChecker) txt(ctx context.Context, name string) ([][]string, error) {
	ans, err := c.query(ctx, name, dns.TypeTXT)
	var out [][]string
	for _, rr := range ans {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, t.Txt)
		}
	}
	return out, err
}

func (c *sequentialChecker) lookupAddrs(ctx context.Context, host string) ([]string, error) {
	var ips []string
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := c.query(ctx, host, qt)
		if err != nil {
			return nil, err
		}
		for _, rr := range ans {
			switch a := rr.(type) {
			case *dns.A:
				ips = append(ips, a.A.String())
			case *dns.AAAA:
				ips = append(ips, a.AAAA.String())
			}
		}
	}
	if len(ips) == 0 {
		return nil, errors.New(host + ": no address")
	}
	return ips, nil
}

// check checks one domain: MX, _mta-sts TXT, the policy over HTTPS (A and
// AAAA of the policy host first), _smtp._tls TXT, and the MX hosts
// against the policy.
func (c *sequentialChecker) check(ctx context.Context, t checker.Target) error {
	mx, err := c.query(ctx, t.Domain, dns.TypeMX)
	if err != nil {
		return err
	}
	txt, err := c.txt(ctx, "_mta-sts."+t.Domain)
	if err != nil {
		return err
	}
	rec, err := mtasts.RecordFromTXT(txt)
	if err != nil {
		return err
	}
	res, err := c.http.Get("https://mta-sts." + t.Domain + "/.well-known/mta-sts.txt")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, mtasts.MaxPolicySize+1))
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("policy: %d %v", res.StatusCode, err)
	}
	p, err := mtasts.ParsePolicy(body)
	if err != nil {
		return err
	}
	if rec.ID != t.Policy.ID() || p.String() != t.Policy.String() {
		return errors.New("policy or id differ from the configuration")
	}
	txt, err = c.txt(ctx, "_smtp._tls."+t.Domain)
	if err != nil {
		return err
	}
	if _, err := tlsrpt.RecordFromTXT(txt); err != nil {
		return err
	}
	for _, rr := range mx {
		if m, ok := rr.(*dns.MX); ok && !p.Match(strings.TrimSuffix(m.Mx, ".")) {
			return errors.New(m.Mx + " not covered by the policy")
		}
	}
	return nil
}

func (c *sequentialChecker) checkAll(ctx context.Context, targets []checker.Target) []error {
	errs := make([]error, len(targets))
	sem := make(chan struct{}, checkConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = c.check(ctx, t)
		})
	}
	wg.Wait()
	return errs
}

func newChecker(tb testing.TB, w *checktest.World) *checker.Checker {
	tb.Helper()
	c, err := checker.New(checker.Config{
		Resolver:    w.DNS.Addr,
		RootCAs:     w.CA.Pool,
		HTTPSPort:   w.HTTPS.Port,
		SMTPPort:    w.SMTP.Port,
		Timeout:     3 * time.Second,
		Concurrency: checkConcurrency,
		Now:         func() time.Time { return w.Now },
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// ststackCheck runs checker.CheckAll and fails on any finding above info.
func ststackCheck(tb testing.TB, c *checker.Checker, targets []checker.Target) {
	for _, r := range c.CheckAll(context.Background(), targets, nil) {
		if r.Count(health.SeverityError)+r.Count(health.SeverityWarning) != 0 {
			tb.Fatalf("%s: %+v", r.Domain, r.Findings)
		}
	}
}

func sequentialCheck(tb testing.TB, c *sequentialChecker, targets []checker.Target) {
	for i, err := range c.checkAll(context.Background(), targets) {
		if err != nil {
			tb.Fatalf("%s: %v", targets[i].Domain, err)
		}
	}
}

// BenchmarkChecker checks 1,000 healthy loopback domains with 20 ms of
// latency on every DNS answer, with ststack's checker (CheckAll, default
// concurrency, no SMTP probe: the Lambda default) and with the sequential
// baseline at the same concurrency: domains/s, and the peak live heap
// during a run.
func BenchmarkChecker(b *testing.B) {
	w, targets := checkWorld(b, checkDomains)
	w.DNS.SetLatency(checkDNSLatency)
	c := newChecker(b, w)
	seq := newSequentialChecker(w)
	for _, tc := range []struct {
		name string
		run  func(testing.TB)
	}{
		{"ststack", func(tb testing.TB) { ststackCheck(tb, c, targets) }},
		{"sequential", func(tb testing.TB) { sequentialCheck(tb, seq, targets) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var peak uint64
			b.ReportAllocs()
			for b.Loop() {
				peak = max(peak, peakHeap(func() { tc.run(b) }))
			}
			b.ReportMetric(float64(len(targets)*b.N)/b.Elapsed().Seconds(), "domains/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
		})
	}
}

// TestCheckerBaseline: on a small world both checkers find every domain
// healthy, both find a broken one, and the injected latency delays each
// DNS answer.
func TestCheckerBaseline(t *testing.T) {
	w, targets := checkWorld(t, 5)
	c := newChecker(t, w)
	seq := newSequentialChecker(w)
	ststackCheck(t, c, targets)
	sequentialCheck(t, seq, targets)

	// A policy that no longer names an MX host: both notice.
	broken := targets[2]
	p, _ := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx1." + broken.Domain + "\nmax_age: 604800\n"))
	w.HTTPS.Handle("mta-sts."+broken.Domain, w.CA.Issue(t, checkNow.AddDate(0, -1, 0), checkNow.AddDate(0, 1, 0), "mta-sts."+broken.Domain), checktest.Policy(p.String()))
	if err := seq.check(context.Background(), broken); err == nil {
		t.Error("sequential checker: changed policy not noticed")
	}
	if r := c.Check(context.Background(), broken); r.Count(health.SeverityError) == 0 {
		t.Errorf("ststack checker: changed policy not noticed: %+v", r.Findings)
	}

	w.DNS.SetLatency(50 * time.Millisecond)
	q0 := w.DNS.Queries()
	start := time.Now()
	if err := seq.check(context.Background(), targets[0]); err != nil {
		t.Fatal(err)
	}
	n := w.DNS.Queries() - q0
	if d := time.Since(start); n < 5 || d < time.Duration(n)*50*time.Millisecond {
		t.Errorf("%d sequential queries took %v with 50 ms latency each", n, d)
	}
}
