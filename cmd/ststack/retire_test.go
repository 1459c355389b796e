package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Removing a retiring domain is refused by config validate --deployed
// while senders may hold its previous policy, and allowed after (issue 15,
// RFC 8461 §8.3).
func TestConfigValidateDeployed(t *testing.T) {
	head := "organization: Acme\nregion: eu-west-1\nreporting: {mailto: tlsrpt@example.com}\ndomains:\n" +
		"  - {name: example.com, dns: {external: true}, policy: {mx: [mx.example.com]}}\n"
	retiring := writeFile(t, "retiring.yaml", []byte(head+
		"  - name: old.example\n    dns: {external: true}\n    policy: {mode: enforce, max_age: 1209600, mx: [mx.old.example]}\n    retire: 2026-12-06\n"))
	removed := writeFile(t, "removed.yaml", []byte(head))

	code, out, _ := runCLI(t, "", "config", "validate", "--at", "2026-12-20T00:00:00Z", retiring)
	if code != exitOK || !strings.Contains(out, "old.example") || !strings.Contains(out, "retiring: may be removed after 2026-12-21T00:00:00Z") {
		t.Fatalf("retiring file: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--at", "2026-12-21T00:00:00Z", retiring)
	if code != exitOK || !strings.Contains(out, "retiring: the wait ended at 2026-12-21T00:00:00Z; it may be removed") {
		t.Fatalf("retiring file after the wait: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--json", retiring)
	var got struct {
		Domains []struct {
			Name, Mode     string
			RemovableAfter string `json:"removable_after"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || len(got.Domains) != 2 ||
		got.Domains[1].Mode != "none" || got.Domains[1].RemovableAfter != "2026-12-21T00:00:00Z" || got.Domains[0].RemovableAfter != "" {
		t.Fatalf("json: code %d, err %v\n%s", code, err, out)
	}

	// The stack as deployed from retiring.yaml (aws cloudformation describe-stacks).
	deployed := writeFile(t, "deployed.json", []byte(`{"Stacks": [{"StackName": "ststack-acme", "Outputs": [
		{"OutputKey": "DomainA", "OutputValue": "https://mta-sts.example.com/.well-known/mta-sts.txt | x"},
		{"OutputKey": "DomainB", "OutputValue": "https://mta-sts.old.example/.well-known/mta-sts.txt | x | retiring since 2026-12-06, removable after 2026-12-21T00:00:00Z"}]}]}`))
	code, out, _ = runCLI(t, "", "config", "validate", "--deployed", deployed, "--at", "2026-12-20T23:59:59Z", removed)
	if code != exitInvalid || !strings.Contains(out, "error: "+removed+": domains: old.example is retiring since 2026-12-06 and may be removed after 2026-12-21T00:00:00Z, not before") {
		t.Errorf("removal before the wait is over: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--deployed", deployed, "--at", "2026-12-21T00:00:00Z", removed)
	if code != exitOK || strings.Contains(out, "error") {
		t.Errorf("removal after the wait: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--deployed", deployed, "--at", "2026-12-10T00:00:00Z", retiring)
	if code != exitOK {
		t.Errorf("unchanged file: code %d\n%s", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--deployed", deployed, "--at", "tomorrow", removed}, exitUsage, `--at "tomorrow" is not an RFC 3339 time`},
		{[]string{"--deployed", writeFile(t, "other.json", []byte(`{"Stacks": []}`)), removed}, exitInvalid, "other.json: no outputs of stack ststack-acme"},
		{[]string{"--deployed", deployed + ".missing", removed}, exitInvalid, "deployed.json.missing"},
	} {
		code, out, errs := runCLI(t, "", append([]string{"config", "validate"}, c.args...)...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: code %d, want %d and %q\n%s%s", c.args, code, c.code, c.want, out, errs)
		}
	}
}
