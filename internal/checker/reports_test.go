package checker

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
)

// fakeStats is a ReportStats serving a fixed Summary per domain.
type fakeStats struct {
	mu    sync.Mutex
	stats map[string]store.Summary
	err   error
	calls []string // "domain from to"
}

func (f *fakeStats) Summary(_ context.Context, domain string, from, to store.Day) (store.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, domain+" "+from.String()+" "+to.String())
	return f.stats[domain], f.err
}

// sums is a Summary of reports without failures: success sessions, sts of
// them under the sts policy.
func sums(reports int, success, sts int64) store.Summary {
	return store.Summary{Reports: reports, Totals: store.Totals{Success: success}, STS: store.Totals{Success: sts}}
}

func TestReportsAndReadiness(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	day := func(d int) store.Day { return store.DayOf(time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC)) }
	failing := store.Summary{Reports: 9, Totals: store.Totals{Success: 900, Failure: 12}, STS: store.Totals{Success: 880, Failure: 12},
		ByResultType: []store.Count{{Key: "certificate-expired", Count: 10}, {Key: "sts-policy-fetch-error", Count: 2}},
		ByMXHost:     []store.Count{{Key: "mx1.example", Count: 10}, {Key: "", Count: 2}},
		ByDay: []store.DayTotals{{Day: day(20), Totals: store.Totals{Success: 400, Failure: 10}, STS: store.Totals{Failure: 10}},
			{Day: day(25), Totals: store.Totals{Success: 500, Failure: 2}, STS: store.Totals{Failure: 2}},
			{Day: day(27), Totals: store.Totals{Success: 10}}}}
	cases := []struct {
		name     string
		mode     mtasts.Mode
		stats    store.Summary
		err      error
		broken   bool // the domain also has an error finding
		want     []string
		contains string // in the last finding's message
		absent   string // in no finding's message
	}{
		{name: "ready", mode: "testing", stats: sums(4, 300, 300),
			want: []string{"info ready-to-enforce"}, contains: "300 sessions"},
		{name: "ready-at-minimum", mode: "testing", stats: sums(1, 100, 100),
			want: []string{"info ready-to-enforce"}},
		{name: "too-few", mode: "testing", stats: sums(1, 99, 99),
			want: []string{"info not-ready"}, contains: "99 of the 100 sessions"},
		{name: "no-sts-policy-seen", mode: "testing", stats: sums(3, 500, 0),
			want: []string{"info not-ready"}, contains: "0 of the 100"},
		{name: "failures-testing", mode: "testing", stats: failing,
			want:     []string{"warning reports-sts-failures", "info not-ready"},
			contains: "12 failed sts sessions"},
		{name: "errors-block", mode: "testing", stats: sums(4, 300, 300), broken: true,
			want: []string{"error sts-id-mismatch", "info not-ready"}, contains: "1 error"},
		{name: "failures-enforce", mode: "enforce", stats: failing,
			want:     []string{"error reports-sts-failures 2026-02-25"},
			contains: "certificate-expired 10, sts-policy-fetch-error 2; by MX: mx1.example 10, (unnamed) 2"},
		{name: "clean-enforce", mode: "enforce", stats: sums(4, 300, 300)},
		{name: "conflicting", mode: "testing", stats: func() store.Summary { s := sums(4, 300, 300); s.Conflicting, s.Excluded = 2, 2; return s }(),
			want: []string{"warning reports-conflicting", "info ready-to-enforce"}},
		{name: "saturated", mode: "testing", stats: store.Summary{Reports: 2, STS: store.Totals{Success: math.MaxInt64, Failure: math.MaxInt64}},
			want: []string{"warning reports-sts-failures", "info not-ready"}, contains: "failed sts session", absent: "-2"},
		{name: "store-down", mode: "testing", err: errors.New("throttled"),
			want: []string{"warning reports-unavailable"}, contains: "throttled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".test"
			st := &fakeStats{stats: map[string]store.Summary{name: tc.stats}, err: tc.err}
			cfg := testConfig(w)
			cfg.Stats = st
			c := newChecker(t, cfg)
			d, p := healthyDomain(t, name, tc.mode)
			if tc.broken {
				d.ID = "old1"
			}
			w.Serve(t, d)
			r := c.Check(context.Background(), testTarget(t, name, p))
			if got, want := summary(r.Findings), sorted(tc.want...); !slices.Equal(got, want) {
				t.Fatalf("findings\n got %q\nwant %q\n%+v", got, want, r.Findings)
			}
			checkFindings(t, r.Findings)
			if tc.contains != "" {
				if msg := r.Findings[len(r.Findings)-1].Message; !strings.Contains(msg, tc.contains) {
					t.Errorf("message %q does not contain %q", msg, tc.contains)
				}
			}
			for _, f := range r.Findings {
				if tc.absent != "" && strings.Contains(f.Message, tc.absent) {
					t.Errorf("message %q contains %q", f.Message, tc.absent)
				}
			}
			// 14 days, today (2026-03-01) included.
			if want := []string{name + " 2026-02-16 2026-03-01"}; !slices.Equal(st.calls, want) {
				t.Errorf("ReportStats calls %q, want %q", st.calls, want)
			}
		})
	}
}

func TestReadinessWindowConfigured(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	st := &fakeStats{stats: map[string]store.Summary{"w.test": sums(1, 5, 5)}}
	cfg := testConfig(w)
	cfg.Stats, cfg.ReadinessWindowDays, cfg.ReadinessMinSessions = st, 3, 5
	c := newChecker(t, cfg)
	d, p := healthyDomain(t, "w.test", "testing")
	w.Serve(t, d)
	r := c.Check(context.Background(), testTarget(t, "w.test", p))
	if !r.Has(health.CodeReadyToEnforce) {
		t.Errorf("findings %+v, want ready-to-enforce with 5 sessions and min 5", r.Findings)
	}
	if want := []string{"w.test 2026-02-27 2026-03-01"}; !slices.Equal(st.calls, want) {
		t.Errorf("ReportStats calls %q, want %q", st.calls, want)
	}
}

func TestNoStatsNoReadiness(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	d, p := healthyDomain(t, "nostats.test", "testing")
	w.Serve(t, d)
	if r := c.Check(context.Background(), testTarget(t, "nostats.test", p)); len(r.Findings) != 0 {
		t.Errorf("findings %+v without a report store, want none", r.Findings)
	}
}

// TestProvenanceNames: the organisation file names provenances as the
// store records them (config sits below store and cannot import it).
func TestProvenanceNames(t *testing.T) {
	if got, want := config.Provenances(), store.Provenances(); !slices.Equal(got, want) {
		t.Errorf("config.Provenances() = %q, store.Provenances = %q", got, want)
	}
}
