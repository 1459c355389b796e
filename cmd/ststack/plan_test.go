package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// planFile is an organisation file of three testing domains; extra is
// added at the end (a rollout section).
func planFile(extra string) string {
	return `organization: Plan Test
region: eu-west-1
defaults:
  policy:
    mode: testing   # everyone starts here
    max_age: 604800
    mx: ["*.mail.example.net"]
domains:
  # Reports always clean.
  - name: clean.example
    dns: { external: true }

  # Fails every ten days.
  - name: failing.example
    dns: { external: true }
    policy:
      mx: [mx.failing.example]

  # Clean, then failing from day 30.
  - name: turning.example
    dns: { external: true }
reporting:
  mailto: tlsrpt@example.net
` + extra
}

// simReport stores one organisation's report of day for domain: success
// sessions and failed ones of result type rt at mx.
func simReport(t *testing.T, es *embedded.Store, domain string, day store.Day, org string, success, failed int64, rt tlsrpt.ResultType, mx string) {
	t.Helper()
	key := fmt.Sprintf("%s!%s-%s", org, domain, day)
	start := day.Time()
	f := store.Fact{Domain: domain, Day: day, ReportKey: key, Organization: org, OrganizationName: org,
		ReportID: string(day), Start: start, End: start.Add(24*time.Hour - time.Second),
		Success: success, Failure: failed,
		Policies:   []store.PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: success, Failure: failed}},
		Provenance: store.ProvenanceEmailAligned}
	if failed > 0 {
		f.Failures = []store.FailureCount{{ResultType: rt, MXHost: mx, SendingIP: "192.0.2.1", Count: failed}}
	}
	e := store.Entry{Report: store.Receipt{Key: key, Organization: org, OrganizationName: org, ReportID: string(day),
		Start: f.Start, End: f.End, Domains: []string{domain}, Success: success, Failure: failed,
		ReceivedAt: start.Add(30 * time.Hour), Channel: "email", ContentType: store.ContentTypeJSON, Size: 2,
		Provenance: store.ProvenanceEmailAligned, Digest: key},
		Raw: []byte("{}"), Facts: []store.Fact{f}}
	if _, err := es.SaveReport(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// runPlanAt runs ststack plan at now and returns its JSON output.
func runPlanAt(t *testing.T, now time.Time, args ...string) planOutput {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	if code := run(context.Background(), append([]string{"plan", "--json"}, args...), env); code != exitOK {
		t.Fatalf("plan at %s: exit %d: %s", now, code, errb.String())
	}
	var po planOutput
	if err := json.Unmarshal(out.Bytes(), &po); err != nil {
		t.Fatalf("plan at %s: %v\n%s", now, err, out.String())
	}
	return po
}

// state is a domain's mode and max_age in the file, and its stage_since.
type state struct {
	mode   mtasts.Mode
	maxAge int
	since  string
}

func fileStates(t *testing.T, path string) map[string]state {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]state{}
	for _, d := range c.Domains {
		s := state{mode: d.Policy.Mode, maxAge: d.Policy.MaxAge}
		if !d.StageSince.IsZero() {
			s.since = d.StageSince.Format(config.DateLayout)
		}
		m[d.Name] = s
	}
	return m
}

// change is a transition of a domain's state in the file on a day of the
// simulation.
type change struct {
	day int
	state
}

// simulate drives days of reports through `ststack plan --apply`: each day
// the senders' reports of the day before arrive, then the plan is applied.
// It returns each domain's changes of state, by day of the simulation.
func simulate(t *testing.T, file string, days int, reports func(es *embedded.Store, i int, day store.Day)) map[string][]change {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ststack.yaml")
	if err := os.WriteFile(cfgPath, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	start := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	prev := fileStates(t, cfgPath)
	changes := map[string][]change{}
	for i := 1; i <= days; i++ {
		now := start.AddDate(0, 0, i)
		es, err := embedded.Open(data)
		if err != nil {
			t.Fatal(err)
		}
		reports(es, i-1, store.DayOf(now).AddDays(-1))
		es.Close()
		runPlanAt(t, now, "--config", cfgPath, "--data", data, "--apply")
		cur := fileStates(t, cfgPath)
		for d, s := range cur {
			if s != prev[d] {
				changes[d] = append(changes[d], change{i, s})
			}
		}
		prev = cur
	}
	t.Logf("changes: %v", changes)
	return changes
}

// TestPlanSimulatedMonths: four months of reports through ststack plan
// --apply. A clean domain goes testing → enforce → a longer max_age on the
// documented schedule (14 clean days each with the defaults); a domain
// with failures every ten days never advances; an enforce domain that
// starts failing gets the step back.
func TestPlanSimulatedMonths(t *testing.T) {
	const cert = tlsrpt.ResultCertificateHostMismatch
	changes := simulate(t, planFile(""), 120, func(es *embedded.Store, i int, day store.Day) {
		for _, org := range []string{"google.com", "microsoft.com"} {
			simReport(t, es, "clean.example", day, org, 20, 0, "", "")
			failed := int64(0)
			if i%10 == 5 {
				failed = 8
			}
			simReport(t, es, "failing.example", day, org, 20, failed, cert, "mx.failing.example")
			failed = 0
			if i >= 30 && i < 33 {
				failed = 10 // both senders: a misconfiguration
			}
			simReport(t, es, "turning.example", day, org, 20, failed, cert, "mx1.mail.example.net")
		}
	})
	day := func(i int) string {
		return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(config.DateLayout)
	}
	// Reports start with day 0 (arriving on day 1): 14 clean days on day
	// 14, then one step every 14 days.
	want := []change{
		{14, state{mtasts.ModeEnforce, 86400, day(14)}},
		{28, state{mtasts.ModeEnforce, 604800, day(28)}},
		{42, state{mtasts.ModeEnforce, 2592000, day(42)}},
		{56, state{mtasts.ModeEnforce, 31557600, day(56)}},
	}
	if got := changes["clean.example"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("clean.example: changes %v\nwant %v", got, want)
	}
	if got := changes["failing.example"]; len(got) != 0 {
		t.Errorf("failing.example advanced: %v", got)
	}
	// turning.example: as clean.example until day 28; the failures of day
	// 30 arrive on day 31: back to testing; the climb starts again 14
	// clean days after the last failure (day 32): day 47.
	want = []change{
		{14, state{mtasts.ModeEnforce, 86400, day(14)}},
		{28, state{mtasts.ModeEnforce, 604800, day(28)}},
		{31, state{mtasts.ModeTesting, 604800, day(31)}},
		{47, state{mtasts.ModeEnforce, 86400, day(47)}},
	}
	if got := changes["turning.example"]; len(got) < len(want) || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
		t.Errorf("turning.example: changes %v\nwant first %v", got, want)
	}
}

// TestPlanThresholdsFromFile: the rollout section's thresholds are the ones
// applied: 5 testing days, 3 clean days per step, two steps.
func TestPlanThresholdsFromFile(t *testing.T) {
	file := planFile(`rollout:
  testing_days: 5
  clean_days: 3
  max_age_steps: [3600, 86400]
checker:
  readiness: { window_days: 7, min_sessions: 30 }
`)
	changes := simulate(t, file, 20, func(es *embedded.Store, i int, day store.Day) {
		simReport(t, es, "clean.example", day, "google.com", 10, 0, "", "")
	})
	day := func(i int) string {
		return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(config.DateLayout)
	}
	// min_sessions 30 at 10 a day: the clean days suffice on day 5 (50
	// sessions); in enforce three days of reports (30) on day 8.
	want := []change{
		{5, state{mtasts.ModeEnforce, 3600, day(5)}},
		{8, state{mtasts.ModeEnforce, 86400, day(8)}},
	}
	if got := changes["clean.example"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("clean.example: changes %v\nwant %v", got, want)
	}
	for _, d := range []string{"failing.example", "turning.example"} {
		if len(changes[d]) != 0 {
			t.Errorf("%s without reports changed: %v", d, changes[d])
		}
	}
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files of TestPlanApplyExample")

// TestPlanApplyExample: plan --apply round-trips the example file: the
// output is the golden file, whose only differences from the example are
// the changed values (every comment, blank line and layout kept), and the
// printed diff says exactly that.
func TestPlanApplyExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(repoRootDir, "ststack.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ststack.yaml")
	if err := os.WriteFile(cfgPath, example, 0o640); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	es, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)
	// example.com (testing) and example.org (enforce, max_age 1209600):
	// 15 clean days; mail.example.com has no reports.
	for i := 1; i <= 15; i++ {
		day := store.DayOf(now).AddDays(-i)
		simReport(t, es, "example.com", day, "google.com", 50, 0, "", "")
		simReport(t, es, "example.org", day, "google.com", 50, 0, "", "")
	}
	es.Close()

	// Without --apply the file stays as it is.
	po := runPlanAt(t, now, "--config", cfgPath, "--data", data)
	if b, _ := os.ReadFile(cfgPath); !bytes.Equal(b, example) || po.Applied {
		t.Fatal("plan without --apply changed the file")
	}
	// --sha256 of another file is refused, the file untouched.
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	if code := run(context.Background(), []string{"plan", "--config", cfgPath, "--data", data, "--apply", "--sha256", strings.Repeat("0", 64)}, env); code != exitInvalid || !strings.Contains(errb.String(), "changed since the plan you reviewed") {
		t.Fatalf("apply with a stale --sha256: exit %d, %s", code, errb.String())
	}
	if b, _ := os.ReadFile(cfgPath); !bytes.Equal(b, example) {
		t.Fatal("a refused apply changed the file")
	}

	po2 := runPlanAt(t, now, "--config", cfgPath, "--data", data, "--apply", "--sha256", po.FileSHA256)
	if !po2.Applied || po2.Diff != po.Diff {
		t.Fatalf("applied %v; diff of the apply differs from the plan's:\n%s\n---\n%s", po2.Applied, po2.Diff, po.Diff)
	}
	got, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(cfgPath); fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v, want 0640 kept", fi.Mode().Perm())
	}
	golden := filepath.Join("testdata", "plan", "example.applied.yaml")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("applied file differs from %s (if ststack.example.yaml changed, regenerate it: go test ./cmd/ststack -run TestPlanApplyExample -update, and check the diff):\n%s", golden, lineDiff(golden, "applied", string(want), string(got)))
	}
	// Only the changed values differ: every removed line comes back with
	// only its value changed, every added line is a planned key.
	var minus, plus []string
	for _, l := range strings.Split(po2.Diff, "\n") {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
		case strings.HasPrefix(l, "-"):
			minus = append(minus, l[1:])
		case strings.HasPrefix(l, "+"):
			plus = append(plus, l[1:])
		}
	}
	for _, l := range plus {
		key := strings.TrimSpace(strings.SplitN(strings.TrimSpace(l), ":", 2)[0])
		if !slices.Contains([]string{"mode", "max_age", "stage_since", "policy"}, key) {
			t.Errorf("the diff adds or changes a line that is not a planned value: %q", l)
		}
	}
	if len(minus) == 0 || len(plus) < len(minus) {
		t.Errorf("diff: %d lines removed, %d added; want changed values and added keys:\n%s", len(minus), len(plus), po2.Diff)
	}
	// The applied file says what the plan said.
	c, err := config.Parse(got, "applied")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range po.Domains {
		d, _ := c.Domain(s.Domain)
		if s.NewMode != "" && d.Policy.Mode != s.NewMode || s.NewMaxAge != 0 && d.Policy.MaxAge != s.NewMaxAge {
			t.Errorf("%s: planned %s/%d, file has %s/%d", s.Domain, s.NewMode, s.NewMaxAge, d.Policy.Mode, d.Policy.MaxAge)
		}
	}
	// A second plan has nothing more to change today.
	if po3 := runPlanAt(t, now, "--config", cfgPath, "--data", data); po3.Diff != "" {
		t.Errorf("a second plan the same day changes more:\n%s", po3.Diff)
	}
}

// TestPlanPrintsItsApplyCommand: the text plan shows the command that
// applies it, which works as printed, and the evidence of each domain.
func TestPlanPrintsItsApplyCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ststack.yaml")
	if err := os.WriteFile(cfgPath, []byte(planFile("")), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	es, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 15; i++ {
		day := store.DayOf(now).AddDays(-i)
		simReport(t, es, "clean.example", day, "google.com", 50, 0, "", "")
		failed := int64(0)
		if i == 3 {
			failed = 9
		}
		simReport(t, es, "failing.example", day, "google.com", 50, failed, tlsrpt.ResultCertificateExpired, "mx.failing.example")
	}
	es.Close()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	if code := run(context.Background(), []string{"plan", "--config", cfgPath, "--data", data}, env); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errb.String())
	}
	text := out.String()
	for _, want := range []string{
		"clean.example: testing, max_age 604800",
		"next: move to enforce, max_age 86400",
		"failing.example: testing",
		"next: hold: fix the failures",
		"9 failed sts sessions on 1 day(s), the last 2026-12-17",
		"2026-12-17 mx.failing.example certificate-expired: 9 failed",
		"turning.example: testing, max_age 604800\n  next: collecting evidence",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
	_, cmdLine, ok := strings.Cut(text, "Apply them with:\n  ")
	if !ok {
		t.Fatalf("no apply command in:\n%s", text)
	}
	words := strings.Fields(strings.TrimSpace(cmdLine))
	if words[0] != "ststack" {
		t.Fatalf("apply command %q", cmdLine)
	}
	out.Reset()
	if code := run(context.Background(), words[1:], env); code != exitOK || !strings.Contains(out.String(), "Written to") {
		t.Fatalf("%s: exit %d: %s%s", cmdLine, code, out.String(), errb.String())
	}
	if s := fileStates(t, cfgPath)["clean.example"]; s.mode != mtasts.ModeEnforce || s.maxAge != 86400 || s.since != "2026-12-20" {
		t.Errorf("clean.example after apply: %+v", s)
	}
}

// TestWriteIfUnchanged: --apply refuses, writing nothing, when the file
// changed after the plan read it.
func TestWriteIfUnchanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ststack.yaml")
	read := []byte("organization: A\n")
	if err := os.WriteFile(p, []byte("organization: B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeIfUnchanged(p, read, []byte("organization: C\n")); err == nil || !strings.Contains(err.Error(), "changed while the plan was computed") {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "organization: B\n" {
		t.Errorf("file now %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".ststack.yaml.plan-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	if err := writeIfUnchanged(p, []byte("organization: B\n"), []byte("organization: C\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "organization: C\n" {
		t.Errorf("file now %q", b)
	}
}
