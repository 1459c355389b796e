package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/config"
)

// TestConfigValidateLimits (issue 16): a file whose stacks AWS would refuse
// is invalid, naming the limit and what to do, instead of passing here and
// failing later; 1,000 domains (once refused beyond 100, with a warning
// beyond 10) are valid without a warning.
func TestConfigValidateLimits(t *testing.T) {
	file := func(name string, names []string) string {
		var b strings.Builder
		b.WriteString("organization: Limits\nregion: eu-west-1\ndefaults: {policy: {mode: enforce, mx: [mx.example.net]}}\n")
		b.WriteString("reporting: {mailto: r@example.net, https: true}\ndomains:\n")
		for i, n := range names {
			fmt.Fprintf(&b, "  - {name: %s, dns: {route53: {hosted_zone_id: Z%d}}}\n", n, i)
		}
		return writeFile(t, name, []byte(b.String()))
	}
	// 100 names that hash into one shard of the edge stack: 510 resources.
	var crowded, many []string
	for i := 0; len(crowded) < 100; i++ {
		if n := fmt.Sprintf("s%d.example", i); config.DomainShard(n) == 0 {
			crowded = append(crowded, n)
		}
	}
	big := file("crowded.yaml", crowded)
	code, out, errs := runCLI(t, "", "config", "validate", big)
	if code != exitInvalid || !strings.Contains(out, "error: "+big+": domains: shard 0 of the edge stack") ||
		!strings.Contains(out, "up to 510 resources; CloudFormation allows 500 per stack") || strings.Contains(out, "valid;") || errs != "" {
		t.Errorf("100 Route53 domains in one shard: code %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--json", big)
	var got struct {
		Valid  bool
		Errors []string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitInvalid || got.Valid || len(got.Errors) != 1 {
		t.Errorf("100 Route53 domains in one shard, --json: code %d err %v\n%s", code, err, out)
	}
	for i := range config.MaxDomains {
		many = append(many, fmt.Sprintf("r%d.example", i))
	}
	code, out, _ = runCLI(t, "", "config", "validate", file("thousand.yaml", many))
	if code != exitOK || strings.Contains(out, "warning: ") {
		t.Errorf("1,000 domains: code %d, want 0 and no warning\n%.2000s", code, out)
	}
}
