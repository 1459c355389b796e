package config

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// seeds are the unit-test inputs plus the example file.
func seeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	ex, err := os.ReadFile(examplePath)
	if err != nil {
		tb.Fatal(err)
	}
	out = append(out, ex)
	for _, s := range []string{
		valid(),
		valid("checker:", "  schedule: cron(0 12 ? * MON-FRI *)", "  alert_emails: [a@example.com]", "  readiness: {window_days: 3}"),
		withDomains("  - {name: bücher.example, dns: {route53: {hosted_zone_id: Z1}}, policy: {mx: ['*.bücher.example']}}"),
		withReporting("reporting: {https: true, domain: r.example.com, mailto: a!b@example.com, extra_rua: ['https://x.example/']}"),
		withDomains("  - name: example.com", "    dns: {external: true}", "    policy: {mode: none}"),
		lines(headOrg, headRegion, headReport, "x-mx: &mx [mx.example.com]", "domains:", "  - {name: a.example, dns: {external: true}, policy: {mx: *mx}}"),
		"a: [", "", "- a\n", "a: 1\n---\nb: 2\n",
		valid("foo: 1"), valid("region: us-east-1"),
		withDomains("  - name: a.example", "  - name: A.example."),
		emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com", "  email: {receive: true, drop_unsigned: true}"),
		retiringFile("2026-12-06"),
	} {
		out = append(out, []byte(s))
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		// A config that parsed is complete and consistent.
		if len(c.Domains) == 0 || len(c.Domains) > MaxDomains || c.Organization == "" || c.Region == "" {
			t.Fatalf("incomplete config %+v", c)
		}
		seen := map[string]bool{}
		for _, d := range c.Domains {
			if seen[d.Name] || d.Name != strings.ToLower(d.Name) || !isASCII(d.Name) {
				t.Fatalf("domain name %q duplicate or not a lower-case A-label", d.Name)
			}
			seen[d.Name] = true
			if err := d.Policy.Validate(); err != nil {
				t.Fatalf("%s: invalid policy accepted: %v", d.Name, err)
			}
			if r := d.Retire; r != nil && (d.Policy.Mode != mtasts.ModeNone || d.Policy.MaxAge > r.Replaces.MaxAge ||
				r.RemovableAfter().Before(r.Since.Add(24*time.Hour))) {
				t.Fatalf("%s: retiring with policy %+v, retirement %+v", d.Name, d.Policy, r)
			}
			if got, ok := c.Domain(d.Name); !ok || got.Name != d.Name {
				t.Fatalf("Domain(%q) not found", d.Name)
			}
			if !d.DNS.External && (d.DNS.HostedZoneID == "" || !underZone(d.Name, d.DNS.ZoneName)) {
				t.Fatalf("%s: dns %+v", d.Name, d.DNS)
			}
		}
		if rec := c.TLSRPTRecord("https://r.example/"); len(rec.RUA) == 0 {
			t.Fatal("no rua")
		}
		if s := c.StackName(); !stackNameRE.MatchString(s) || len(s) > maxStackBase {
			t.Fatalf("StackName %q", s)
		}
		if err := checkSchedule(c.Checker.Schedule); err != nil {
			t.Fatalf("schedule %q: %v", c.Checker.Schedule, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, examplePath); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMaxDomains parses a file with MaxDomains domains.
func BenchmarkParseMaxDomains(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(lines(headOrg, headRegion, headReport, "defaults: {policy: {mode: enforce, mx: ['*.mx.example.net']}}", "domains:"))
	for i := range MaxDomains {
		sb.WriteString("  - {name: d")
		sb.WriteString(strconv.Itoa(i))
		sb.WriteString(".example, dns: {external: true}}\n")
	}
	data := []byte(sb.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "big.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
