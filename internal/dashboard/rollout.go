package dashboard

import (
	"context"
	"fmt"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/rollout"
	"github.com/ststack/ststack/internal/store"
)

// RolloutStatus is a domain's rollout stage and next step in the overview
// (`ststack plan`, docs/rollout.md); the domain page has the whole step
// with its evidence (rollout.Step).
type RolloutStatus struct {
	Stage     rollout.Stage  `json:"stage"`
	Action    rollout.Action `json:"action"`
	Summary   string         `json:"summary"`
	Reason    string         `json:"reason"`
	NewMode   mtasts.Mode    `json:"new_mode,omitempty"`
	NewMaxAge int            `json:"new_max_age,omitempty"`
}

func statusOf(s rollout.Step) *RolloutStatus {
	return &RolloutStatus{Stage: s.Stage, Action: s.Action, Summary: s.Summary(), Reason: s.Reason,
		NewMode: s.NewMode, NewMaxAge: s.NewMaxAge}
}

// rolloutStep decides d's rollout step at the model's now from day sums
// already read over [from, to] when they hold the plan's look-back, else
// from its own reads; chk is the latest check (nil: none).
func (m *model) rolloutStep(ctx context.Context, d config.Domain, sums []store.DaySum, from, to store.Day, chk *health.Result) (rollout.Step, error) {
	th := rollout.FromConfig(m.cfg)
	now := m.now()
	var in rollout.Input
	var err error
	if th.Covers(from, to, now) {
		in, err = rollout.Gather(ctx, m.st, d, sums, m.counting(), th, now, chk)
	} else {
		in, err = rollout.Read(ctx, m.st, d, m.counting(), th, now, chk)
	}
	if err != nil {
		return rollout.Step{}, fmt.Errorf("rollout plan: %w", err)
	}
	return rollout.Decide(in, th), nil
}
