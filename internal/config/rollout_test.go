package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

func TestRolloutSection(t *testing.T) {
	c := mustParse(t, valid())
	if r := c.Rollout; r.TestingDays != 14 || r.CleanDays != 14 || r.WatchDays != 14 || r.StepBackPercent != 1 ||
		!slices.Equal(r.MaxAgeSteps, []int{86400, 604800, 2592000, 31557600}) {
		t.Errorf("defaults: %+v", r)
	}
	c = mustParse(t, valid("rollout:", "  testing_days: 5", "  clean_days: 3", "  watch_days: 0",
		"  step_back_percent: 10", "  max_age_steps: [3600, 86400]"))
	if r := c.Rollout; r.TestingDays != 5 || r.CleanDays != 3 || r.WatchDays != 0 || r.StepBackPercent != 10 ||
		!slices.Equal(r.MaxAgeSteps, []int{3600, 86400}) {
		t.Errorf("set: %+v", r)
	}
	for _, tc := range []struct {
		in    []string
		field string
		msg   string
	}{
		{[]string{"rollout: {testing_days: 0}"}, "rollout.testing_days", "is not 1 to 366"},
		{[]string{"rollout: {clean_days: x}"}, "rollout.clean_days", "must be a whole number"},
		{[]string{"rollout: {step_back_percent: 101}"}, "rollout.step_back_percent", "is not 0 to 100"},
		{[]string{"rollout: {max_age_steps: [86400, 3600]}"}, "rollout.max_age_steps[1]", "steps ascend"},
		{[]string{"rollout: {max_age_steps: []}"}, "rollout.max_age_steps", "at least one"},
		{[]string{"rollout: {max_age_steps: [31557601]}"}, "rollout.max_age_steps[0]", "is not 1 to 31557600"},
		{[]string{"rollout: {max_age_steps: 86400}"}, "rollout.max_age_steps", "must be a list"},
		{[]string{"rollout: {testng_days: 3}"}, "rollout.testng_days", "did you mean testing_days"},
	} {
		_, err := Parse([]byte(valid(tc.in...)), testFile)
		errs := allErrors(t, err)
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Msg, tc.msg) || errs[0].Line != 8 {
			t.Errorf("%q: %v; want line 8 %s: %s", tc.in, err, tc.field, tc.msg)
		}
	}
}

func TestStageSince(t *testing.T) {
	c := mustParse(t, withDomains("  - name: a.example", "    dns: {external: true}", "    stage_since: 2026-11-30",
		"  - name: b.example", "    dns: {external: true}"))
	a, _ := c.Domain("a.example")
	b, _ := c.Domain("b.example")
	if !a.StageSince.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) || !b.StageSince.IsZero() {
		t.Errorf("stage_since: a %v, b %v", a.StageSince, b.StageSince)
	}
	_, err := Parse([]byte(withDomains("  - name: a.example", "    dns: {external: true}", "    stage_since: 30.11.2026")), testFile)
	if errs := allErrors(t, err); len(errs) != 1 || errs[0].Line != 7 || errs[0].Field != "domains[0].stage_since" {
		t.Errorf("bad stage_since: %v", err)
	}
}

// editFile has every layout Edit meets: a block policy with quoted
// values, a flow policy, no policy, an existing stage_since, a flow entry.
const editFile = `organization: Acme   # the org
region: eu-west-1
reporting: {https: true}
defaults:
  policy: {mx: [mx.example.com], max_age: 604800}

domains:
  # block policy, quoted mode
  - name: block.example
    dns: {external: true}
    policy:
      mode: "testing"    # quoted
      mx:
        - mx.example.com

  - name: flow.example
    dns: {external: true}
    policy: {mx: [mx.example.com]}
    stage_since: '2026-11-01'

  - name: bare.example
    dns:
      external: true

  - {name: inline.example, dns: {external: true}}
  - name: keep.example
    dns: {external: true}
`

func TestEdit(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	out, err := Edit([]byte(editFile), "f.yaml", []DomainEdit{
		{Domain: "block.example", Mode: mtasts.ModeEnforce, MaxAge: 86400, StageSince: day},
		{Domain: "flow.example", MaxAge: 2592000, StageSince: day},
		{Domain: "bare.example", Mode: mtasts.ModeEnforce, StageSince: day},
		{Domain: "inline.example", Mode: mtasts.ModeEnforce},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `organization: Acme   # the org
region: eu-west-1
reporting: {https: true}
defaults:
  policy: {mx: [mx.example.com], max_age: 604800}

domains:
  # block policy, quoted mode
  - name: block.example
    dns: {external: true}
    policy:
      max_age: 86400
      mode: "enforce"    # quoted
      mx:
        - mx.example.com
    stage_since: 2026-12-07

  - name: flow.example
    dns: {external: true}
    policy: {max_age: 2592000, mx: [mx.example.com]}
    stage_since: '2026-12-07'

  - name: bare.example
    dns:
      external: true
    policy: { mode: enforce }
    stage_since: 2026-12-07

  - {policy: { mode: enforce }, name: inline.example, dns: {external: true}}
  - name: keep.example
    dns: {external: true}
`
	if string(out) != want {
		t.Errorf("Edit:\n%s\nwant:\n%s", out, want)
	}
}

func TestEditRefuses(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		file string
		edit DomainEdit
	}{
		{"unknown domain", editFile, DomainEdit{Domain: "nope.example", Mode: mtasts.ModeEnforce}},
		{"retiring", strings.Replace(editFile, "    policy: {mx: [mx.example.com]}\n", "    policy: {mx: [mx.example.com]}\n    retire: 2026-12-01\n", 1),
			DomainEdit{Domain: "flow.example", MaxAge: 86400}},
		{"multi-line flow value last", strings.Replace(editFile, "  - name: keep.example\n    dns: {external: true}\n",
			"  - name: keep.example\n    dns: {external:\n      true}\n", 1), DomainEdit{Domain: "keep.example", StageSince: day}},
	} {
		out, err := Edit([]byte(tc.file), "f.yaml", []DomainEdit{tc.edit})
		if !errors.Is(err, ErrEdit) || out != nil {
			t.Errorf("%s: %v, %d bytes; want ErrEdit", tc.name, err, len(out))
		}
	}
}

// FuzzEdit: whatever the file, Edit either refuses or returns a file that
// parses and says what was asked of the first domain, every other domain
// unchanged; it never panics.
func FuzzEdit(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, true, 86400)
	}
	f.Add([]byte(editFile), false, 2592000)
	f.Fuzz(func(t *testing.T, data []byte, enforce bool, maxAge int) {
		c, err := Parse(data, "f.yaml")
		if err != nil || len(c.Domains) == 0 || maxAge < 1 || maxAge > mtasts.MaxMaxAge {
			return
		}
		d := c.Domains[0]
		mode := mtasts.ModeTesting
		if enforce {
			mode = mtasts.ModeEnforce
		}
		day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		out, err := Edit(data, "f.yaml", []DomainEdit{{Domain: d.Name, Mode: mode, MaxAge: maxAge, StageSince: day}})
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			return
		}
		c2, err := Parse(out, "f.yaml")
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%s", err, out)
		}
		d2 := c2.Domains[0]
		if d2.Policy.Mode != mode || d2.Policy.MaxAge != maxAge || !d2.StageSince.Equal(day) {
			t.Fatalf("edited domain %+v, want %s/%d since %v\n%s", d2, mode, maxAge, day, out)
		}
		for i, o := range c.Domains[1:] {
			if c2.Domains[i+1].Policy.String() != o.Policy.String() {
				t.Fatalf("%s changed", o.Name)
			}
		}
	})
}
