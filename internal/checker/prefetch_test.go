package checker

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
)

// countingProxy is a DNS server that forwards every query to upstream and
// records how many were in flight at most.
type countingProxy struct {
	upstream       string
	inFlight, peak atomic.Int64
	queries        atomic.Int64
}

func (p *countingProxy) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	p.queries.Add(1)
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	m, err := dns.Exchange(req, p.upstream)
	if err != nil {
		m = new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
	}
	_ = w.WriteMsg(m)
}

func startProxy(t *testing.T, upstream string) (*countingProxy, string) {
	t.Helper()
	p := &countingProxy{upstream: upstream}
	srv := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", Handler: p}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ListenAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return p, srv.PacketConn.LocalAddr().String()
}

// TestPrefetchAsksAtOnce: with a slow resolver, the five questions of a
// check are in flight together, and the findings are those of a check
// asking them in turn.
func TestPrefetchAsksAtOnce(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	d, p := healthyDomain(t, "slow.example", "enforce")
	w.Serve(t, d)
	w.DNS.SetLatency(150 * time.Millisecond)
	proxy, addr := startProxy(t, w.DNS.Addr)
	cfg := testConfig(w)
	cfg.Resolver = addr
	c := newChecker(t, cfg)

	r := c.Check(context.Background(), testTarget(t, "slow.example", p))
	if len(r.Findings) != 0 {
		t.Errorf("findings %q", summary(r.Findings))
	}
	if got := proxy.peak.Load(); got < 5 {
		t.Errorf("at most %d questions in flight at once, want the 5 of a check", got)
	}
	// Each question is asked once: prefetched answers are used, not asked
	// again. The TLSA question of each MX host (dane.go) follows the MX
	// answer, so it cannot be prefetched.
	if got, want := proxy.queries.Load(), int64(5+len(d.MX)); got != want {
		t.Errorf("%d queries for one check, want %d", got, want)
	}
}

// TestPrefetchSameFindings: broken domains give the same findings with
// and without prefetching (a check without its prefetch context asks in
// turn).
func TestPrefetchSameFindings(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	d, p := healthyDomain(t, "broken.example", "enforce")
	d.TLSRPT = ""
	d.ID = "wrongid"
	w.Serve(t, d)
	w.DNS.SetRcode("_smtp._tls.broken.example", dns.RcodeServerFailure)
	c := newChecker(t, testConfig(w))
	tgt := testTarget(t, "broken.example", p)

	with := summary(c.Check(context.Background(), tgt).Findings)
	// The same check with every lookup asked when needed.
	r := &run{c: c, t: tgt, domain: "broken.example", now: testNow, res: health.Result{Findings: []health.Finding{}}}
	ctx := context.Background()
	if r.checkMX(ctx) {
		r.checkRecord(ctx)
		r.checkPolicy(ctx)
		r.res.Mode = tgt.Policy.Mode
		r.checkCoverage()
		r.checkTLSRPT(ctx)
	}
	without := summary(r.res.Findings)
	if !slices.Equal(with, without) || len(with) == 0 {
		t.Errorf("findings with prefetch %q, without %q", with, without)
	}
}

// TestPrefetchCancelled: a cancelled check's lookups fail with ErrLookup
// and the context's error, as without prefetching.
func TestPrefetchCancelled(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	w.DNS.SetLatency(time.Second)
	c := newChecker(t, testConfig(w))
	ctx, cancel := context.WithCancel(context.Background())
	pctx := c.res.prefetch(ctx, "gone.example")
	cancel()
	_, err := lookupTXT(pctx, c.res, "_mta-sts.gone.example")
	if !errors.Is(err, ErrLookup) || !errors.Is(err, context.Canceled) {
		t.Errorf("lookup after cancel: %v", err)
	}
}
