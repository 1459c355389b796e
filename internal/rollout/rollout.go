// Package rollout decides each domain's next safe step from MTA-STS
// testing to enforce and a long max_age (issue 19): the rules of
// `ststack plan`, of the checker's rollout-step finding and of the
// dashboard's rollout column. The stages, steps, thresholds and their
// reasons are documented in docs/rollout.md; the two must say the same.
//
// Decide is pure: it reads a domain's configuration, its day sums of
// stored TLS reports (store.DaySum), the facts of its failing days (for
// triage verdicts) and the checker's latest result. Read gathers that
// from a store through Source.
package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/triage"
)

// Stage is where a domain stands; its string is the stable JSON form.
type Stage string

// Stages (docs/rollout.md, "Stages").
const (
	StageTesting  Stage = "testing"  // mode testing: senders report, never refuse
	StageEnforce  Stage = "enforce"  // mode enforce: senders refuse what fails
	StageRetiring Stage = "retiring" // retire: set (RFC 8461 §8.3)
	StageNone     Stage = "none"     // mode none, not retiring
)

// Action is the next step; its string is the stable JSON form.
type Action string

// Actions (docs/rollout.md, "Steps").
const (
	// Collect: nothing to change yet; the evidence says what is missing.
	Collect Action = "collect"
	// Enforce: move from testing to enforce (with the first max_age step
	// at most).
	Enforce Action = "enforce"
	// RaiseMaxAge: raise max_age to the next step.
	RaiseMaxAge Action = "raise-max-age"
	// Hold: failures keep the domain where it is; fix what they say.
	Hold Action = "hold"
	// StepBack: from enforce back to testing.
	StepBack Action = "step-back"
	// Ceiling: enforce at the last max_age step; nothing more to do.
	Ceiling Action = "at-ceiling"
	// WaitRetirement: retiring; may be removed after RemovableAfter.
	WaitRetirement Action = "wait-retirement"
	// Remove: retired; delete the domain from the file and deploy.
	Remove Action = "remove"
	// Off: mode none and not retiring; nothing to plan.
	Off Action = "off"
)

// Changes reports whether the action changes the file (plan --apply).
func (a Action) Changes() bool {
	return a == Enforce || a == RaiseMaxAge || a == StepBack
}

// Thresholds are the numbers of the rules: the organisation file's rollout
// section and checker.readiness (FromConfig).
type Thresholds struct {
	// TestingDays: clean days in testing before enforce.
	TestingDays int
	// CleanDays: clean days in an enforce step before the next max_age.
	CleanDays int
	// WatchDays: days after a move to enforce during which any failure
	// triage cannot put on the sender or an attacker, and any checker
	// warning about the MX or policy host, advise the step back.
	WatchDays int
	// StepBackPercent: after the watch, unexplained failed sts sessions
	// above this share of the sts sessions advise the step back.
	StepBackPercent int
	// MaxAgeSteps ascend; the last is the ceiling.
	MaxAgeSteps []int
	// MinSessions: sts sessions the clean days must hold
	// (checker.readiness.min_sessions).
	MinSessions int64
	// WindowDays: how far back failures are looked for
	// (checker.readiness.window_days).
	WindowDays int
	// Triage are the triage thresholds; in the watch MinFailedSessions
	// is 1.
	Triage triage.Thresholds
}

// FromConfig returns the thresholds the organisation file sets.
func FromConfig(c *config.Config) Thresholds {
	return Thresholds{
		TestingDays:     c.Rollout.TestingDays,
		CleanDays:       c.Rollout.CleanDays,
		WatchDays:       c.Rollout.WatchDays,
		StepBackPercent: c.Rollout.StepBackPercent,
		MaxAgeSteps:     slices.Clone(c.Rollout.MaxAgeSteps),
		MinSessions:     c.Checker.ReadinessMinSessions,
		WindowDays:      c.Checker.ReadinessWindowDays,
		Triage:          triage.Default,
	}
}

// Lookback is the number of days of day sums Decide needs, today
// included.
func (th Thresholds) Lookback() int {
	return max(th.TestingDays, th.CleanDays, th.WindowDays, th.WatchDays) + 1
}

// Day is one day of a domain's counted reports.
type Day struct {
	Day store.Day `json:"day"`
	store.DayCount
}

// Input is what Decide reads of one domain.
type Input struct {
	Domain config.Domain
	Now    time.Time
	// Days are the counted day sums of the last Thresholds.Lookback days,
	// in order (days without reports may be missing).
	Days []Day
	// Facts are the facts of the days with failed sts sessions (others
	// are ignored); Counting says which count.
	Facts    []store.Fact
	Counting store.Counting
	// Check is the checker's latest result of the domain; nil: none.
	Check *health.Result
}

// Watch says that a domain moved to enforce is in its closer watch.
type Watch struct {
	Day  int `json:"day"`  // days since the move, 0 the day of it
	Days int `json:"days"` // Thresholds.WatchDays
}

// Evidence is what a step rests on.
type Evidence struct {
	// CleanDays are the whole days since the later of the stage's start
	// and the last day with a failed sts session; NeedDays what the next
	// step needs.
	CleanDays int `json:"clean_days"`
	NeedDays  int `json:"need_days"`
	// Sessions are the sts sessions reported over those clean days;
	// NeedSessions what the next step needs.
	Sessions     int64 `json:"sessions"`
	NeedSessions int64 `json:"need_sessions"`
	// FailedSessions and STSSessions are counted over the days since the
	// stage started within the failure window; FailingDays are the days
	// with failed sts sessions among them, LastFailure the latest.
	FailedSessions int64       `json:"failed_sessions"`
	STSSessions    int64       `json:"sts_sessions"`
	FailingDays    []store.Day `json:"failing_days"`
	LastFailure    store.Day   `json:"last_failure,omitempty"`
	// Clusters are the triage verdicts of the failing days, with the
	// reports behind each.
	Clusters []triage.Cluster `json:"clusters"`
	// Checks are the checker's findings that hold the domain back or
	// advise the step back; CheckedAt when they were found.
	Checks    []health.Finding `json:"checks"`
	CheckedAt string           `json:"checked_at,omitempty"`
	// Watch is set while a domain moved to enforce is watched closely.
	Watch *Watch `json:"watch,omitempty"`
	// RemovableAfter is set for a retiring domain (RFC 3339).
	RemovableAfter string `json:"removable_after,omitempty"`
}

// Step is a domain's stage and next step.
type Step struct {
	Domain string      `json:"domain"`
	Stage  Stage       `json:"stage"`
	Mode   mtasts.Mode `json:"mode"`
	MaxAge int         `json:"max_age"`
	// Since is the stage's start: stage_since from the file, else the
	// first day with reports in the lookback ("" if neither).
	Since     store.Day `json:"since,omitempty"`
	SinceFile bool      `json:"since_from_file"`
	Action    Action    `json:"action"`
	// NewMode and NewMaxAge are what the step sets ("" and 0: unchanged).
	NewMode   mtasts.Mode `json:"new_mode,omitempty"`
	NewMaxAge int         `json:"new_max_age,omitempty"`
	// Reason says why, in one line.
	Reason   string   `json:"reason"`
	Evidence Evidence `json:"evidence"`
}

// Edit is the change of the organisation file the step makes, dated
// today (stage_since); ok is false for steps that change nothing.
func (s Step) Edit(now time.Time) (config.DomainEdit, bool) {
	if !s.Action.Changes() {
		return config.DomainEdit{}, false
	}
	return config.DomainEdit{Domain: s.Domain, Mode: s.NewMode, MaxAge: s.NewMaxAge,
		StageSince: store.DayOf(now).Time()}, true
}

// Summary is the step in a few words, for tables and alerts:
// "move to enforce, max_age 86400".
func (s Step) Summary() string {
	switch s.Action {
	case Enforce:
		if s.NewMaxAge != 0 {
			return fmt.Sprintf("move to enforce, max_age %d", s.NewMaxAge)
		}
		return "move to enforce"
	case RaiseMaxAge:
		return fmt.Sprintf("raise max_age to %d", s.NewMaxAge)
	case StepBack:
		return "step back to testing"
	case Hold:
		return "hold: fix the failures"
	case Collect:
		return "collecting evidence"
	case Ceiling:
		return "at the max_age ceiling"
	case WaitRetirement:
		return "retiring: wait"
	case Remove:
		return "remove from the file"
	}
	return "nothing to plan"
}

// mailCodes are the check codes about what senders meet under enforce:
// the MX hosts, the policy host, its certificate and the _mta-sts record.
var mailCodes = []health.Code{
	health.CodeMXNotCovered, health.CodeMXNull, health.CodeMXNone,
	health.CodeSMTPConnectFailed, health.CodeSMTPSTARTTLSMissing, health.CodeSMTPTLSFailed,
	health.CodeSMTPTLSVersion, health.CodeSMTPCertExpired, health.CodeSMTPCertExpiring,
	health.CodeSMTPCertNameMismatch, health.CodeSMTPCertUntrusted,
	health.CodePolicyFetchFailed, health.CodePolicyStatus, health.CodePolicyRedirect,
	health.CodePolicyContentType, health.CodePolicyTooLarge, health.CodePolicyInvalid,
	health.CodePolicyMismatch, health.CodeCertExpired, health.CodeCertExpiring,
	health.CodeCertNameMismatch, health.CodeCertUntrusted,
	health.CodeSTSRecordMissing, health.CodeSTSRecordMultiple, health.CodeSTSRecordInvalid,
}

// Decide returns the domain's stage and next step (docs/rollout.md).
func Decide(in Input, th Thresholds) Step {
	d := in.Domain
	today := store.DayOf(in.Now)
	s := Step{Domain: d.Name, Mode: d.Policy.Mode, MaxAge: d.Policy.MaxAge,
		Evidence: Evidence{FailingDays: []store.Day{}, Clusters: []triage.Cluster{}, Checks: []health.Finding{}}}
	if d.Retiring() {
		s.Stage, s.Mode, s.MaxAge = StageRetiring, d.Retire.Replaces.Mode, d.Retire.Replaces.MaxAge
		after := d.Retire.RemovableAfter()
		s.Evidence.RemovableAfter = after.UTC().Format(time.RFC3339)
		if d.Retire.Removable(in.Now) {
			s.Action, s.Reason = Remove, fmt.Sprintf("every cached copy of the policy it replaces expired at %s (RFC 8461 §8.3): delete the domain from the file and deploy", s.Evidence.RemovableAfter)
		} else {
			s.Action, s.Reason = WaitRetirement, fmt.Sprintf("publishes mode none; senders may hold the previous policy until %s, then it may be removed (RFC 8461 §8.3)", s.Evidence.RemovableAfter)
		}
		return s
	}
	switch d.Policy.Mode {
	case mtasts.ModeTesting:
		s.Stage = StageTesting
	case mtasts.ModeEnforce:
		s.Stage = StageEnforce
	default:
		s.Stage, s.Action = StageNone, Off
		s.Reason = "mode none: MTA-STS is off; set mode: testing to start the rollout"
		return s
	}

	// The stage's start: the file's stage_since, else the first day with
	// reports.
	if !d.StageSince.IsZero() {
		s.Since, s.SinceFile = store.DayOf(d.StageSince), true
	} else {
		for _, day := range in.Days {
			if day.Reports > 0 {
				s.Since = day.Day
				break
			}
		}
	}
	if s.SinceFile && s.Since > today {
		s.Action = Collect
		s.Reason = fmt.Sprintf("stage_since %s lies ahead: the stage's clean days count from that day (set it to the day the step was deployed)", s.Since)
		return s
	}
	// The watch: in enforce since a day the file gives, within WatchDays,
	// at the first max_age step (where the move to enforce puts it).
	watch := s.SinceFile && s.Stage == StageEnforce && th.WatchDays > 0 &&
		daysBetween(s.Since, today) < th.WatchDays && s.MaxAge <= th.MaxAgeSteps[0]
	if watch {
		s.Evidence.Watch = &Watch{Day: daysBetween(s.Since, today), Days: th.WatchDays}
	}

	// Failures since the stage started, within the window.
	ev := &s.Evidence
	windowFrom := today.AddDays(-(th.WindowDays - 1))
	for _, day := range in.Days {
		if day.Day < windowFrom || s.Since == "" || day.Day < s.Since {
			continue
		}
		ev.STSSessions = store.AddSat(ev.STSSessions, store.AddSat(day.STS.Success, day.STS.Failure))
		if day.STS.Failure > 0 {
			ev.FailedSessions = store.AddSat(ev.FailedSessions, day.STS.Failure)
			ev.FailingDays = append(ev.FailingDays, day.Day)
		}
	}
	// The clean streak: since the later of the stage's start and the day
	// after the last failure (also one before the window).
	streak := s.Since
	for _, day := range in.Days {
		if day.STS.Failure > 0 && (s.Since == "" || day.Day >= s.Since) {
			ev.LastFailure = day.Day
			streak = day.Day.AddDays(1)
		}
	}
	if streak != "" {
		ev.CleanDays = max(0, daysBetween(streak, today))
		for _, day := range in.Days {
			if day.Day >= streak {
				ev.Sessions = store.AddSat(ev.Sessions, store.AddSat(day.STS.Success, day.STS.Failure))
			}
		}
	}
	ev.NeedSessions = th.MinSessions
	if len(ev.FailingDays) > 0 {
		tt := th.Triage
		if watch {
			tt.MinFailedSessions = 1
		}
		ev.Clusters = clusters(in, ev.FailingDays, tt)
	}
	if in.Check != nil {
		ev.CheckedAt = in.Check.CheckedAt.UTC().Format(time.RFC3339)
	}
	if s.Stage == StageTesting {
		return decideTesting(s, in, th)
	}
	return decideEnforce(s, in, th, watch)
}

// decideTesting decides a testing domain: enforce once the clean streak has
// TestingDays days and MinSessions sessions and the checker has no error.
func decideTesting(s Step, in Input, th Thresholds) Step {
	ev := &s.Evidence
	ev.NeedDays = th.TestingDays
	var blockers []string
	if in.Check != nil {
		for _, f := range in.Check.Findings {
			if f.Severity == health.SeverityError {
				ev.Checks = append(ev.Checks, f)
			}
		}
		if len(ev.Checks) > 0 {
			blockers = append(blockers, fmt.Sprintf("the checker reports %d error(s) (%s)", len(ev.Checks), ev.Checks[0].Code))
		}
	}
	if ev.CleanDays < ev.NeedDays {
		blockers = append(blockers, fmt.Sprintf("%d clean days of %d", ev.CleanDays, ev.NeedDays))
	}
	if ev.Sessions < ev.NeedSessions {
		blockers = append(blockers, fmt.Sprintf("%d sts sessions of %d needed", ev.Sessions, ev.NeedSessions))
	}
	if len(blockers) == 0 {
		s.Action, s.NewMode = Enforce, mtasts.ModeEnforce
		if first := th.MaxAgeSteps[0]; s.MaxAge > first {
			s.NewMaxAge = first
		}
		s.Reason = fmt.Sprintf("ready: %d clean days (of %d) with %d sts sessions (of %d) and no checker error; start enforce with a short max_age",
			ev.CleanDays, ev.NeedDays, ev.Sessions, ev.NeedSessions)
		return s
	}
	if ev.FailedSessions > 0 && ev.LastFailure >= store.DayOf(in.Now).AddDays(-(th.TestingDays-1)) {
		s.Action = Hold
		s.Reason = fmt.Sprintf("%d failed sts sessions on %d day(s), the last %s%s: fix them first (under enforce this mail would not be delivered); %s",
			ev.FailedSessions, len(ev.FailingDays), ev.LastFailure, verdicts(ev.Clusters), strings.Join(blockers, ", "))
		return s
	}
	s.Action = Collect
	s.Reason = "still collecting: " + strings.Join(blockers, ", ")
	return s
}

// decideEnforce decides an enforce domain: the step back when failures or the
// checker say so, else the next max_age after CleanDays clean days.
func decideEnforce(s Step, in Input, th Thresholds, watch bool) Step {
	ev := &s.Evidence
	ev.NeedDays = th.CleanDays
	// The checker: errors about what senders meet (in the watch warnings
	// too) advise the step back.
	if in.Check != nil {
		floor := health.SeverityError
		if watch {
			floor = health.SeverityWarning
		}
		for _, f := range in.Check.Findings {
			if f.Severity >= floor && slices.Contains(mailCodes, f.Code) {
				ev.Checks = append(ev.Checks, f)
			}
		}
	}
	var misconf, unexplained int64
	for _, c := range ev.Clusters {
		switch c.Verdict {
		case triage.Misconfiguration:
			misconf += c.FailedSessions
		case triage.NotEnoughData:
			unexplained += c.FailedSessions
		}
	}
	stepBack := func(why string) Step {
		s.Action, s.NewMode = StepBack, mtasts.ModeTesting
		s.Reason = why + ": under enforce senders refuse to deliver this mail; step back to testing, fix, and climb again"
		return s
	}
	switch {
	case misconf > 0:
		return stepBack(fmt.Sprintf("%d failed sts sessions judged misconfiguration%s", misconf, verdicts(ev.Clusters)))
	case len(ev.Checks) > 0:
		return stepBack(fmt.Sprintf("the checker reports %s about %s", ev.Checks[0].Code, orDomain(ev.Checks[0].Subject)))
	case watch && unexplained > 0:
		return stepBack(fmt.Sprintf("%d failed sts sessions triage cannot explain in the watch after the move to enforce (day %d of %d)",
			unexplained, ev.Watch.Day, ev.Watch.Days))
	case !watch && unexplained > 0 && unexplained*100 > int64(th.StepBackPercent)*max(ev.STSSessions, 1):
		return stepBack(fmt.Sprintf("%d of %d sts sessions failed without an explanation, more than %d%%",
			unexplained, ev.STSSessions, th.StepBackPercent))
	}
	ceiling := th.MaxAgeSteps[len(th.MaxAgeSteps)-1]
	if ev.FailedSessions > 0 && ev.CleanDays < ev.NeedDays {
		s.Action = Hold
		s.Reason = fmt.Sprintf("keep enforce: %d failed sts sessions%s, none judged misconfiguration (enforce protects this mail); the clean days restart after %s",
			ev.FailedSessions, verdicts(ev.Clusters), ev.LastFailure)
		return s
	}
	if s.MaxAge >= ceiling {
		s.Action = Ceiling
		s.Reason = fmt.Sprintf("enforce with max_age %d, the ceiling: nothing more to do", s.MaxAge)
		return s
	}
	next := ceiling
	for _, v := range th.MaxAgeSteps {
		if v > s.MaxAge {
			next = v
			break
		}
	}
	if ev.CleanDays >= ev.NeedDays && ev.Sessions >= ev.NeedSessions {
		s.Action, s.NewMaxAge = RaiseMaxAge, next
		s.Reason = fmt.Sprintf("%d clean days (of %d) in enforce with max_age %d and %d sts sessions (of %d): raise max_age one step",
			ev.CleanDays, ev.NeedDays, s.MaxAge, ev.Sessions, ev.NeedSessions)
		return s
	}
	s.Action = Collect
	s.Reason = fmt.Sprintf("still collecting before max_age %d: %d clean days of %d, %d sts sessions of %d needed",
		next, ev.CleanDays, ev.NeedDays, ev.Sessions, ev.NeedSessions)
	if watch {
		s.Reason += fmt.Sprintf(" (watched closely: day %d of %d after the move to enforce)", ev.Watch.Day, ev.Watch.Days)
	}
	return s
}

// clusters returns the triage verdicts of the failing days.
func clusters(in Input, days []store.Day, th triage.Thresholds) []triage.Cluster {
	var facts []store.Fact
	for _, f := range in.Facts {
		if slices.Contains(days, f.Day) {
			facts = append(facts, f)
		}
	}
	return triage.Triage(triage.Input{Domain: in.Domain.Name, Facts: facts, Counting: in.Counting, Check: in.Check}, th)
}

// verdicts lists the clusters' verdicts: " (misconfiguration 12, sender-side 3)".
func verdicts(cs []triage.Cluster) string {
	if len(cs) == 0 {
		return ""
	}
	sum := map[triage.Verdict]int64{}
	var order []triage.Verdict
	for _, c := range cs {
		if _, ok := sum[c.Verdict]; !ok {
			order = append(order, c.Verdict)
		}
		sum[c.Verdict] += c.FailedSessions
	}
	parts := make([]string, len(order))
	for i, v := range order {
		parts[i] = fmt.Sprintf("%s %d", v, sum[v])
	}
	return " (triage: " + strings.Join(parts, ", ") + ")"
}

func orDomain(subject string) string {
	if subject == "" {
		return "the domain"
	}
	return subject
}

// daysBetween is the number of days from a to b (negative when b is
// before a).
func daysBetween(a, b store.Day) int {
	return int(b.Time().Sub(a.Time()).Hours() / 24)
}
