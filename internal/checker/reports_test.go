package checker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/mtasts"
)

// fakeStats is a ReportStats serving fixed Stats per domain.
type fakeStats struct {
	mu    sync.Mutex
	stats map[string]Stats
	err   error
	calls []string // "domain from to"
}

func (f *fakeStats) ReportStats(_ context.Context, domain string, from, to time.Time) (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, domain+" "+from.Format(time.RFC3339)+" "+to.Format(time.RFC3339))
	return f.stats[domain], f.err
}

func TestReportsAndReadiness(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	day := func(d int) time.Time { return time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC) }
	failing := Stats{Reports: 9, Success: 900, Failure: 12, STSSuccess: 880, STSFailure: 12,
		ByResultType: map[string]int64{"certificate-expired": 10, "sts-policy-fetch-error": 2},
		ByMX:         map[string]int64{"mx1.example": 10, "": 2},
		ByDay: []DayStats{{Day: day(20), Success: 400, Failure: 10, STSFailure: 10},
			{Day: day(25), Success: 500, Failure: 2, STSFailure: 2}, {Day: day(27), Success: 10}}}
	cases := []struct {
		name     string
		mode     mtasts.Mode
		stats    Stats
		err      error
		broken   bool // the domain also has an error finding
		want     []string
		contains string // in the last finding's message
	}{
		{name: "ready", mode: "testing", stats: Stats{Reports: 4, Success: 300, STSSuccess: 300},
			want: []string{"info ready-to-enforce"}, contains: "300 sessions"},
		{name: "ready-at-minimum", mode: "testing", stats: Stats{Reports: 1, Success: 100, STSSuccess: 100},
			want: []string{"info ready-to-enforce"}},
		{name: "too-few", mode: "testing", stats: Stats{Reports: 1, Success: 99, STSSuccess: 99},
			want: []string{"info not-ready"}, contains: "99 of the 100 sessions"},
		{name: "no-sts-policy-seen", mode: "testing", stats: Stats{Reports: 3, Success: 500},
			want: []string{"info not-ready"}, contains: "0 of the 100"},
		{name: "failures-testing", mode: "testing", stats: failing,
			want:     []string{"warning reports-sts-failures", "info not-ready"},
			contains: "12 failed sts sessions"},
		{name: "errors-block", mode: "testing", stats: Stats{Reports: 4, Success: 300, STSSuccess: 300}, broken: true,
			want: []string{"error sts-id-mismatch", "info not-ready"}, contains: "1 error"},
		{name: "failures-enforce", mode: "enforce", stats: failing,
			want:     []string{"error reports-sts-failures 2026-02-25"},
			contains: "certificate-expired 10, sts-policy-fetch-error 2; by MX: mx1.example 10, (unnamed) 2"},
		{name: "clean-enforce", mode: "enforce", stats: Stats{Reports: 4, Success: 300, STSSuccess: 300}},
		{name: "store-down", mode: "testing", err: errors.New("throttled"),
			want: []string{"warning reports-unavailable"}, contains: "throttled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".test"
			st := &fakeStats{stats: map[string]Stats{name: tc.stats}, err: tc.err}
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
			// 14 days, today (2026-03-01) included.
			if want := []string{name + " 2026-02-16T00:00:00Z 2026-03-01T00:00:00Z"}; !slices.Equal(st.calls, want) {
				t.Errorf("ReportStats calls %q, want %q", st.calls, want)
			}
		})
	}
}

func TestReadinessWindowConfigured(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	st := &fakeStats{stats: map[string]Stats{"w.test": {Reports: 1, Success: 5, STSSuccess: 5}}}
	cfg := testConfig(w)
	cfg.Stats, cfg.ReadinessWindowDays, cfg.ReadinessMinSessions = st, 3, 5
	c := newChecker(t, cfg)
	d, p := healthyDomain(t, "w.test", "testing")
	w.Serve(t, d)
	r := c.Check(context.Background(), testTarget(t, "w.test", p))
	if !r.Has(CodeReadyToEnforce) {
		t.Errorf("findings %+v, want ready-to-enforce with 5 sessions and min 5", r.Findings)
	}
	if want := []string{"w.test 2026-02-27T00:00:00Z 2026-03-01T00:00:00Z"}; !slices.Equal(st.calls, want) {
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
