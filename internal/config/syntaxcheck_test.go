package config

import (
	"encoding/base32"
	"regexp"
	"strings"
	"testing"
)

// FuzzSyntaxChecks: the written-out syntax checks accept exactly what the
// regular expressions in their comments accept.
func FuzzSyntaxChecks(f *testing.F) {
	for _, s := range []string{"eu-west-1", "us-gov-west-1", "eusc-de-east-1", "eu-west-12", "eu-west-123", "e-west-1",
		"euwest-west-1", "eu-west", "eu--1", "eu-west-1-", "EU-west-1", "eu-west-east-north-1", "eu-wést-1",
		"Z123ABC", "Z", "z123", "Z12345678901234567890123456789012", "Z1234567890123456789012345678901", "Zabc",
		"rules", "a", "a.b_c-d", ".a", "a.", "-", "_a", "a b", "ẞ", "yaml: line 3: mapping values are not allowed",
		"yaml: line : x", "yaml: line 12:x", "yaml: line 7: two\nlines", "yaml: line 9: "} {
		f.Add(s)
	}
	region := regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}$`)
	zone := regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	ruleSet := regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$`)
	yamlLineRE := regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isRegion(s), region.MatchString(s); got != want {
			t.Errorf("isRegion(%q) = %v, want %v", s, got, want)
		}
		if got, want := isZoneID(s), zone.MatchString(s); got != want {
			t.Errorf("isZoneID(%q) = %v, want %v", s, got, want)
		}
		if got, want := isRuleSet(s), ruleSet.MatchString(s); got != want {
			t.Errorf("isRuleSet(%q) = %v, want %v", s, got, want)
		}
		line, msg, ok := yamlLine(s)
		m := yamlLineRE.FindStringSubmatch(s)
		if ok != (m != nil) || ok && (line != m[1] || msg != m[2]) {
			t.Errorf("yamlLine(%q) = %q, %q, %v; want %q", s, line, msg, ok, m)
		}
	})
}

// TestBase32Lower: the written-out encoding is encoding/base32's, lower
// case, without padding, for every length up to a SHA-256.
func TestBase32Lower(t *testing.T) {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for n := 0; n <= len(b); n++ {
		if got, want := base32Lower(b[:n]), strings.ToLower(enc.EncodeToString(b[:n])); got != want {
			t.Errorf("base32Lower(%x) = %q, want %q", b[:n], got, want)
		}
	}
}
