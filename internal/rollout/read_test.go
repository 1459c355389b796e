package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// fakeSource has no reports and fails for the domain named fail.
type fakeSource struct{ fail string }

func (f fakeSource) DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error) {
	if domain == f.fail {
		return nil, errors.New("throttled")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return store.SumDays(domain, from, to, nil), nil
}

func (fakeSource) Facts(context.Context, string, store.Day, store.Day) ([]store.Fact, error) {
	return nil, nil
}

func (fakeSource) Last(context.Context, string) (health.Result, bool, error) {
	return health.Result{}, false, nil
}

// Plan keeps the file's order over its concurrent reads, and returns the
// error that stopped it, not one its cancellation caused.
func TestPlanOrderAndError(t *testing.T) {
	var b strings.Builder
	b.WriteString("organization: Acme\nregion: eu-west-1\nreporting: {mailto: t@example.net}\ndefaults: {policy: {mx: [mx.example.net]}}\ndomains:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  - {name: d%02d.example, dns: {external: true}}\n", i)
	}
	cfg, err := config.Parse([]byte(b.String()), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(context.Background(), fakeSource{}, cfg, now)
	if err != nil || len(steps) != 40 {
		t.Fatalf("%d steps, %v", len(steps), err)
	}
	for i, s := range steps {
		if s.Domain != cfg.Domains[i].Name || s.Action != Collect {
			t.Errorf("step %d: %s %s", i, s.Domain, s.Action)
		}
	}
	if _, err := Plan(context.Background(), fakeSource{fail: "d30.example"}, cfg, now); err == nil || !strings.Contains(err.Error(), "d30.example: throttled") {
		t.Errorf("error %v, want d30.example's", err)
	}
}
