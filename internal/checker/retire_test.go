package checker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// The checker says when a retiring domain may be removed (issue 15, RFC
// 8461 §8.3), and warns when the retiring policy is not what is served.
func TestRetirement(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	for _, tc := range []struct {
		name      string
		served    mtasts.Mode // what mta-sts.<name> serves
		untilDays int         // RemovableAfter - now, in days
		want      string      // "severity code"
		says      string
	}{
		{"waiting", mtasts.ModeNone, 3, "info retiring", "until 2026-03-04T12:00:00Z"},
		{"over", mtasts.ModeNone, 0, "info retired", "remove the domain"},
		{"over-long-ago", mtasts.ModeNone, -30, "info retired", "expired at 2026-01-30T12:00:00Z"},
		{"not-deployed", mtasts.ModeEnforce, -1, "warning retiring", "serves a policy of mode enforce, not the mode none policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".retire.test"
			d, p := healthyDomain(t, name, tc.served)
			w.Serve(t, d)
			target := testTarget(t, name, p)
			target.Policy.Mode = mtasts.ModeNone // the retiring policy, as configured
			if tc.served == mtasts.ModeNone {
				target.Policy = &p
			}
			target.RemovableAfter = testNow.AddDate(0, 0, tc.untilDays)
			r := c.Check(context.Background(), target)
			checkFindings(t, r.Findings)
			var got []health.Finding
			for _, f := range r.Findings {
				if f.Code == health.CodeRetiring || f.Code == health.CodeRetired {
					got = append(got, f)
				}
			}
			if len(got) != 1 || summary(got)[0] != tc.want || !strings.Contains(got[0].Message, tc.says) {
				t.Errorf("retirement findings %+v, want one %q saying %q", got, tc.want, tc.says)
			}
		})
	}
	// A domain that is not retiring gets neither finding.
	d, p := healthyDomain(t, "active.retire.test", mtasts.ModeEnforce)
	w.Serve(t, d)
	r := c.Check(context.Background(), testTarget(t, "active.retire.test", p))
	if r.Has(health.CodeRetiring) || r.Has(health.CodeRetired) {
		t.Errorf("active domain: %+v", r.Findings)
	}
}

func TestTargetsFromConfigRetiring(t *testing.T) {
	cfg, err := config.Parse([]byte(`organization: Acme
region: eu-west-1
domains:
  - name: example.com
    dns: {external: true}
    policy: {mode: enforce, max_age: 604800, mx: [mx.example.com]}
    retire: 2026-03-01
  - name: example.org
    dns: {external: true}
    policy: {mx: ["*.example.org"]}
reporting: {mailto: tlsrpt@example.com}
`), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := TargetsFromConfig(cfg, "")
	want := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	if !ts[0].RemovableAfter.Equal(want) || ts[0].Policy.Mode != mtasts.ModeNone || !ts[1].RemovableAfter.IsZero() {
		t.Errorf("targets %+v, want example.com retiring with mode none until %v, example.org not", ts, want)
	}
	if !slices.Equal(ts[0].Policy.MX, cfg.Domains[0].Retire.Replaces.MX) {
		t.Errorf("retiring policy mx %v, want the replaced policy's", ts[0].Policy.MX)
	}
}
