package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestConfigValidateLimits (issue 16): a file whose stacks AWS would refuse
// is invalid, naming the limit and what to do, instead of passing here and
// failing later (100 Route53 domains gave a raw Go panic in the CDK at 507
// resources); one that needs a raised default quota gets a warning.
func TestConfigValidateLimits(t *testing.T) {
	file := func(name string, route53 int) string {
		var b strings.Builder
		b.WriteString("organization: Limits\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\n")
		b.WriteString("reporting: {mailto: r@example.net, https: true}\ndomains:\n")
		for i := range route53 {
			fmt.Fprintf(&b, "  - {name: r%d.example, dns: {route53: {hosted_zone_id: Z%d}}}\n", i, i)
		}
		return writeFile(t, name, []byte(b.String()))
	}
	big := file("big.yaml", 100)
	code, out, errs := runCLI(t, "", "config", "validate", big)
	if code != exitInvalid || !strings.Contains(out, "error: "+big+": domains: the main stack would hold up to 520 resources") ||
		!strings.Contains(out, "CloudFormation allows 500 per stack") || strings.Contains(out, "valid;") || errs != "" {
		t.Errorf("100 Route53 domains: code %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--json", big)
	var got struct {
		Valid  bool
		Errors []string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitInvalid || got.Valid || len(got.Errors) != 1 {
		t.Errorf("100 Route53 domains, --json: code %d err %v\n%s", code, err, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", file("eleven.yaml", 11))
	if code != exitOK || !strings.Contains(out, "warning: ") || !strings.Contains(out, "ACM's default quota is 10 names per certificate") {
		t.Errorf("11 domains: code %d\n%s", code, out)
	}
}
