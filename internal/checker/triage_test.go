package checker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// factStore is a store.FactLister over facts a test changes between runs.
type factStore struct {
	mu    sync.Mutex
	facts []store.Fact
}

func (s *factStore) Facts(_ context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l []store.Fact
	for _, f := range s.facts {
		if f.Domain == domain && f.Day >= from && f.Day <= to {
			l = append(l, f)
		}
	}
	return l, nil
}

// DaySums makes factStore a store.DaySumReader: the checker function
// reads store.DayCounted over the two.
func (s *factStore) DaySums(ctx context.Context, domain string, from, to, _ store.Day) ([]store.DaySum, error) {
	facts, err := s.Facts(ctx, domain, from, to)
	return store.SumDays(domain, from, to, facts), err
}

func (s *factStore) set(facts ...store.Fact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.facts = facts
}

// report is one organisation's report of domain on day: success sessions,
// and failed sessions of type rt at mx from a sending IP of its own.
func report(domain string, day store.Day, org string, success int64, rt tlsrpt.ResultType, mx string, failed int64) store.Fact {
	f := store.Fact{Domain: domain, Day: day, Organization: org, OrganizationName: org,
		ReportKey: fmt.Sprintf("%s.%s", org, day), Success: success, Failure: failed}
	if failed > 0 {
		f.Failures = []store.FailureCount{{ResultType: rt, MXHost: mx, SendingIP: "192.0.2." + fmt.Sprint(len(org)), Count: failed}}
	}
	return f
}

// TestMonitorTriageAlerts: generated report sets give one alert per new
// cluster of failed sessions, with its verdict and evidence, and none when
// the same reports are checked again or a cluster leaves the window.
func TestMonitorTriageAlerts(t *testing.T) {
	for _, kind := range []string{"facts", "day sums"} {
		t.Run(kind, func(t *testing.T) { testMonitorTriageAlerts(t, kind) })
	}
}

func testMonitorTriageAlerts(t *testing.T, kind string) {
	w := checktest.NewWorld(t, testNow)
	fs := &factStore{}
	cfg := testConfig(w)
	cfg.Stats = store.Counted{FactLister: fs}
	if kind == "day sums" {
		cfg.Stats = store.DayCounted{Facts: fs, Sums: fs}
	}
	rec := &recorder{}
	m := &Monitor{Checker: newChecker(t, cfg), History: NewMemoryHistory(), Alerter: rec}
	d, p := healthyDomain(t, "tri.test", "enforce")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "tri.test", p)}
	ctx := context.Background()
	run := func(step string, want ...string) []health.Finding {
		t.Helper()
		results, err := m.Run(ctx, targets)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := rec.take()
		var appeared []string
		for _, a := range got {
			if len(a.cleared) > 0 {
				t.Errorf("%s: cleared %q, want none", step, a.cleared)
			}
			appeared = append(appeared, a.appeared...)
		}
		if !slices.Equal(appeared, want) || len(got) > 1 {
			t.Fatalf("%s: alerts %+v, want one with %q", step, got, want)
		}
		return results[0].Findings
	}
	d27, d28 := store.Day("2026-02-27"), store.Day("2026-02-28")
	const mx = "mx1.tri.test"
	base := []store.Fact{
		report("tri.test", d27, "a.example", 0, tlsrpt.ResultCertificateExpired, mx, 10),
		report("tri.test", d27, "b.example", 5, tlsrpt.ResultCertificateExpired, mx, 10),
		report("tri.test", d27, "c.example", 50, "", "", 0),
	}
	fs.set(base...)
	fds := run("first cluster", "warning reports-triage 2026-02-27 mx1.tri.test certificate-expired")
	i := slices.IndexFunc(fds, func(f health.Finding) bool { return f.Code == health.CodeReportsTriage })
	for _, s := range []string{"misconfiguration", "2 of 3 reporting organisations", "a.example, b.example", "a.example.2026-02-27", "192.0.2.0/24"} {
		if !strings.Contains(fds[i].Message, s) {
			t.Errorf("message %q does not say %q", fds[i].Message, s)
		}
	}
	run("same reports again")

	// A new cluster the next day: one organisation's policy fetch fails
	// while three succeed and the policy host checks fine.
	fs.set(append(slices.Clone(base),
		report("tri.test", d28, "a.example", 40, "", "", 0),
		report("tri.test", d28, "b.example", 40, "", "", 0),
		report("tri.test", d28, "c.example", 40, "", "", 0),
		report("tri.test", d28, "d.example", 0, tlsrpt.ResultSTSPolicyFetchError, "", 6))...)
	run("second cluster", "info reports-triage 2026-02-28 (unnamed) sts-policy-fetch-error")
	run("both again")

	// The first cluster leaves the window: no news.
	fs.set(report("tri.test", d28, "a.example", 40, "", "", 0),
		report("tri.test", d28, "b.example", 40, "", "", 0),
		report("tri.test", d28, "c.example", 40, "", "", 0),
		report("tri.test", d28, "d.example", 0, tlsrpt.ResultSTSPolicyFetchError, "", 6))
	run("first cluster gone")
}

// TestMonitorMXFailing: an MX host healthy in the reports that starts
// failing for most senders alerts once (an error under enforce), and
// clears when the reports show it healthy again.
func TestMonitorMXFailing(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	fs := &factStore{}
	cfg := testConfig(w)
	// As the checker function reads: day sums, facts of failing days.
	cfg.Stats = store.DayCounted{Facts: fs, Sums: fs}
	rec := &recorder{}
	m := &Monitor{Checker: newChecker(t, cfg), History: NewMemoryHistory(), Alerter: rec}
	d, p := healthyDomain(t, "mxf.test", "enforce")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "mxf.test", p)}
	const mx = "mx1.mxf.test"
	orgs := []string{"a.example", "b.example", "c.example"}
	var facts []store.Fact
	for i := range 6 { // 2026-02-22 … 2026-02-27, healthy
		for _, o := range orgs {
			facts = append(facts, report("mxf.test", store.Day("2026-02-22").AddDays(i), o, 100, "", "", 0))
		}
	}

	for _, o := range orgs[:2] {
		facts = append(facts, report("mxf.test", "2026-02-28", o, 0, tlsrpt.ResultCertificateExpired, mx, 20))
	}
	facts = append(facts, report("mxf.test", "2026-02-28", "c.example", 100, "", "", 0))
	fs.set(facts...)
	if _, err := m.Run(context.Background(), targets); err != nil {
		t.Fatal(err)
	}
	got := rec.take()
	if len(got) != 1 || !slices.Contains(got[0].appeared, "error reports-mx-failing mx1.mxf.test") {
		t.Fatalf("alerts %+v, want reports-mx-failing for %s", got, mx)
	}
	if _, err := m.Run(context.Background(), targets); err != nil || len(rec.take()) != 0 {
		t.Fatalf("second run alerted again (err %v)", err)
	}
	// The next day every organisation succeeds again.
	for _, o := range orgs {
		facts = append(facts, report("mxf.test", "2026-03-01", o, 100, "", "", 0))
	}
	fs.set(facts...)
	if _, err := m.Run(context.Background(), targets); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 1 || !slices.Equal(got[0].cleared, []string{"error reports-mx-failing mx1.mxf.test"}) || len(got[0].appeared) != 0 {
		t.Fatalf("alerts %+v, want reports-mx-failing cleared", got)
	}
}
