package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// fakeFacts is a SenderReports over a slice of facts.
type fakeFacts struct {
	mu    sync.Mutex
	facts []store.Fact
	err   error
	calls []string // "domain from to"
}

func (f *fakeFacts) Facts(_ context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, domain+" "+from.String()+" "+to.String())
	var out []store.Fact
	for _, x := range f.facts {
		if x.Domain == domain && x.Day >= from && x.Day <= to {
			out = append(out, x)
		}
	}
	return out, f.err
}

func (f *fakeFacts) DaySums(ctx context.Context, domain string, from, to, _ store.Day) ([]store.DaySum, error) {
	facts, err := f.Facts(ctx, domain, from, to)
	return store.SumDays(domain, from, to, facts), err
}

func (f *fakeFacts) add(fs ...store.Fact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.facts = append(f.facts, fs...)
}

// reportFacts returns n facts of org for domain, one every `every` from
// start, each covering `every` and received lag after its end.
func reportFacts(domain, org string, start time.Time, every, lag time.Duration, n int) []store.Fact {
	var fs []store.Fact
	for i := range n {
		s := start.Add(time.Duration(i) * every)
		fs = append(fs, store.Fact{Domain: domain, Day: store.DayOf(s), Organization: strings.ToLower(org), OrganizationName: org,
			ReportKey: fmt.Sprintf("%s-%s", s.Format("20060102T15"), strings.ToLower(org)), ReportID: fmt.Sprint(i),
			Start: s, End: s.Add(every - time.Second), ReceivedAt: s.Add(every + lag)})
	}
	return fs
}

// TestMonitorSilentSenders: a daily sender that stops alerts after
// sender_days, the domain after domain_days without any report, a weekly
// sender (quiet 9.5 days) not within two weeks; a late report clears both, as the rua works.
func TestMonitorSilentSenders(t *testing.T) {
	const day = 24 * time.Hour
	w := checktest.NewWorld(t, testNow)
	ff := &fakeFacts{}
	// Google: daily from 2026-01-29 to 2026-02-28, each day received at
	// 02:00 the next (the last on 2026-03-01 02:00).
	ff.add(reportFacts("s.test", "Google", time.Date(2026, 1, 29, 0, 0, 0, 0, time.UTC), day, 2*time.Hour, 31)...)
	// A weekly sender, the last week (from 2026-02-22) received 2026-03-01 00:00.
	ff.add(reportFacts("s.test", "Weekly", time.Date(2026, 1, 18, 0, 0, 0, 0, time.UTC), 7*day, 0, 6)...)
	cfg := testConfig(w)
	cfg.Senders = ff
	cfg.Silence = store.Silence{SenderAfter: 3 * day, DomainAfter: 7 * day}
	rec := &recorder{}
	m := &Monitor{Checker: newChecker(t, cfg), History: NewMemoryHistory(), Alerter: rec}
	d, p := healthyDomain(t, "s.test", "enforce")
	w.Serve(t, d)
	targets := []Target{testTarget(t, "s.test", p)}
	ctx := context.Background()
	steps := []struct {
		name  string
		after time.Duration // since testNow
		late  bool          // a late Google report arrives just before
		want  []alert
	}{
		{"reporting", 0, false, nil},
		{"google quiet 2 days", 2 * day, false, nil},
		{"google quiet 4 days", 4 * day, false, []alert{{"s.test", []string{"warning sender-silent google"}, nil}}},
		{"still", 5 * day, false, nil},
		{"nothing for 9 days", 9 * day, false, []alert{{"s.test", []string{"warning reports-silent"}, nil}}},
		{"late report", 10 * day, true, []alert{{"s.test", nil, []string{"warning reports-silent", "warning sender-silent google"}}}},
	}
	for _, s := range steps {
		w.Now = testNow.Add(s.after)
		if s.late {
			f := reportFacts("s.test", "Google", testNow.Add(-40*day).Truncate(day), day, 0, 1)[0]
			f.ReceivedAt = w.Now.Add(-time.Hour)
			ff.add(f)
		}
		res, err := m.Run(ctx, targets)
		if err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		if !slices.EqualFunc(got, s.want, func(a, b alert) bool {
			return a.domain == b.domain && slices.Equal(a.appeared, b.appeared) && slices.Equal(a.cleared, b.cleared)
		}) {
			t.Errorf("%s: alerts %+v, want %+v (findings %+v)", s.name, got, s.want, res[0].Findings)
		}
		for _, f := range res[0].Findings {
			if f.Code == health.CodeSenderSilent && !containsAll(f.Message, "google reported s.test every day", "31 reports in 60 days") {
				t.Errorf("%s: message %q", s.name, f.Message)
			}
		}
	}
	// The lookback: 60 days, today included.
	if c := ff.calls[0]; c != "s.test 2026-01-01 2026-03-01" {
		t.Errorf("first read %q", c)
	}
}

// TestSilenceUnreadable: a store error is a warning of its own, and no
// silence is claimed.
func TestSilenceUnreadable(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	cfg := testConfig(w)
	cfg.Senders = &fakeFacts{err: errors.New("throttled")}
	cfg.Silence = store.Silence{SenderAfter: time.Hour, DomainAfter: time.Hour}
	d, p := healthyDomain(t, "u.test", "testing")
	w.Serve(t, d)
	r := newChecker(t, cfg).Check(context.Background(), testTarget(t, "u.test", p))
	if got := summary(r.Findings); !slices.Equal(got, []string{"warning reports-unavailable silence"}) {
		t.Errorf("findings %q", got)
	}
}
