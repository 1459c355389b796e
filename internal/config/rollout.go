package config

import (
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ststack/ststack/internal/mtasts"
)

// Rollout defaults: the schedule of `ststack plan` (docs/rollout.md gives
// the reasoning for each; package rollout applies them).
const (
	// DefaultRolloutTestingDays: a testing domain moves to enforce after
	// this many days in testing without a failed sts session.
	DefaultRolloutTestingDays = 14
	// DefaultRolloutCleanDays: an enforce domain raises max_age one step
	// after this many days in its current step without a failed sts session.
	DefaultRolloutCleanDays = 14
	// DefaultRolloutWatchDays: a domain moved to enforce is watched closely
	// for this many days.
	DefaultRolloutWatchDays = 14
	// DefaultRolloutStepBackPercent: after the watch, an enforce domain is
	// advised to step back to testing when the failed sts sessions that
	// triage cannot put on the sender or on an attacker exceed this share
	// (in percent) of its sts sessions.
	DefaultRolloutStepBackPercent = 1
	// maxRolloutSteps bounds rollout.max_age_steps.
	maxRolloutSteps = 10
)

// DefaultRolloutMaxAgeSteps are the max_age values an enforce domain climbs,
// one at a time: one day, one week, 30 days, and RFC 8461 §3.2's largest,
// the ceiling.
var DefaultRolloutMaxAgeSteps = []int{86400, 604800, 2592000, mtasts.MaxMaxAge}

// Rollout tunes `ststack plan` (the rollout section; docs/rollout.md).
type Rollout struct {
	TestingDays     int
	CleanDays       int
	WatchDays       int
	StepBackPercent int
	// MaxAgeSteps ascend; the last is the ceiling.
	MaxAgeSteps []int
}

// rollout reads the rollout section; f.val is nil when it is absent.
func (p *parser) rollout(f field) Rollout {
	r := Rollout{
		TestingDays:     DefaultRolloutTestingDays,
		CleanDays:       DefaultRolloutCleanDays,
		WatchDays:       DefaultRolloutWatchDays,
		StepBackPercent: DefaultRolloutStepBackPercent,
		MaxAgeSteps:     slices.Clone(DefaultRolloutMaxAgeSteps),
	}
	if f.val == nil {
		return r
	}
	fs := p.mapping(f.val, f.path, "testing_days", "clean_days", "watch_days", "step_back_percent", "max_age_steps")
	days := func(key string, dst *int, lo int64) {
		if df, ok := fs[key]; ok && p.wholeNumber(df) {
			if v, ok := p.inRange(df, lo, 366); ok {
				*dst = int(v)
			}
		}
	}
	days("testing_days", &r.TestingDays, 1)
	days("clean_days", &r.CleanDays, 1)
	days("watch_days", &r.WatchDays, 0)
	if pf, ok := fs["step_back_percent"]; ok && p.wholeNumber(pf) {
		if v, ok := p.inRange(pf, 0, 100); ok {
			r.StepBackPercent = int(v)
		}
	}
	if sf, ok := fs["max_age_steps"]; ok {
		if steps, ok := p.maxAgeSteps(sf); ok {
			r.MaxAgeSteps = steps
		}
	}
	return r
}

// maxAgeSteps reads max_age_steps: 1 to maxRolloutSteps max_age values
// (RFC 8461 §3.2: 0 to 31557600; here at least 1), strictly ascending.
func (p *parser) maxAgeSteps(f field) ([]int, bool) {
	items := p.list(f)
	if f.val.Kind != yaml.SequenceNode {
		return nil, false
	}
	if len(f.val.Content) == 0 {
		p.add(f.val.Line, f.path, nil, "give at least one max_age")
		return nil, false
	}
	if len(items) > maxRolloutSteps {
		p.add(f.val.Line, f.path, nil, "%d steps; at most %d", len(items), maxRolloutSteps)
		return nil, false
	}
	var steps []int
	ok := true
	for i, it := range items {
		itf := field{val: it, path: index(f.path, i)}
		if !p.wholeNumber(itf) {
			ok = false
			continue
		}
		v, good := p.inRange(itf, 1, mtasts.MaxMaxAge)
		if !good {
			ok = false
			continue
		}
		if n := len(steps); n > 0 && int(v) <= steps[n-1] {
			p.add(it.Line, itf.path, nil, "%d is not greater than the step before it (%d): steps ascend", v, steps[n-1])
			ok = false
			continue
		}
		steps = append(steps, int(v))
	}
	return steps, ok
}

// parseStageSince parses domains[].stage_since, a day such as 2026-12-06
// (UTC): the day the domain's current mode and max_age were deployed, which
// `ststack plan --apply` writes with each step (docs/rollout.md).
func parseStageSince(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a day such as 2026-12-06 (the UTC day the domain's mode and max_age were last deployed)", s)
	}
	return t, nil
}
