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
// not-ready never alert: those of ready-to-enforce say the same. A
// reports-triage finding (one per cluster of failed sessions) alerts when
// it appears, never when it clears: a cluster leaves the window by age,
// which is no news.
type Monitor struct {
	Checker *Checker
	History History
	Alerter Alerter
}

// Run checks targets and returns their results. Alerting or history
// failures for some domains do not stop the others; they are returned
// joined, each naming its domain.
func (m *Monitor) Run(ctx context.Context, targets []Target) ([]health.Result, error) {
	results := m.Checker.CheckAll(ctx, targets, nil)
	var errs []error
	for _, r := range results {
		if err := m.record(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Domain, err))
		}
	}
	return results, errors.Join(errs...)
}

// record alerts on the transitions of r and saves it.
func (m *Monitor) record(ctx context.Context, r health.Result) error {
	prev, ok, err := m.History.Last(ctx, r.Domain)
	if err != nil {
		return fmt.Errorf("reading history: %w", err)
	}
	var before []health.Finding
	if ok {
		before = prev.Findings
	}
	appeared, cleared := health.Diff(before, r.Findings)
	appeared, cleared = alerting(appeared), alerting(cleared)
	cleared = slices.DeleteFunc(cleared, func(f health.Finding) bool { return f.Code == health.CodeReportsTriage })
	if len(appeared) > 0 || len(cleared) > 0 {
		if err := m.Alerter.Alert(ctx, r.Domain, appeared, cleared); err != nil {
			return fmt.Errorf("alerting: %w", err)
		}
	}
	if err := m.History.Save(ctx, r); err != nil {
		return fmt.Errorf("saving history: %w", err)
	}
	return nil
}

// alerting drops the findings whose transitions are no news: not-ready
// appears and clears when ready-to-enforce clears and appears, which
// alerts, or on a domain's first check, when "not ready yet" is no news.
func alerting(fs []health.Finding) []health.Finding {
	return slices.DeleteFunc(fs, func(f health.Finding) bool { return f.Code == health.CodeNotReady })
}
