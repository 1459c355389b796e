package rollout

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// DefaultCommand is the command the scheduled checker's rollout findings
// name: the plan of the deployed stack, applied to the organisation file.
const DefaultCommand = "ststack plan --aws --apply"

// Alerts gives the scheduled checker its rollout findings
// (checker.Rollout): rollout-step (info) when a step up is available,
// rollout-step-back (warning) when a step back to testing is advised. The
// subject names the step, so the monitor alerts once when a step becomes
// available and again only for another step.
type Alerts struct {
	Source Source
	Config *config.Config
	// Command is named in the remedy (default DefaultCommand).
	Command string
}

// rolloutCodes are the codes Findings gives.
var rolloutCodes = []health.Code{health.CodeRolloutStep, health.CodeRolloutStepBack}

// Findings implements checker.Rollout. The plan is judged at r.CheckedAt
// with r as the latest check. It is computed again only when prev is nil,
// from another UTC day, or its findings (rollout ones aside) differ from
// r's by code, subject or severity, or by the message of the report
// failures: otherwise prev's rollout findings stand, and an hourly checker
// reads the plan's day sums once a day per domain, not every run.
func (a *Alerts) Findings(ctx context.Context, r health.Result, prev *health.Result) ([]health.Finding, error) {
	d, ok := a.Config.Domain(r.Domain)
	if !ok {
		return nil, nil
	}
	if prev != nil && store.DayOf(prev.CheckedAt) == store.DayOf(r.CheckedAt) && sameJudgement(*prev, r) {
		var keep []health.Finding
		for _, f := range prev.Findings {
			if slices.Contains(rolloutCodes, f.Code) {
				keep = append(keep, f)
			}
		}
		return keep, nil
	}
	th := FromConfig(a.Config)
	in, err := Read(ctx, a.Source, d, Counting(a.Config), th, r.CheckedAt, &r)
	if err != nil {
		return nil, err
	}
	return StepFindings(Decide(in, th), a.command()), nil
}

func (a *Alerts) command() string {
	if a.Command == "" {
		return DefaultCommand
	}
	return a.Command
}

// StepFindings are the findings of step s: none unless it changes the file.
func StepFindings(s Step, command string) []health.Finding {
	remedy := fmt.Sprintf("run `%s`, review the diff of the organisation file, and deploy it (make deploy)", command)
	switch s.Action {
	case Enforce, RaiseMaxAge:
		subject := "enforce"
		if s.Action == RaiseMaxAge {
			subject = fmt.Sprintf("max_age %d", s.NewMaxAge)
		}
		return []health.Finding{{Severity: health.SeverityInfo, Code: health.CodeRolloutStep, Subject: subject,
			Message: "rollout: " + s.Summary() + ": " + s.Reason, Remedy: remedy}}
	case StepBack:
		return []health.Finding{{Severity: health.SeverityWarning, Code: health.CodeRolloutStepBack, Subject: "testing",
			Message: "rollout: " + s.Summary() + ": " + s.Reason, Remedy: remedy}}
	}
	return nil
}

// sameJudgement reports whether a and b agree in everything Decide reads
// of a check result: the findings' codes, subjects and severities, and the
// message of the report failures (their counts).
func sameJudgement(a, b health.Result) bool {
	type k struct {
		code     health.Code
		subject  string
		severity health.Severity
		msg      string
	}
	keys := func(r health.Result) []k {
		var l []k
		for _, f := range r.Findings {
			if slices.Contains(rolloutCodes, f.Code) {
				continue
			}
			x := k{f.Code, f.Subject, f.Severity, ""}
			if f.Code == health.CodeReportsSTSFailures {
				x.msg = f.Message
			}
			l = append(l, x)
		}
		slices.SortFunc(l, func(x, y k) int {
			return cmp.Or(cmp.Compare(x.code, y.code), cmp.Compare(x.subject, y.subject),
				cmp.Compare(x.severity, y.severity), cmp.Compare(x.msg, y.msg))
		})
		return l
	}
	return slices.Equal(keys(a), keys(b))
}
