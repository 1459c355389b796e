package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// limitsFile is an organisation file with route53 Route53 domains and
// external domains on external DNS, and SMTP probes on.
func limitsFile(route53, external int) string {
	var b strings.Builder
	b.WriteString("organization: Limits\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\n")
	b.WriteString("reporting: {mailto: r@example.net, https: true}\ndomains:\n")
	for i := range route53 {
		fmt.Fprintf(&b, "  - {name: r%d.example, dns: {route53: {hosted_zone_id: Z%d}}}\n", i, i)
	}
	for i := range external {
		fmt.Fprintf(&b, "  - {name: e%d.example, dns: {external: true}}\n", i)
	}
	return b.String()
}

func TestCheckLimits(t *testing.T) {
	cases := []struct {
		name              string
		route53, external int
		wantErr           []string // each in the error; none: no error
		wantWarn          string
	}{
		{"few", 3, 1, nil, ""},
		{"ten", 10, 0, nil, ""},
		{"eleven: ACM default quota", 11, 0, nil, "ACM's default quota is 10 names per certificate"},
		{"95 Route53 domains fit", 95, 0, nil, "raise \"Domain names per ACM certificate\""},
		// The case: 100 Route53 domains gave a raw Go panic at
		// 507 resources.
		{"100 Route53 domains: resources", 100, 0, []string{"up to 520 resources", "CloudFormation allows 500 per stack"}, ""},
		{"external DNS: custom resource response", 12, 1, []string{"e0.example", "CloudFormation takes at most 4096"}, ""},
		{"101 domains", 0, 101, []string{"one ACM certificate names at most 100", "at most 100 alternate domain names"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(limitsFile(tc.route53, tc.external)), "limits.yaml")
			if err != nil {
				t.Fatal(err)
			}
			warns, err := c.CheckLimits()
			if len(tc.wantErr) == 0 && err != nil {
				t.Errorf("CheckLimits: %v, want no error", err)
			}
			if len(tc.wantErr) > 0 {
				if !errors.Is(err, ErrLimit) {
					t.Fatalf("CheckLimits: %v, want ErrLimit", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "limits.yaml: domains: ") {
						t.Errorf("CheckLimits: %v, want limits.yaml: domains: ... %q", err, w)
					}
				}
			}
			if len(tc.wantErr) > 0 {
				return
			}
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.String())
			}
			if got := strings.Join(ws, "\n"); (tc.wantWarn == "") != (got == "") || !strings.Contains(got, tc.wantWarn) {
				t.Errorf("warnings %q, want one containing %q", got, tc.wantWarn)
			}
		})
	}
}

// TestValidationResponseSize: the bound grows with each name and its
// length, and is 0 without external DNS (no custom resource).
func TestValidationResponseSize(t *testing.T) {
	parse := func(r, e int) *Config {
		c, err := Parse([]byte(limitsFile(r, e)), "limits.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if n := parse(10, 1).ValidationResponseSize(); n > CustomResourceResponse {
		t.Errorf("11 names with short hosts: %d bytes, want within %d", n, CustomResourceResponse)
	}
	if n := parse(5, 0).ValidationResponseSize(); n != 0 {
		t.Errorf("no external domain: %d bytes, want 0", n)
	}
	one, two := parse(0, 1).ValidationResponseSize(), parse(1, 1).ValidationResponseSize()
	// Per name: 3 keys of about 50 bytes, the host twice, 2 × 33 hex and the ACM suffix.
	if per := two - one; per < 250 || per > 400 {
		t.Errorf("one more name adds %d bytes, want 250..400", per)
	}
}
