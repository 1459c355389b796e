package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ststack/ststack/internal/health"
)

// Alerter tells people about changes.
//
// Alert is called once per domain and run when at least one finding
// appeared or cleared since the previous run (not-ready excepted, see
// Monitor) (appeared and cleared are
// never both empty); it must not be called otherwise. An error means the
// alert may not have been delivered: Monitor then keeps the previous result
// so that the next run alerts again. Implementations must be safe for
// concurrent use.
type Alerter interface {
	Alert(ctx context.Context, domain string, appeared, cleared []health.Finding) error
}

// Monitor checks domains on a schedule: it checks, compares each result
// with the previous one in History, alerts on the differences, and saves.
// The first result of a domain alerts on all its findings. Transitions of
// not-ready never alert: those of ready-to-enforce say the same, and
// those of ready-to-enforce do not either while the rollout step to
// enforce is there before or after, which says it with its command. A
// reports-triage finding (one per cluster of failed sessions) alerts when
// it appears, never when it clears: a cluster leaves the window by age,
// which is no news.
type Monitor struct {
	Checker *Checker
	History History
	Alerter Alerter
	// Rollout, when set, adds each domain's rollout findings to its result
	// before it is compared and saved, so a new step alerts once.
	Rollout Rollout
}

// Rollout gives the findings of a domain's rollout plan (package rollout,
// docs/rollout.md).
//
// Findings returns the findings about the next rollout step of r.Domain,
// judged with r, the domain's fresh result (without rollout findings);
// none when there is no step to take. prev is the domain's previous result
// as saved (nil on its first check): an implementation may return prev's
// rollout findings again when nothing it judges by can have changed. An
// error means the plan could not be computed (the store could not be
// read); Monitor then keeps the rollout findings of prev, so that nothing
// clears or alerts by mistake. It must be safe for concurrent use.
type Rollout interface {
	Findings(ctx context.Context, r health.Result, prev *health.Result) ([]health.Finding, error)
}

// RolloutFindings returns the findings of r with a rollout code.
func RolloutFindings(r *health.Result) []health.Finding {
	if r == nil {
		return nil
	}
	var l []health.Finding
	for _, f := range r.Findings {
		if slices.Contains(rolloutCodes, f.Code) {
			l = append(l, f)
		}
	}
	return l
}

// rolloutCodes are the codes a Rollout gives.
var rolloutCodes = []health.Code{health.CodeRolloutStep, health.CodeRolloutStepBack}

// Run checks targets and returns their results, in the order of targets.
// Each domain is checked and then recorded (history read, alert, result
// saved) by the same worker, Checker's Concurrency domains at a time: the
// store's round trips of one domain overlap the checks of the others, so
// that a run over 1,000 domains is not 1,000 sequential history reads and
// writes (docs/performance.md, "Data at 1,000 domains"). History, Alerter
// and Rollout are safe for concurrent use by contract; alerts of different
// domains may come in any order. Alerting or history failures for some
// domains do not stop the others; they are returned joined, each naming
// its domain, in the order of targets.
func (m *Monitor) Run(ctx context.Context, targets []Target) ([]health.Result, error) {
	results := make([]health.Result, len(targets))
	errs := make([]error, len(targets))
	m.Checker.each(len(targets), func(i int) {
		r, err := m.record(ctx, m.Checker.Check(ctx, targets[i]))
		results[i] = r
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", r.Domain, err)
		}
	})
	return results, errors.Join(errs...)
}

// record adds r's rollout findings, alerts on the transitions of r and
// saves it; it returns r as saved.
func (m *Monitor) record(ctx context.Context, r health.Result) (health.Result, error) {
	prev, ok, err := m.History.Last(ctx, r.Domain)
	if err != nil {
		return r, fmt.Errorf("reading history: %w", err)
	}
	var before []health.Finding
	if ok {
		before = prev.Findings
	}
	var planErr error
	if m.Rollout != nil {
		var p *health.Result
		if ok {
			p = &prev
		}
		fs, err := m.Rollout.Findings(ctx, r, p)
		if err != nil {
			planErr = fmt.Errorf("rollout plan: %w", err)
			fs = RolloutFindings(p)
		}
		r.Findings = append(slices.Clone(r.Findings), fs...)
	}
	appeared, cleared := health.Diff(before, r.Findings)
	appeared, cleared = alerting(appeared), alerting(cleared)
	if stepToEnforce(before) || stepToEnforce(r.Findings) {
		// The rollout step to enforce says what ready-to-enforce says,
		// with the command that takes it: only the step alerts.
		ready := func(f health.Finding) bool { return f.Code == health.CodeReadyToEnforce }
		appeared, cleared = slices.DeleteFunc(appeared, ready), slices.DeleteFunc(cleared, ready)
	}
	cleared = slices.DeleteFunc(cleared, func(f health.Finding) bool { return f.Code == health.CodeReportsTriage })
	if len(appeared) > 0 || len(cleared) > 0 {
		if err := m.Alerter.Alert(ctx, r.Domain, appeared, cleared); err != nil {
			return r, fmt.Errorf("alerting: %w", err)
		}
	}
	if err := m.History.Save(ctx, r); err != nil {
		return r, fmt.Errorf("saving history: %w", err)
	}
	return r, planErr
}

// stepToEnforce reports whether fs hold the rollout step from testing to
// enforce (package rollout's rollout-step finding, subject "enforce").
func stepToEnforce(fs []health.Finding) bool {
	return slices.ContainsFunc(fs, func(f health.Finding) bool {
		return f.Code == health.CodeRolloutStep && f.Subject == "enforce"
	})
}

// alerting drops the findings whose transitions are no news: not-ready
// appears and clears when ready-to-enforce clears and appears, which
// alerts, or on a domain's first check, when "not ready yet" is no news.
func alerting(fs []health.Finding) []health.Finding {
	return slices.DeleteFunc(fs, func(f health.Finding) bool { return f.Code == health.CodeNotReady })
}
