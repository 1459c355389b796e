package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// retiringFile has old.example retiring since 2026-12-06, its policy an
// enforce one of two weeks, and example.com staying.
func retiringFile(retire string) string {
	return lines(headOrg, headRegion, headReport,
		"domains:",
		"  - name: example.com",
		"    dns: {external: true}",
		"    policy: {mx: [mx.example.com]}",
		"  - name: old.example",
		"    dns: {external: true}",
		"    policy: {mode: enforce, max_age: 1209600, mx: [mx.old.example]}",
		"    retire: "+retire)
}

func TestRetire(t *testing.T) {
	c := mustParse(t, retiringFile("2026-12-06"))
	d, _ := c.Domain("old.example")
	if !d.Retiring() {
		t.Fatal("old.example is not retiring")
	}
	r := d.Retire
	if want := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC); !r.Since.Equal(want) {
		t.Errorf("Since %v, want %v", r.Since, want)
	}
	if r.Replaces.Mode != mtasts.ModeEnforce || r.Replaces.MaxAge != 1209600 {
		t.Errorf("Replaces %+v, want the configured enforce policy", r.Replaces)
	}
	// RFC 8461 §8.3: mode none, a small max_age, and a new id.
	if d.Policy.Mode != mtasts.ModeNone || d.Policy.MaxAge != RetiringMaxAge || len(d.Policy.MX) != 1 {
		t.Errorf("published policy %+v, want mode none, max_age %d, the same mx", d.Policy, RetiringMaxAge)
	}
	if d.STSRecord().ID == r.Replaces.ID() {
		t.Error("the retiring policy has the id of the one it replaces: senders would not fetch it")
	}
	// The wait: the end of the day deployed plus the replaced max_age.
	want := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC).Add(1209600 * time.Second)
	if got := r.RemovableAfter(); !got.Equal(want) {
		t.Errorf("RemovableAfter %v, want %v", got, want)
	}
	if r.Removable(want.Add(-time.Second)) || !r.Removable(want) {
		t.Errorf("Removable around %v is wrong", want)
	}
	if got, w := r.String(), "retiring since 2026-12-06, removable after 2026-12-21T00:00:00Z"; got != w {
		t.Errorf("String() = %q, want %q", got, w)
	}
	if e, _ := c.Domain("example.com"); e.Retiring() || e.Policy.Mode != mtasts.ModeTesting {
		t.Errorf("example.com: %+v, want not retiring, mode testing", e)
	}

	// A policy shorter than a day keeps its max_age.
	c = mustParse(t, strings.Replace(retiringFile("'2026-12-06'"), "1209600", "3600", 1))
	if d, _ := c.Domain("old.example"); d.Policy.MaxAge != 3600 || !d.Retire.RemovableAfter().Equal(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("short max_age: policy %+v, removable after %v", d.Policy, d.Retire.RemovableAfter())
	}
}

func TestRetireErrors(t *testing.T) {
	for _, tt := range []struct{ retire, msg string }{
		{"2026-13-01", `"2026-13-01" is not a day such as 2026-12-06`},
		{"2026-12-06T10:00:00Z", `is not a day such as`},
		{"soon", `"soon" is not a day`},
		{"true", "must be a string, not a boolean"},
		{"[2026-12-06]", "must be a string, not a list"},
	} {
		_, err := Parse([]byte(retiringFile(tt.retire)), testFile)
		errs := allErrors(t, err)
		if len(errs) != 1 || errs[0].Line != 11 || errs[0].Field != "domains[1].retire" || !strings.Contains(errs[0].Msg, tt.msg) {
			t.Errorf("retire: %s: got %v, want one error at line 11, domains[1].retire, saying %q", tt.retire, err, tt.msg)
		}
	}
}

// outputs returns the describe-stacks JSON of a stack serving domains,
// each "name" or "name|Retirement.String()".
func outputs(stack string, domains ...string) []byte {
	var os []string
	for i, d := range domains {
		name, retiring, _ := strings.Cut(d, "|")
		v := "https://mta-sts." + name + PolicyPath + ` | _mta-sts.` + name + `. TXT \"v=STSv1; id=x\"`
		if retiring != "" {
			v += " | " + retiring
		}
		os = append(os, `{"OutputKey": "Domain`+string(rune('A'+i))+`", "OutputValue": "`+v+`"}`)
	}
	os = append(os, `{"OutputKey": "PolicyDistributionDomain", "OutputValue": "d111.cloudfront.net"}`)
	return []byte(`{"Stacks": [{"StackName": "other", "Outputs": []}, {"StackName": "` + stack + `", "Outputs": [` + strings.Join(os, ",") + `]}]}`)
}

func TestReadDeployed(t *testing.T) {
	ret := "retiring since 2026-12-06, removable after 2026-12-21T00:00:00Z"
	describe := outputs("ststack-acme", "example.com", "old.example|"+ret)
	cdk := []byte(`{"ststack-acme": {"DomainA": "https://mta-sts.example.com/.well-known/mta-sts.txt | x",
		"DomainB": "https://mta-sts.old.example/.well-known/mta-sts.txt | ` + ret + `", "TLSRPTRecord": "v=TLSRPTv1; rua=mailto:a@b.example"}}`)
	for name, data := range map[string][]byte{"describe-stacks": describe, "cdk outputs": cdk} {
		dep, err := ReadDeployed(data, "deployed.json", "ststack-acme")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		old := dep.Domains["old.example"]
		if len(dep.Domains) != 2 || dep.Domains["example.com"].Retiring || !old.Retiring ||
			!old.RemovableAfter.Equal(time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: %+v", name, dep.Domains)
		}
	}
	for _, bad := range []struct{ data, msg string }{
		{`{"Stacks": [{"StackName": "x"}]}`, "no outputs of stack ststack-acme"},
		{`{"ststack-acme": [1]}`, "neither describe-stacks output nor a cdk outputs file"},
		{`[1]`, "not the JSON of stack outputs"},
		{`{`, "not the JSON of stack outputs"},
		{string(outputs("ststack-acme", "old.example|retiring since 2026-12-06, removable after soon")), "output DomainA"},
	} {
		_, err := ReadDeployed([]byte(bad.data), "deployed.json", "ststack-acme")
		if err == nil || !strings.HasPrefix(err.Error(), "deployed.json: ") || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%s: got %v, want an error naming deployed.json saying %q", bad.data, err, bad.msg)
		}
	}
}

// The regression tests of issue 15 "Removing a domain safely": removal is
// refused while the wait is not over, allowed after.
func TestCheckDeployedRemoval(t *testing.T) {
	retiring := mustParse(t, retiringFile("2026-12-06"))
	old, _ := retiring.Domain("old.example")
	dep, err := ReadDeployed(outputs("ststack-acme", "example.com", "old.example|"+old.Retire.String()), "deployed.json", "ststack-acme")
	if err != nil {
		t.Fatal(err)
	}
	removed := mustParse(t, valid()) // example.com only: old.example removed
	end := old.Retire.RemovableAfter()

	for _, now := range []time.Time{old.Retire.Since, end.Add(-time.Second)} {
		err := removed.CheckDeployed(dep, now)
		if !errors.Is(err, ErrRemovalTooEarly) || !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "org.yaml: domains: old.example is retiring since 2026-12-06 and may be removed after 2026-12-21T00:00:00Z") {
			t.Errorf("removal at %v: got %v, want it refused until %v", now, err, end)
		}
	}
	for _, now := range []time.Time{end, end.Add(time.Hour)} {
		if err := removed.CheckDeployed(dep, now); err != nil {
			t.Errorf("removal at %v, after the wait: %v", now, err)
		}
	}
	// Keeping it retiring is fine at any time.
	if err := retiring.CheckDeployed(dep, old.Retire.Since); err != nil {
		t.Errorf("unchanged file: %v", err)
	}

	// A deployed domain that is not retiring cannot be removed at all.
	active, err := ReadDeployed(outputs("ststack-acme", "example.com", "old.example"), "deployed.json", "ststack-acme")
	if err != nil {
		t.Fatal(err)
	}
	err = removed.CheckDeployed(active, end.AddDate(1, 0, 0))
	if !errors.Is(err, ErrRemovalTooEarly) || !strings.Contains(err.Error(), "old.example is deployed (deployed.json) and not retiring") ||
		!strings.Contains(err.Error(), "retire: 2027-12-21") {
		t.Errorf("removal of an active domain: got %v", err)
	}
}

func TestCheckDeployedRetirementStart(t *testing.T) {
	active, err := ReadDeployed(outputs("ststack-acme", "example.com", "old.example"), "deployed.json", "ststack-acme")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, retiringFile("2026-12-06"))
	// Deployed on the 6th or later: fine on the day itself.
	if err := c.CheckDeployed(active, time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("retirement starting today: %v", err)
	}
	// Deployed on the 10th, the wait would count from the 7th.
	err = c.CheckDeployed(active, time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC))
	errs := allErrors(t, err)
	if !errors.Is(err, ErrRetirementShortened) || len(errs) != 1 || errs[0].Line != 11 || errs[0].Field != "domains[1].retire" ||
		!strings.Contains(errs[0].Msg, "set retire: 2026-12-10") {
		t.Errorf("retirement dated before its deploy: got %v", err)
	}
	// Once deployed retiring, the wait may grow but not shrink.
	old, _ := c.Domain("old.example")
	dep, err := ReadDeployed(outputs("ststack-acme", "example.com", "old.example|"+old.Retire.String()), "deployed.json", "ststack-acme")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
	if err := mustParse(t, retiringFile("2026-12-08")).CheckDeployed(dep, later); err != nil {
		t.Errorf("later retirement day: %v", err)
	}
	shorter := mustParse(t, strings.Replace(retiringFile("2026-12-06"), "1209600", "86400", 1))
	if err := shorter.CheckDeployed(dep, later); !errors.Is(err, ErrRetirementShortened) ||
		!strings.Contains(err.Error(), "ends 2026-12-21T00:00:00Z; this file ends it earlier, 2026-12-08T00:00:00Z") {
		t.Errorf("shortened retirement: got %v", err)
	}
}
