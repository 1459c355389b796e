package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// recorder is an Alerter that records alerts and can be made to fail.
type recorder struct {
	mu     sync.Mutex
	alerts []alert
	fail   error
}

type alert struct {
	domain            string
	appeared, cleared []string
}

func (r *recorder) Alert(_ context.Context, domain string, appeared, cleared []health.Finding) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.alerts = append(r.alerts, alert{domain, summary(appeared), summary(cleared)})
	return nil
}

func (r *recorder) take() []alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.alerts
	r.alerts = nil
	return a
}

// TestMonitorTransitions runs the monitor repeatedly while the world
// changes and checks that alerts follow appear/clear transitions only.
func TestMonitorTransitions(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	rec := &recorder{}
	h := NewMemoryHistory()
	m := &Monitor{Checker: c, History: h, Alerter: rec}
	good, pg := healthyDomain(t, "good.test", "enforce")
	bad, pb := healthyDomain(t, "bad.test", "enforce")
	w.Serve(t, good)
	w.Serve(t, bad)
	targets := []Target{testTarget(t, "good.test", pg), testTarget(t, "bad.test", pb)}
	ctx := context.Background()

	run := func(step string, want []alert) {
		t.Helper()
		if _, err := m.Run(ctx, targets); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := rec.take()
		if !slices.EqualFunc(got, want, func(a, b alert) bool {
			return a.domain == b.domain && slices.Equal(a.appeared, b.appeared) && slices.Equal(a.cleared, b.cleared)
		}) {
			t.Fatalf("%s: alerts\n got %+v\nwant %+v", step, got, want)
		}
	}
	run("first run, all healthy", nil)
	run("second run, unchanged", nil)

	w.DNS.Add("bad.test. MX 30 stray.hoster.test.")
	run("MX added", []alert{{"bad.test", []string{"error mx-not-covered stray.hoster.test"}, nil}})
	run("unchanged again", nil)

	w.DNS.Remove("_smtp._tls.bad.test", dns.TypeTXT)
	run("tlsrpt removed", []alert{{"bad.test", []string{"error tlsrpt-record-missing"}, nil}})

	w.DNS.Remove("bad.test", dns.TypeMX)
	w.DNS.Add("bad.test. MX 10 mx1.bad.test.", "bad.test. MX 20 b1.backup.bad.test.")
	run("MX fixed", []alert{{"bad.test", nil, []string{"error mx-not-covered stray.hoster.test"}}})

	// A failed alert is not recorded: the next run alerts again.
	w.DNS.Add("_smtp._tls.bad.test. TXT \"v=TLSRPTv1; rua=" + testRUA + "\"")
	rec.fail = errors.New("SNS down")
	if _, err := m.Run(ctx, targets); err == nil || !errors.Is(err, rec.fail) {
		t.Fatalf("run with failing alerter: err %v, want it to wrap %v", err, rec.fail)
	}
	rec.fail = nil
	run("after failed alert", []alert{{"bad.test", nil, []string{"error tlsrpt-record-missing"}}})
	run("quiet", nil)

	last, ok, err := h.Last(ctx, "bad.test")
	if err != nil || !ok || last.Domain != "bad.test" || len(last.Findings) != 0 {
		t.Errorf("history of bad.test: %+v %v %v", last, ok, err)
	}
}

func TestMonitorFirstRunAlertsExisting(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	rec := &recorder{}
	m := &Monitor{Checker: c, History: NewMemoryHistory(), Alerter: rec}
	d, p := healthyDomain(t, "first.test", "enforce")
	d.TLSRPT = ""
	w.Serve(t, d)
	res, err := m.Run(context.Background(), []Target{testTarget(t, "first.test", p)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Has(health.CodeTLSRPTRecordMissing) {
		t.Fatalf("results %+v", res)
	}
	got := rec.take()
	if len(got) != 1 || !slices.Equal(got[0].appeared, []string{"error tlsrpt-record-missing"}) || len(got[0].cleared) != 0 {
		t.Errorf("alerts %+v, want the finding as appeared", got)
	}
}

// failingHistory fails Last or Save.
type failingHistory struct {
	*MemoryHistory
	lastErr, saveErr error
}

func (f failingHistory) Last(ctx context.Context, d string) (health.Result, bool, error) {
	if f.lastErr != nil {
		return health.Result{}, false, f.lastErr
	}
	return f.MemoryHistory.Last(ctx, d)
}

func (f failingHistory) Save(ctx context.Context, r health.Result) error {
	if f.saveErr != nil {
		return f.saveErr
	}
	return f.MemoryHistory.Save(ctx, r)
}

func TestMonitorHistoryErrors(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	d, p := healthyDomain(t, "h.test", "enforce")
	d.TLSRPT = ""
	w.Serve(t, d)
	targets := []Target{testTarget(t, "h.test", p)}
	boom := errors.New("boom")
	for _, fh := range []failingHistory{{NewMemoryHistory(), boom, nil}, {NewMemoryHistory(), nil, boom}} {
		rec := &recorder{}
		m := &Monitor{Checker: c, History: fh, Alerter: rec}
		res, err := m.Run(context.Background(), targets)
		if !errors.Is(err, boom) || len(res) != 1 {
			t.Errorf("err %v, results %d: want boom and 1 result", err, len(res))
		}
		if fh.lastErr != nil && len(rec.take()) != 0 {
			t.Error("alerted without knowing the previous result")
		}
	}
}

// TestMonitorReadiness checks that readiness alerts once, when a domain
// becomes ready (and when it stops being ready), never for "not ready".
func TestMonitorReadiness(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	st := &fakeStats{stats: map[string]store.Summary{"r.test": sums(1, 10, 10)}}
	cfg := testConfig(w)
	cfg.Stats = st
	rec := &recorder{}
	m := &Monitor{Checker: newChecker(t, cfg), History: NewMemoryHistory(), Alerter: rec}
	d, p := healthyDomain(t, "r.test", "testing")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "r.test", p)}
	ctx := context.Background()
	steps := []struct {
		sessions int64
		want     []alert
	}{
		{10, nil}, // not ready on the first run: no news
		{50, nil}, // still not ready, message changed: no news
		{150, []alert{{"r.test", []string{"info ready-to-enforce"}, nil}}},
		{150, nil},
		{20, []alert{{"r.test", nil, []string{"info ready-to-enforce"}}}},
	}
	for i, s := range steps {
		st.mu.Lock()
		st.stats["r.test"] = sums(1, s.sessions, s.sessions)
		st.mu.Unlock()
		res, err := m.Run(ctx, targets)
		if err != nil {
			t.Fatal(err)
		}
		if ready := s.sessions >= 100; res[0].Has(health.CodeReadyToEnforce) != ready || res[0].Has(health.CodeNotReady) == ready {
			t.Fatalf("step %d: findings %+v", i, res[0].Findings)
		}
		got := rec.take()
		if !slices.EqualFunc(got, s.want, func(a, b alert) bool {
			return a.domain == b.domain && slices.Equal(a.appeared, b.appeared) && slices.Equal(a.cleared, b.cleared)
		}) {
			t.Errorf("step %d (%d sessions): alerts %+v, want %+v", i, s.sessions, got, s.want)
		}
	}
}

// fakeRollout gives a rollout-step finding of its step, or fails.
type fakeRollout struct {
	step string
	fail error
}

func (f *fakeRollout) Findings(_ context.Context, r health.Result, prev *health.Result) ([]health.Finding, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	if f.step == "" {
		return nil, nil
	}
	return []health.Finding{{Severity: health.SeverityInfo, Code: health.CodeRolloutStep, Subject: f.step, Message: "rollout: " + f.step}}, nil
}

// TestMonitorRollout: a rollout step alerts once when it becomes available
// and once more for the next step; when the plan cannot be computed the
// step of the previous result is kept, so nothing clears by mistake.
func TestMonitorRollout(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	rec := &recorder{}
	ro := &fakeRollout{}
	h := NewMemoryHistory()
	m := &Monitor{Checker: c, History: h, Alerter: rec, Rollout: ro}
	d, p := healthyDomain(t, "plan.test", "testing")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "plan.test", p)}
	ctx := context.Background()
	run := func(step string, want []alert) {
		t.Helper()
		if _, err := m.Run(ctx, targets); err != nil && ro.fail == nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := rec.take(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: alerts\n got %+v\nwant %+v", step, got, want)
		}
	}
	run("no step", nil)
	ro.step = "enforce"
	run("step available", []alert{{"plan.test", []string{"info rollout-step enforce"}, nil}})
	run("still available", nil)
	ro.fail = errors.New("store down")
	run("plan fails", nil)
	if last, _, _ := h.Last(ctx, "plan.test"); !last.Has(health.CodeRolloutStep) {
		t.Errorf("the step was not kept when the plan failed: %+v", last.Findings)
	}
	ro.fail = nil
	ro.step = "max_age 604800"
	run("next step", []alert{{"plan.test", []string{"info rollout-step max_age 604800"}, []string{"info rollout-step enforce"}}})
}

// gateHistory is a History whose Last waits (up to 2 s) until want calls
// are in flight together, and remembers the most it saw.
type gateHistory struct {
	*MemoryHistory
	want     int
	mu       sync.Mutex
	inflight int
	most     int
	arrived  chan struct{}
}

func (g *gateHistory) Last(ctx context.Context, domain string) (health.Result, bool, error) {
	g.mu.Lock()
	g.inflight++
	g.most = max(g.most, g.inflight)
	if g.inflight == g.want {
		close(g.arrived)
	}
	g.mu.Unlock()
	select {
	case <-g.arrived:
	case <-time.After(2 * time.Second):
	}
	g.mu.Lock()
	g.inflight--
	g.mu.Unlock()
	return g.MemoryHistory.Last(ctx, domain)
}

// TestMonitorRecordsConcurrently: a run records domains (history read,
// alert, save) as many at a time as it checks, not one after the other:
// at 1,000 domains the store's round trips would otherwise add up to most
// of the run (BenchmarkMonitor1000Domains). Results and errors keep the
// order of the targets.
func TestMonitorRecordsConcurrently(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	var targets []Target
	for _, name := range []string{"a.test", "b.test", "c.test", "d.test"} {
		d, p := healthyDomain(t, name, "enforce")
		w.Serve(t, d)
		targets = append(targets, testTarget(t, name, p))
	}
	h := &gateHistory{MemoryHistory: NewMemoryHistory(), want: 4, arrived: make(chan struct{})}
	m := &Monitor{Checker: newChecker(t, testConfig(w)), History: h, Alerter: &recorder{}}
	results, err := m.Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	if h.most < 2 {
		t.Errorf("at most %d history reads in flight at once, want the domains recorded concurrently", h.most)
	}
	for i, r := range results {
		if r.Domain != targets[i].Domain {
			t.Errorf("result %d is %s, want %s", i, r.Domain, targets[i].Domain)
		}
		if _, ok, _ := h.MemoryHistory.Last(context.Background(), r.Domain); !ok {
			t.Errorf("%s not saved", r.Domain)
		}
	}
}

// TestMonitorReadyAndRolloutStep: a testing domain that becomes ready gets
// one alert line, the rollout step to enforce with its command, not also
// ready-to-enforce, which says the same without it; the two clear
// together when the domain moves on.
func TestMonitorReadyAndRolloutStep(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	st := &fakeStats{stats: map[string]store.Summary{"r.test": sums(1, 10, 10)}}
	cfg := testConfig(w)
	cfg.Stats = st
	rec := &recorder{}
	ro := &fakeRollout{}
	m := &Monitor{Checker: newChecker(t, cfg), History: NewMemoryHistory(), Alerter: rec, Rollout: ro}
	d, p := healthyDomain(t, "r.test", "testing")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "r.test", p)}
	ctx := context.Background()
	run := func(step string, sessions int64, plan string, want []alert) {
		t.Helper()
		st.mu.Lock()
		st.stats["r.test"] = sums(1, sessions, sessions)
		st.mu.Unlock()
		ro.step = plan
		if _, err := m.Run(ctx, targets); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := rec.take(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: alerts\n got %+v\nwant %+v", step, got, want)
		}
	}
	run("not ready", 10, "", nil)
	run("ready, step to enforce", 150, "enforce", []alert{{"r.test", []string{"info rollout-step enforce"}, nil}})
	run("still ready", 150, "enforce", nil)
	// Ready without the plan's step (for instance fewer clean days than
	// rollout.testing_days): ready-to-enforce alone says it.
	run("step gone", 20, "", []alert{{"r.test", nil, []string{"info rollout-step enforce"}}})
	run("ready again, no step", 150, "", []alert{{"r.test", []string{"info ready-to-enforce"}, nil}})
}
