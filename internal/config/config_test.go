package config

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

const testFile = "org.yaml"

// lines joins its arguments as lines, so a case's line numbers can be read
// off its position in the list (first argument = line 1).
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// allErrors flattens what Parse returned into its *Error values.
func allErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		var ce *Error
		if errors.As(e, &ce) && ce == e {
			out = append(out, ce)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		t.Fatalf("error %v (%T) is not a *config.Error", e, e)
	}
	walk(err)
	return out
}

// A minimal valid file; the cases below replace parts of it.
var (
	headOrg    = "organization: Acme"
	headRegion = "region: eu-west-1"
	headReport = "reporting: {https: true}"
	oneDomain  = []string{
		"domains:",
		"  - name: example.com",
		"    dns: {external: true}",
		"    policy: {mx: [mx.example.com]}",
	}
)

// valid returns the minimal valid file with extra lines appended (from
// line 8 on).
func valid(extra ...string) string {
	return lines(slices.Concat([]string{headOrg, headRegion, headReport}, oneDomain, extra)...)
}

// withDomains returns head lines 1-3 and "domains:" on line 4, then ds from
// line 5 on, then defaults giving every policy an mx.
func withDomains(ds ...string) string {
	return withDomainsNoMX(ds...) + "defaults: {policy: {mx: [mx.default.example]}}\n"
}

// withDomainsNoMX is withDomains without the default mx.
func withDomainsNoMX(ds ...string) string {
	return lines(slices.Concat([]string{headOrg, headRegion, headReport, "domains:"}, ds)...)
}

// withReporting returns lines 1-2, the one domain on lines 3-6, then rs
// from line 7 on.
func withReporting(rs ...string) string {
	return lines(slices.Concat([]string{headOrg, headRegion}, oneDomain, rs)...)
}

type wantErr struct {
	line  int
	field string
	msg   string // substring of Msg
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		{"empty file", "", []wantErr{{0, "", "file is empty"}}},
		{"comment only", "# nothing\n", []wantErr{{0, "", "file is empty"}}},
		{"syntax", lines(headOrg, "region: [eu-west-1"), []wantErr{{2, "", "did not find expected"}}},
		{"root is a list", "- a\n", []wantErr{{1, "", "must be a mapping"}}},
		{"two documents", valid("---", "a: b"), []wantErr{{8, "", "second YAML document"}}},
		{"unknown top key with suggestion", valid("organisation: x"), []wantErr{{8, "organisation", "did you mean organization?"}}},
		{"unknown top key", valid("foo: 1"), []wantErr{{8, "foo", "known: organization, region"}}},
		{"duplicate key", valid("region: us-east-1"), []wantErr{{8, "region", "duplicate key (first at line 2)"}}},
		{"non-string key", valid("1: x"), []wantErr{{8, "", "keys must be plain names"}}},
		{"missing organization", lines(slices.Concat([]string{headRegion, headReport}, oneDomain)...),
			[]wantErr{{1, "organization", "required"}}},
		{"blank organization", lines(slices.Concat([]string{`organization: "  "`, headRegion, headReport}, oneDomain)...),
			[]wantErr{{1, "organization", "must not be empty"}}},
		{"organization is a list", lines(slices.Concat([]string{`organization: [a]`, headRegion, headReport}, oneDomain)...),
			[]wantErr{{1, "organization", "must be a string, not a list"}}},
		{"organization control char", lines(slices.Concat([]string{`organization: "a\tb"`, headRegion, headReport}, oneDomain)...),
			[]wantErr{{1, "organization", "control characters"}}},
		{"organization too long", lines(slices.Concat([]string{"organization: " + strings.Repeat("a", 257), headRegion, headReport}, oneDomain)...),
			[]wantErr{{1, "organization", "longer than 256"}}},
		{"missing region", lines(slices.Concat([]string{headOrg, headReport}, oneDomain)...),
			[]wantErr{{1, "region", "required"}}},
		{"bad region", lines(slices.Concat([]string{headOrg, "region: EU-West-1", headReport}, oneDomain)...),
			[]wantErr{{2, "region", `"EU-West-1" is not an AWS region`}}},
		{"region boolean", lines(slices.Concat([]string{headOrg, "region: true", headReport}, oneDomain)...),
			[]wantErr{{2, "region", "not a boolean (quote it)"}}},
		{"region empty", lines(slices.Concat([]string{headOrg, "region:", headReport}, oneDomain)...),
			[]wantErr{{2, "region", "not empty"}}},

		// domains
		{"missing domains", lines(headOrg, headRegion, headReport), []wantErr{{1, "domains", "at least one domain"}}},
		{"empty domains", lines(headOrg, headRegion, headReport, "domains: []"), []wantErr{{4, "domains", "at least one domain"}}},
		{"domains not a list", lines(headOrg, headRegion, headReport, "domains: example.com"), []wantErr{{4, "domains", "must be a list"}}},
		{"domain not a mapping", withDomains("  - example.com"), []wantErr{{5, "domains[0]", "must be a mapping with keys name, dns, policy"}}},
		{"domain without name", withDomains("  - dns: {external: true}"), []wantErr{{5, "domains[0].name", "required"}}},
		{"domain name invalid", withDomains("  - name: exa_mple.com", "    dns: {external: true}"),
			[]wantErr{{5, "domains[0].name", "not a valid domain name"}}},
		{"domain name one label", withDomains("  - name: localhost", "    dns: {external: true}"),
			[]wantErr{{5, "domains[0].name", "needs at least two labels"}}},
		{"domain name too long", withDomains("  - name: "+strings.Repeat("a.", 121)+"com", "    dns: {external: true}"),
			[]wantErr{{5, "domains[0].name", "longer than 242"}}},
		{"domain duplicate ignoring case and dot", withDomains(
			"  - name: example.com", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}",
			"  - name: EXAMPLE.com.", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}"),
			[]wantErr{{8, "domains[1].name", "example.com is listed twice (first at line 5)"}}},
		{"domain duplicate U-label and A-label", withDomains(
			"  - name: bücher.example", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}",
			"  - name: xn--bcher-kva.example", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}"),
			[]wantErr{{8, "domains[1].name", "xn--bcher-kva.example is listed twice (first at line 5)"}}},
		{"domain unknown key", withDomains("  - name: example.com", "    dns: {external: true}", "    polcy: {}"),
			[]wantErr{{7, "domains[0].polcy", "did you mean policy?"}}},

		// dns
		{"dns missing", withDomains("  - name: example.com"), []wantErr{{5, "domains[0].dns", "required"}}},
		{"dns both", withDomains("  - name: example.com", "    dns: {external: true, route53: {hosted_zone_id: Z1}}"),
			[]wantErr{{6, "domains[0].dns.route53", "not both"}}},
		{"dns neither", withDomains("  - name: example.com", "    dns: {external: false}"),
			[]wantErr{{6, "domains[0].dns", "set route53"}}},
		{"dns external not bool", withDomains("  - name: example.com", "    dns: {external: yes}"),
			[]wantErr{{6, "domains[0].dns.external", "must be true or false, not a string"}}},
		{"zone id missing", withDomains("  - name: example.com", "    dns:", "      route53: {zone_name: example.com}"),
			[]wantErr{{7, "domains[0].dns.route53.hosted_zone_id", "required"}}},
		{"zone id lower case", withDomains("  - name: example.com", "    dns:", "      route53:", "        hosted_zone_id: z0123abc"),
			[]wantErr{{8, "domains[0].dns.route53.hosted_zone_id", `"z0123abc" is not a hosted zone id`}}},
		{"zone id with prefix", withDomains("  - name: example.com", "    dns:", "      route53:", "        hosted_zone_id: /hostedzone/Z0123ABC"),
			[]wantErr{{8, "domains[0].dns.route53.hosted_zone_id", "leave out /hostedzone/"}}},
		{"zone name not a parent", withDomains("  - name: example.com", "    dns:", "      route53:", "        hosted_zone_id: Z0123ABC", "        zone_name: ample.com"),
			[]wantErr{{9, "domains[0].dns.route53.zone_name", "ample.com is neither example.com nor a parent of it"}}},
		{"zone name a child", withDomains("  - name: example.com", "    dns:", "      route53:", "        hosted_zone_id: Z0123ABC", "        zone_name: sub.example.com"),
			[]wantErr{{9, "domains[0].dns.route53.zone_name", "neither"}}},
		{"route53 unknown key", withDomains("  - name: example.com", "    dns:", "      route53:", "        hosted_zone_id: Z0123ABC", "        zone: example.com"),
			[]wantErr{{9, "domains[0].dns.route53.zone", "unknown field"}}},

		// policy
		{"mode invalid", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      mode: enforcing", "      mx: [mx.example.com]"),
			[]wantErr{{8, "domains[0].policy.mode", `"enforcing" is not enforce, testing or none`}}},
		{"max_age negative", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      max_age: -1", "      mx: [mx.example.com]"),
			[]wantErr{{8, "domains[0].policy.max_age", "-1 is not 0 to 31557600"}}},
		{"max_age too large", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      max_age: 31557601", "      mx: [mx.example.com]"),
			[]wantErr{{8, "domains[0].policy.max_age", "31557601 is not 0 to 31557600"}}},
		{"max_age a string", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      max_age: 1w", "      mx: [mx.example.com]"),
			[]wantErr{{8, "domains[0].policy.max_age", "must be a whole number, not a string"}}},
		{"max_age a float", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      max_age: 1.5", "      mx: [mx.example.com]"),
			[]wantErr{{8, "domains[0].policy.max_age", "must be a whole number, not a number"}}},
		{"mx not a list", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      mx: mx.example.com"),
			[]wantErr{{8, "domains[0].policy.mx", "must be a list"}}},
		{"mx wildcard in the middle", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      mx:", "        - mx.example.com", "        - mx.*.example.com"),
			[]wantErr{{10, "domains[0].policy.mx[1]", "wildcard"}}},
		{"mx listed twice", withDomains("  - name: example.com", "    dns: {external: true}", "    policy:", "      mx:", "        - mx.example.com", "        - MX.example.com."),
			[]wantErr{{10, "domains[0].policy.mx[1]", "mx.example.com is listed twice (also mx[0])"}}},
		{"mx missing", withDomainsNoMX("  - name: example.com", "    dns: {external: true}"),
			[]wantErr{{5, "domains[0].policy.mx", ""}}},
		{"mx empty list", withDomains("  - name: example.com", "    dns: {external: true}", "    policy: {mode: enforce, mx: []}"),
			[]wantErr{{7, "domains[0].policy.mx", ""}}},
		{"policy unknown key", withDomains("  - name: example.com", "    dns: {external: true}", "    policy: {maxage: 5, mx: [mx.example.com]}"),
			[]wantErr{{7, "domains[0].policy.maxage", "did you mean max_age?"}}},
		{"defaults mode invalid", lines(headOrg, headRegion, headReport, "defaults:", "  policy: {mode: strict, mx: [mx.example.com]}",
			"domains:", "  - name: example.com", "    dns: {external: true}"),
			[]wantErr{{5, "defaults.policy.mode", `"strict" is not`}}},
		{"defaults unknown key", lines(headOrg, headRegion, headReport, "defaults:", "  dns: {external: true}",
			"domains:", "  - name: example.com", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}"),
			[]wantErr{{5, "defaults.dns", "unknown field"}}},
		{"alias", lines(headOrg, headRegion, headReport, "x-mx: &mx [mx.example.com]",
			"domains:", "  - name: example.com", "    dns: {external: true}", "    policy: {mx: *mx}"),
			[]wantErr{{4, "x-mx", "unknown field"}, {8, "domains[0].policy.mx", "aliases (*mx) are not supported"}}},

		{"merge key", withDomains("  - &d {name: a.example, dns: {external: true}}", "  - {<<: *d, name: b.example}"),
			[]wantErr{{6, "domains[1].<<", "merge keys are not supported"}}},
		{"empty defaults", lines(headOrg, headRegion, headReport, "defaults:", "domains:", "  - {name: a.example, dns: {external: true}, policy: {mx: [mx.example.com]}}"),
			[]wantErr{{4, "defaults", "must be a mapping with keys policy, not empty"}}},

		// reporting
		{"reporting missing", withReporting(), []wantErr{{1, "reporting", "no report destination"}}},
		{"reporting https false", withReporting("reporting:", "  https: false"), []wantErr{{8, "reporting", "no report destination"}}},
		{"reporting empty extra", withReporting("reporting: {extra_rua: []}"), []wantErr{{7, "reporting", "no report destination"}}},
		{"reporting https not bool", withReporting("reporting: {https: 1}"), []wantErr{{7, "reporting.https", "must be true or false"}}},
		{"reporting domain without https", withReporting("reporting:", "  mailto: a@example.com", "  domain: tlsrpt.example.com"),
			[]wantErr{{9, "reporting.domain", "needs https: true"}}},
		{"reporting domain not in a route53 zone", withReporting("reporting:", "  https: true", "  domain: tlsrpt.example.com"),
			[]wantErr{{9, "reporting.domain", "not in the Route53 zone of a configured domain"}}},
		{"reporting domain is a policy host", lines(headOrg, headRegion,
			"domains:", "  - {name: example.com, dns: {route53: {hosted_zone_id: Z1}}, policy: {mx: [mx.example.com]}}",
			"reporting:", "  https: true", "  domain: MTA-STS.example.com"),
			[]wantErr{{7, "reporting.domain", "mta-sts.example.com is a mail domain or policy host already"}}},
		{"reporting domain is a mail domain", lines(headOrg, headRegion,
			"domains:", "  - {name: example.com, dns: {route53: {hosted_zone_id: Z1}}, policy: {mx: [mx.example.com]}}",
			"reporting:", "  https: true", "  domain: example.com"),
			[]wantErr{{7, "reporting.domain", "is a mail domain or policy host already"}}},
		{"reporting domain invalid", withReporting("reporting:", "  https: true", "  domain: tls rpt.example.com"),
			[]wantErr{{9, "reporting.domain", "not a valid domain name"}}},
		{"mailto with scheme", withReporting("reporting:", "  mailto: mailto:a@example.com"),
			[]wantErr{{8, "reporting.mailto", "without mailto:"}}},
		{"mailto not an address", withReporting("reporting:", "  mailto: reports"),
			[]wantErr{{8, "reporting.mailto", "not an e-mail address"}}},
		{"mailto with a name", withReporting("reporting:", "  mailto: Reports <r@example.com>"),
			[]wantErr{{8, "reporting.mailto", "bare address"}}},
		{"mailto quoted local part", withReporting("reporting:", `  mailto: '"a b"@example.com'`),
			[]wantErr{{8, "reporting.mailto", "quoted local parts"}}},
		{"mailto domain literal", withReporting("reporting:", "  mailto: a@[192.0.2.1]"),
			[]wantErr{{8, "reporting.mailto", "not a valid domain name"}}},
		{"mailto single-label domain", withReporting("reporting:", "  mailto: a@localhost"),
			[]wantErr{{8, "reporting.mailto", "at least two labels"}}},
		{"extra_rua bad scheme", withReporting("reporting:", "  extra_rua:", "    - mailto:a@example.com", "    - http://example.com/r"),
			[]wantErr{{10, "reporting.extra_rua[1]", "http: is not allowed"}}},
		{"extra_rua not a list", withReporting("reporting:", "  extra_rua: mailto:a@example.com"),
			[]wantErr{{8, "reporting.extra_rua", "must be a list"}}},
		{"extra_rua duplicate", withReporting("reporting:", "  extra_rua: [mailto:a@example.com, MAILTO:a@example.com]"),
			[]wantErr{{8, "reporting.extra_rua[1]", "listed twice (also extra_rua[0])"}}},
		{"extra_rua same as mailto", withReporting("reporting:", "  mailto: a@example.com", "  extra_rua: [mailto:a@example.com]"),
			[]wantErr{{9, "reporting.extra_rua[0]", "is reporting.mailto already"}}},

		// checker
		{"schedule garbage", valid("checker: {schedule: hourly}"), []wantErr{{8, "checker.schedule", "is not rate(N unit) or cron"}}},
		{"schedule rate zero", valid("checker: {schedule: rate(0 hours)}"), []wantErr{{8, "checker.schedule", "not a positive whole number"}}},
		{"schedule rate plural", valid("checker: {schedule: rate(1 hours)}"), []wantErr{{8, "checker.schedule", "singular (hour)"}}},
		{"schedule rate singular", valid("checker: {schedule: rate(5 minute)}"), []wantErr{{8, "checker.schedule", "plural (minutes)"}}},
		{"schedule rate unit", valid("checker: {schedule: rate(2 weeks)}"), []wantErr{{8, "checker.schedule", `unit "weeks"`}}},
		{"schedule cron five fields", valid("checker:", "  schedule: cron(0 12 * * ?)"), []wantErr{{9, "checker.schedule", "want 6 fields"}}},
		{"schedule cron both days", valid("checker:", "  schedule: cron(0 12 * * * *)"), []wantErr{{9, "checker.schedule", "exactly one of day-of-month and day-of-week"}}},
		{"schedule cron neither day", valid("checker:", "  schedule: cron(0 12 ? * ? *)"), []wantErr{{9, "checker.schedule", "exactly one of"}}},
		{"schedule cron minute range", valid("checker:", "  schedule: cron(60 12 * * ? *)"), []wantErr{{9, "checker.schedule", `minutes field "60": 60 is not 0 to 59`}}},
		{"schedule cron bad weekday", valid("checker:", "  schedule: cron(0 12 ? * MON-FUN *)"), []wantErr{{9, "checker.schedule", `"FUN" is not a number`}}},
		{"schedule cron backwards range", valid("checker:", "  schedule: cron(0 12 ? * FRI-MON *)"), []wantErr{{9, "checker.schedule", "backwards"}}},
		{"schedule cron ? in hours", valid("checker:", "  schedule: cron(0 ? * * ? *)"), []wantErr{{9, "checker.schedule", "only allowed in day-of-month"}}},
		{"schedule cron bad step", valid("checker:", "  schedule: cron(0/0 * * * ? *)"), []wantErr{{9, "checker.schedule", "step"}}},
		{"schedule cron bad #", valid("checker:", "  schedule: cron(0 12 ? * 2#6 *)"), []wantErr{{9, "checker.schedule", "after # is not 1 to 5"}}},
		{"alert email bad", valid("checker:", "  alert_emails:", "    - ops@example.com", "    - ops"),
			[]wantErr{{11, "checker.alert_emails[1]", "not an e-mail address"}}},
		{"alert email duplicate", valid("checker:", "  alert_emails: [ops@example.com, OPS@Example.com]"),
			[]wantErr{{9, "checker.alert_emails[1]", "listed twice (also alert_emails[0])"}}},
		{"smtp_probe not bool", valid("checker: {smtp_probe: on}"), []wantErr{{8, "checker.smtp_probe", "must be true or false"}}},
		{"readiness window zero", valid("checker:", "  readiness: {window_days: 0}"), []wantErr{{9, "checker.readiness.window_days", "0 is not 1 to 366"}}},
		{"readiness sessions string", valid("checker:", "  readiness:", "    min_sessions: many"),
			[]wantErr{{10, "checker.readiness.min_sessions", "must be a whole number"}}},
		{"silence sender beyond lookback", valid("checker:", "  silence: {sender_days: 30, lookback_days: 30}"),
			[]wantErr{{9, "checker.silence.sender_days", "30 days is not shorter than silence.lookback_days (30)"}}},
		{"silence lookback short", valid("checker:", "  silence:", "    lookback_days: 3"), []wantErr{{10, "checker.silence.lookback_days", "3 is not 7 to 366"}}},
		{"silence domain negative", valid("checker:", "  silence: {domain_days: -1}"), []wantErr{{9, "checker.silence.domain_days", "-1 is not 0 to 366"}}},
		{"silence unknown key", valid("checker:", "  silence: {sender_hours: 5}"), []wantErr{{9, "checker.silence.sender_hours", "sender_days, domain_days, lookback_days"}}},
		{"checker unknown key", valid("checker: {scedule: rate(1 hour)}"), []wantErr{{8, "checker.scedule", "did you mean schedule?"}}},
		{"checker not a mapping", valid("checker: hourly"), []wantErr{{8, "checker", "must be a mapping"}}},

		{"duplicate domain's policy still checked", withDomains(
			"  - name: example.com", "    dns: {external: true}", "    policy: {mx: [mx.example.com]}",
			"  - name: example.com", "    dns: {external: true}", "    policy: {mode: enforced, mx: [mx.example.com]}"),
			[]wantErr{{8, "domains[1].name", "listed twice"}, {10, "domains[1].policy.mode", "not enforce"}}},
		{"name, dns and policy all checked", withDomains(
			"  - name: bad_name.example", "    dns: {route53: {hosted_zone_id: z1, zone_name: x.example}}", "    policy: {mode: x, mx: [mx.example.com]}"),
			[]wantErr{{5, "domains[0].name", "not a valid"}, {6, "domains[0].dns.route53.hosted_zone_id", "not a hosted zone id"},
				{7, "domains[0].policy.mode", "not enforce"}}},
		{"several errors in line order", withDomains(
			"  - name: bad_name.com", "    dns: {external: true}",
			"  - name: example.com", "    dns: {external: maybe}"),
			[]wantErr{{5, "domains[0].name", "not a valid"}, {8, "domains[1].dns.external", "true or false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), testFile)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %v\ninput:\n%s", tt.want, tt.in)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			got := allErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != testFile || g.Line != w.line || g.Field != w.field || !strings.Contains(g.Msg, w.msg) {
					t.Errorf("error %d = %q\nwant %s:%d: %s: …%s…", i, g.Error(), testFile, w.line, w.field, w.msg)
				}
				prefix := location(testFile, w.line, w.field)
				if !strings.HasPrefix(g.Error(), prefix) {
					t.Errorf("Error() = %q, want prefix %q", g.Error(), prefix)
				}
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		is   []error
	}{
		{"syntax", "a: [", []error{ErrSyntax}},
		{"invalid", valid("foo: 1"), []error{ErrInvalid}},
		{"mode keeps mtasts sentinel", withDomains("  - name: example.com", "    dns: {external: true}", "    policy: {mode: x, mx: [a.example]}"),
			[]error{ErrInvalid, mtasts.ErrPolicyMode}},
		{"mx keeps mtasts sentinel", withDomains("  - name: example.com", "    dns: {external: true}", "    policy: {mx: ['*.*.example']}"),
			[]error{ErrInvalid, mtasts.ErrPolicyMX}},
		{"missing mx keeps mtasts sentinel", withDomainsNoMX("  - name: example.com", "    dns: {external: true}"),
			[]error{ErrInvalid, mtasts.ErrPolicyMX}},
		{"rua keeps tlsrpt sentinel", withReporting("reporting: {extra_rua: ['ftp://x']}"),
			[]error{ErrInvalid, tlsrpt.ErrRecordSyntax}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), testFile)
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	big := valid("# " + strings.Repeat("x", MaxFileSize))
	_, err := Parse([]byte(big), testFile)
	var ce *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &ce) || ce.File != testFile || ce.Line != 0 {
		t.Errorf("oversized file: got %v, want a file-level ErrTooLarge", err)
	}

	build := func(n int) string {
		ds := make([]string, 0, 2*n)
		for i := range n {
			ds = append(ds, "  - {name: d"+strconv.Itoa(i)+".example, dns: {external: true}}")
		}
		return lines(slices.Concat([]string{headOrg, headRegion, headReport,
			"defaults: {policy: {mx: [mx.example.com]}}", "domains:"}, ds)...)
	}
	if c, err := Parse([]byte(build(MaxDomains)), testFile); err != nil || len(c.Domains) != MaxDomains {
		t.Fatalf("%d domains: err %v", MaxDomains, err)
	}
	_, err = Parse([]byte(build(MaxDomains+1)), testFile)
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &ce) || ce.Line != 6 || ce.Field != "domains" {
		t.Errorf("%d domains: got %v, want ErrTooLarge at line 6, field domains", MaxDomains+1, err)
	}

	// Many errors are capped, the last one saying so.
	var ds []string
	for i := range 2 * maxErrors {
		ds = append(ds, "  - name: bad_"+strconv.Itoa(i)+".example")
	}
	_, err = Parse([]byte(withDomains(ds...)), testFile)
	errs := allErrors(t, err)
	if len(errs) != maxErrors+1 || !strings.Contains(errs[maxErrors].Msg, "stopped after") {
		t.Errorf("got %d errors, want %d and a last one saying it stopped", len(errs), maxErrors+1)
	}
}

func mustParse(t *testing.T, in string) *Config {
	t.Helper()
	c, err := Parse([]byte(in), testFile)
	if err != nil {
		t.Fatalf("Parse: %v\ninput:\n%s", err, in)
	}
	return c
}

func TestParseValid(t *testing.T) {
	mx := func(s string) mtasts.MX {
		m, err := mtasts.ParseMX(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *Config)
	}{
		{"minimal: built-in defaults", valid(), func(t *testing.T, c *Config) {
			want := Config{Organization: "Acme", Region: "eu-west-1",
				Domains: []Domain{{Name: "example.com", DNS: DNS{External: true},
					Policy: mtasts.Policy{Version: "STSv1", Mode: mtasts.ModeTesting, MaxAge: 604800, MX: []mtasts.MX{mx("mx.example.com")}}}},
				Reporting: Reporting{HTTPS: true},
				Checker:   Checker{Schedule: "rate(1 hour)", ReadinessWindowDays: 14, ReadinessMinSessions: 100},
			}
			if !equalConfig(*c, want) {
				t.Errorf("got  %+v\nwant %+v", *c, want)
			}
		}},
		{"defaults then domain fields", lines(headOrg, headRegion, headReport,
			"defaults:", "  policy: {mode: enforce, max_age: 86400, mx: ['*.mail.example.net']}",
			"domains:",
			"  - {name: a.example, dns: {external: true}}",
			"  - {name: b.example, dns: {external: true}, policy: {mode: none, mx: []}}",
			"  - {name: c.example, dns: {external: true}, policy: {max_age: 0, mx: [MX.C.example.]}}",
			"  - {name: d.example, dns: {external: true}}",
		), func(t *testing.T, c *Config) {
			want := []mtasts.Policy{
				{Version: "STSv1", Mode: mtasts.ModeEnforce, MaxAge: 86400, MX: []mtasts.MX{mx("*.mail.example.net")}},
				{Version: "STSv1", Mode: mtasts.ModeNone, MaxAge: 86400},
				{Version: "STSv1", Mode: mtasts.ModeEnforce, MaxAge: 0, MX: []mtasts.MX{mx("mx.c.example")}},
			}
			for i, w := range want {
				if got := c.Domains[i].Policy; got.String() != w.String() {
					t.Errorf("domain %d policy:\n%q\nwant\n%q", i, got.String(), w.String())
				}
			}
			// Defaults' mx slice is not shared between domains.
			c.Domains[0].Policy.MX[0].Domain = "changed.example"
			if got := c.Domains[3].Policy.MX[0].String(); got != "*.mail.example.net" {
				t.Errorf("changing domain 0's mx changed domain 3's to %s", got)
			}
		}},
		{"U-label names and mx", lines(headOrg, headRegion, headReport, "domains:",
			"  - name: Bücher.Example.",
			"    dns: {route53: {hosted_zone_id: Z123ABC}}",
			"    policy: {mx: ['*.bücher.example', mx.bücher.example]}"), func(t *testing.T, c *Config) {
			d := c.Domains[0]
			if d.Name != "xn--bcher-kva.example" || d.DNS.ZoneName != "xn--bcher-kva.example" || d.DNS.HostedZoneID != "Z123ABC" {
				t.Errorf("domain = %+v", d)
			}
			if got := []string{d.Policy.MX[0].String(), d.Policy.MX[1].String()}; !slices.Equal(got, []string{"*.xn--bcher-kva.example", "mx.xn--bcher-kva.example"}) {
				t.Errorf("mx = %v", got)
			}
			if d.PolicyHost() != "mta-sts.xn--bcher-kva.example" {
				t.Errorf("PolicyHost = %q", d.PolicyHost())
			}
		}},
		{"zone name a parent", lines(headOrg, headRegion, headReport, "domains:",
			"  - name: mail.example.com",
			"    dns: {route53: {hosted_zone_id: Z1, zone_name: Example.COM}}",
			"    policy: {mx: [mx.example.com]}"), func(t *testing.T, c *Config) {
			if z := c.Domains[0].DNS; z.ZoneName != "example.com" || z.External {
				t.Errorf("dns = %+v", z)
			}
		}},
		{"reporting all fields", lines(headOrg, headRegion, "domains:",
			"  - name: example.com",
			"    dns: {route53: {hosted_zone_id: Z1}}",
			"    policy: {mx: [mx.example.com]}",
			"reporting:",
			"  https: true",
			"  domain: TLSRPT.example.com",
			"  mailto: tls+rpt!x@Reports.Example.COM",
			"  extra_rua: ['mailto:tls@vendor.example', 'https://vendor.example/r?a=1']"), func(t *testing.T, c *Config) {
			r := c.Reporting
			if !r.HTTPS || r.Domain != "tlsrpt.example.com" || r.Mailto != "tls+rpt!x@reports.example.com" || len(r.ExtraRUA) != 2 {
				t.Errorf("reporting = %+v", r)
			}
			rec := c.TLSRPTRecord("https://abc.execute-api.eu-west-1.amazonaws.com/report")
			want := "v=TLSRPTv1; rua=https://abc.execute-api.eu-west-1.amazonaws.com/report,mailto:tls+rpt%21x@reports.example.com,mailto:tls@vendor.example,https://vendor.example/r?a=1"
			if rec.String() != want {
				t.Errorf("TLSRPTRecord:\n got %s\nwant %s", rec, want)
			}
			// Every rua the record holds is one tlsrpt accepts.
			for _, u := range rec.RUA {
				if p, err := tlsrpt.ParseRUA(u.URI); err != nil || p != u {
					t.Errorf("ParseRUA(%q) = %+v, %v", u.URI, p, err)
				}
			}
			if rec := c.TLSRPTRecord(""); !strings.HasPrefix(rec.String(), "v=TLSRPTv1; rua=mailto:") {
				t.Errorf("without endpoint: %s", rec)
			}
		}},
		{"reporting mailto only, https false", withReporting("reporting: {https: false, mailto: r@example.com}"), func(t *testing.T, c *Config) {
			if got := c.TLSRPTRecord("https://ignored.example/").String(); got != "v=TLSRPTv1; rua=mailto:r@example.com" {
				t.Errorf("TLSRPTRecord = %s", got)
			}
		}},
		{"reporting extra only", withReporting("reporting: {extra_rua: ['https://r.example/']}"), func(t *testing.T, c *Config) {
			if got := c.TLSRPTRecord("").String(); got != "v=TLSRPTv1; rua=https://r.example/" {
				t.Errorf("TLSRPTRecord = %s", got)
			}
		}},
		{"checker all fields", valid("checker:",
			"  schedule: cron(15 */6 ? * MON-FRI,SUN *)",
			"  alert_emails: [ops@example.com, Sec@Example.ORG]",
			"  smtp_probe: false",
			"  readiness: {window_days: 30, min_sessions: 1000}"), func(t *testing.T, c *Config) {
			want := Checker{Schedule: "cron(15 */6 ? * MON-FRI,SUN *)", AlertEmails: []string{"ops@example.com", "Sec@example.org"},
				ReadinessWindowDays: 30, ReadinessMinSessions: 1000}
			if !equalChecker(c.Checker, want) {
				t.Errorf("checker = %+v, want %+v", c.Checker, want)
			}
		}},
		{"checker silence", valid("checker: {silence: {sender_days: 0, domain_days: 10, lookback_days: 90}}"), func(t *testing.T, c *Config) {
			if c.Checker.SilenceSenderDays != 0 || c.Checker.SilenceDomainDays != 10 || c.Checker.SilenceLookbackDays != 90 {
				t.Errorf("checker = %+v", c.Checker)
			}
		}},
		{"checker silence defaults", valid("checker: {smtp_probe: false}"), func(t *testing.T, c *Config) {
			if c.Checker.SilenceSenderDays != 3 || c.Checker.SilenceDomainDays != 7 || c.Checker.SilenceLookbackDays != 60 {
				t.Errorf("checker = %+v", c.Checker)
			}
		}},
		{"checker partial readiness", valid("checker: {readiness: {min_sessions: 5}}"), func(t *testing.T, c *Config) {
			if c.Checker.ReadinessWindowDays != 14 || c.Checker.ReadinessMinSessions != 5 || c.Checker.Schedule != DefaultSchedule {
				t.Errorf("checker = %+v", c.Checker)
			}
		}},
		{"anchor without alias", withDomains("  - &d {name: a.example, dns: {external: true}}"), func(t *testing.T, c *Config) {
			if c.DomainNames()[0] != "a.example" {
				t.Errorf("domains %v", c.DomainNames())
			}
		}},
		{"numbers as strings", lines("organization: 1999", headRegion, headReport, "domains:",
			"  - {name: example.com, dns: {external: true}, policy: {mx: [mx.example.com]}}"), func(t *testing.T, c *Config) {
			if c.Organization != "1999" || c.StackName() != "ststack-1999" {
				t.Errorf("organization %q, stack %q", c.Organization, c.StackName())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.in))
		})
	}
}

func equalChecker(a, b Checker) bool {
	return a.Schedule == b.Schedule && slices.Equal(a.AlertEmails, b.AlertEmails) && a.SMTPProbe == b.SMTPProbe &&
		a.ReadinessWindowDays == b.ReadinessWindowDays && a.ReadinessMinSessions == b.ReadinessMinSessions
}

func equalConfig(a, b Config) bool {
	if a.Organization != b.Organization || a.Region != b.Region || len(a.Domains) != len(b.Domains) ||
		!equalChecker(a.Checker, b.Checker) || a.Reporting.HTTPS != b.Reporting.HTTPS ||
		a.Reporting.Domain != b.Reporting.Domain || a.Reporting.Mailto != b.Reporting.Mailto ||
		!slices.Equal(a.Reporting.ExtraRUA, b.Reporting.ExtraRUA) {
		return false
	}
	for i := range a.Domains {
		x, y := a.Domains[i], b.Domains[i]
		if x.Name != y.Name || x.DNS != y.DNS || x.Policy.String() != y.Policy.String() {
			return false
		}
	}
	return true
}
