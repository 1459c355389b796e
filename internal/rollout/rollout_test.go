package rollout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
	"github.com/ststack/ststack/internal/triage"
)

var now = time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)

func th() Thresholds {
	return Thresholds{TestingDays: 14, CleanDays: 14, WatchDays: 14, StepBackPercent: 1,
		MaxAgeSteps: config.DefaultRolloutMaxAgeSteps, MinSessions: 100, WindowDays: 14, Triage: triage.Default}
}

// org is one sender's report of a day: successes, and failures of type rt.
type org struct {
	name    string
	success int64
	failed  int64
	rt      tlsrpt.ResultType
}

// days builds n days of reports ending yesterday, the same orgs each day,
// and failing ones on the days listed (days ago).
func days(n int, clean []org, failing map[int][]org) ([]Day, []store.Fact) {
	var ds []Day
	var facts []store.Fact
	for ago := n; ago >= 1; ago-- {
		day := store.DayOf(now).AddDays(-ago)
		orgs := clean
		if f, ok := failing[ago]; ok {
			orgs = f
		}
		var fs []store.Fact
		for i, o := range orgs {
			f := store.Fact{Domain: "example.com", Day: day, Organization: o.name, OrganizationName: o.name,
				ReportKey: fmt.Sprintf("%s!%s-%d", o.name, day, i), Success: o.success, Failure: o.failed,
				Policies: []store.PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: o.success, Failure: o.failed}}}
			if o.failed > 0 {
				f.Failures = []store.FailureCount{{ResultType: o.rt, MXHost: "mx.example.com", SendingIP: "192.0.2.1", Count: o.failed}}
			}
			fs = append(fs, f)
		}
		for _, s := range store.SumDays("example.com", day, day, fs) {
			ds = append(ds, Day{Day: s.Day, DayCount: s.Counted(store.Counting{})})
		}
		facts = append(facts, fs...)
	}
	return ds, facts
}

func domain(mode mtasts.Mode, maxAge int, sinceAgo int) config.Domain {
	d := config.Domain{Name: "example.com", Policy: mtasts.Policy{Version: mtasts.Version, Mode: mode, MaxAge: maxAge,
		MX: []mtasts.MX{{Domain: "mx.example.com"}}}}
	if sinceAgo != -1 {
		d.StageSince = store.DayOf(now).AddDays(-sinceAgo).Time()
	}
	return d
}

var three = []org{{"a.example", 100, 0, ""}, {"b.example", 100, 0, ""}, {"c.example", 100, 0, ""}}

func TestDecide(t *testing.T) {
	// Two failed sessions of one of three senders, three days ago.
	few := map[int][]org{3: {{"a.example", 100, 2, tlsrpt.ResultCertificateExpired}, three[1], three[2]}}
	// Every sender fails the same way: misconfiguration.
	all := map[int][]org{3: {{"a.example", 100, 20, tlsrpt.ResultCertificateHostMismatch},
		{"b.example", 100, 20, tlsrpt.ResultCertificateHostMismatch}, three[2]}}
	mxError := &health.Result{Domain: "example.com", CheckedAt: now, Findings: []health.Finding{
		{Severity: health.SeverityError, Code: health.CodeMXNotCovered, Subject: "mx2.example.com"}}}
	certWarning := &health.Result{Domain: "example.com", CheckedAt: now, Findings: []health.Finding{
		{Severity: health.SeverityWarning, Code: health.CodeCertExpiring}}}
	tests := []struct {
		name      string
		d         config.Domain
		n         int
		failing   map[int][]org
		check     *health.Result
		action    Action
		newMode   mtasts.Mode
		newMaxAge int
	}{
		{"testing, too few days", domain(mtasts.ModeTesting, 604800, -1), 5, nil, nil, Collect, "", 0},
		{"testing, ready", domain(mtasts.ModeTesting, 604800, -1), 20, nil, nil, Enforce, mtasts.ModeEnforce, 86400},
		{"testing, ready, short max_age kept", domain(mtasts.ModeTesting, 3600, -1), 20, nil, nil, Enforce, mtasts.ModeEnforce, 0},
		{"testing, checker error", domain(mtasts.ModeTesting, 604800, -1), 20, nil, mxError, Collect, "", 0},
		{"testing, failures", domain(mtasts.ModeTesting, 604800, -1), 20, all, nil, Hold, "", 0},
		{"testing, stage day too recent", domain(mtasts.ModeTesting, 604800, 10), 20, nil, nil, Collect, "", 0},
		{"enforce, clean", domain(mtasts.ModeEnforce, 86400, 15), 20, nil, nil, RaiseMaxAge, "", 604800},
		{"enforce, not yet", domain(mtasts.ModeEnforce, 604800, 10), 20, nil, nil, Collect, "", 0},
		{"enforce, ceiling", domain(mtasts.ModeEnforce, 31557600, 30), 20, nil, nil, Ceiling, "", 0},
		{"enforce, misconfiguration", domain(mtasts.ModeEnforce, 604800, 20), 20, all, nil, StepBack, mtasts.ModeTesting, 0},
		{"enforce, checker error", domain(mtasts.ModeEnforce, 604800, 20), 20, nil, mxError, StepBack, mtasts.ModeTesting, 0},
		// The watch: a few unexplained failures and a checker warning
		// step back within it, not after it.
		{"watch, few failures", domain(mtasts.ModeEnforce, 86400, 5), 20, few, nil, StepBack, mtasts.ModeTesting, 0},
		{"after watch, few failures", domain(mtasts.ModeEnforce, 86400, 15), 20, few, nil, Hold, "", 0},
		{"watch, checker warning", domain(mtasts.ModeEnforce, 86400, 5), 20, nil, certWarning, StepBack, mtasts.ModeTesting, 0},
		{"after watch, checker warning", domain(mtasts.ModeEnforce, 604800, 15), 20, nil, certWarning, RaiseMaxAge, "", 2592000},
		{"none", domain(mtasts.ModeNone, 86400, -1), 20, nil, nil, Off, "", 0},
		{"stage day ahead", domain(mtasts.ModeEnforce, 86400, -3), 20, nil, nil, Collect, "", 0},
	}
	for _, tc := range tests {
		ds, facts := days(tc.n, three, tc.failing)
		s := Decide(Input{Domain: tc.d, Now: now, Days: ds, Facts: facts, Check: tc.check}, th())
		if s.Action != tc.action || s.NewMode != tc.newMode || s.NewMaxAge != tc.newMaxAge {
			t.Errorf("%s: %s %q/%d (%s); want %s %q/%d", tc.name, s.Action, s.NewMode, s.NewMaxAge, s.Reason, tc.action, tc.newMode, tc.newMaxAge)
		}
		if s.Reason == "" {
			t.Errorf("%s: no reason", tc.name)
		}
	}
}

func TestDecideRetiring(t *testing.T) {
	d := domain(mtasts.ModeEnforce, 604800, -1)
	d.Retire = &config.Retirement{Since: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), Replaces: d.Policy}
	s := Decide(Input{Domain: d, Now: now}, th())
	if s.Stage != StageRetiring || s.Action != WaitRetirement || s.Evidence.RemovableAfter != "2026-12-23T00:00:00Z" {
		t.Errorf("before: %+v", s)
	}
	if s = Decide(Input{Domain: d, Now: now.AddDate(0, 1, 0)}, th()); s.Action != Remove {
		t.Errorf("after: %s", s.Action)
	}
}

// A stage_since after today says so instead of counting negative days.
func TestDecideStageDayAhead(t *testing.T) {
	ds, facts := days(20, three, nil)
	s := Decide(Input{Domain: domain(mtasts.ModeEnforce, 86400, -3), Now: now, Days: ds, Facts: facts}, th())
	if s.Action != Collect || !strings.Contains(s.Reason, "lies ahead") || s.Evidence.Watch != nil {
		t.Errorf("%s %q watch %v", s.Action, s.Reason, s.Evidence.Watch)
	}
}
