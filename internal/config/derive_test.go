package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

const examplePath = "../../ststack.example.yaml"

func TestLoadExample(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}
	if c.Organization != "Example Corp" || c.Region != "eu-west-1" || c.StackName() != "ststack-example-corp" {
		t.Errorf("organization %q region %q stack %q", c.Organization, c.Region, c.StackName())
	}
	if got, want := c.DomainNames(), []string{"example.com", "example.org", "mail.example.com"}; !slices.Equal(got, want) {
		t.Fatalf("DomainNames = %v, want %v", got, want)
	}

	com, _ := c.Domain("example.com")
	if com.DNS != (DNS{HostedZoneID: "Z0123456789ABCDEFGHIJ", ZoneName: "example.com"}) {
		t.Errorf("example.com dns = %+v", com.DNS)
	}
	if want := "version: STSv1\r\nmode: testing\r\nmx: *.mail.example.net\r\nmax_age: 604800\r\n"; com.PolicyText() != want {
		t.Errorf("example.com policy = %q, want %q", com.PolicyText(), want)
	}
	org, _ := c.Domain("example.org")
	if !org.DNS.External || org.DNS.HostedZoneID != "" {
		t.Errorf("example.org dns = %+v", org.DNS)
	}
	if want := "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: mx2.example.org\r\nmax_age: 1209600\r\n"; org.PolicyText() != want {
		t.Errorf("example.org policy = %q, want %q", org.PolicyText(), want)
	}
	mail, _ := c.Domain("mail.example.com")
	if mail.DNS.ZoneName != "example.com" || mail.Policy.Mode != mtasts.ModeTesting || mail.Policy.MX[0].String() != "*.example.com" {
		t.Errorf("mail.example.com = %+v", mail)
	}

	r := c.Reporting
	if !r.HTTPS || r.Domain != "tlsrpt.example.com" || r.Mailto != "tlsrpt@example.com" ||
		!slices.Equal(r.ExtraRUA, []tlsrpt.RUA{{Scheme: "mailto", URI: "mailto:tls@vendor.example"}}) {
		t.Errorf("reporting = %+v", r)
	}
	if got, want := c.TLSRPTRecord("https://tlsrpt.example.com/v1/report").String(),
		"v=TLSRPTv1; rua=https://tlsrpt.example.com/v1/report,mailto:tlsrpt@example.com,mailto:tls@vendor.example"; got != want {
		t.Errorf("TLSRPTRecord = %q, want %q", got, want)
	}
	want := Checker{Schedule: "rate(1 hour)", AlertEmails: []string{"ops@example.com"}, ReadinessWindowDays: 14, ReadinessMinSessions: 100}
	if !equalChecker(c.Checker, want) {
		t.Errorf("checker = %+v, want %+v", c.Checker, want)
	}

	// The two testing-mode domains take mode from defaults: mtasts's
	// warning about it is given once, at defaults.policy.mode.
	var modeWarnings []string
	for _, w := range c.Warnings() {
		if w.File != examplePath {
			t.Errorf("warning %v names file %q", w, w.File)
		}
		if strings.HasSuffix(w.Field, ".mode") {
			modeWarnings = append(modeWarnings, w.String())
		}
	}
	if len(modeWarnings) != 1 || !strings.HasPrefix(modeWarnings[0], examplePath+":20: defaults.policy.mode: testing") {
		t.Errorf("mode warnings = %q", modeWarnings)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := Load(missing)
	var ce *Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &ce) || ce.File != missing ||
		err.Error() != missing+": open: no such file or directory" {
		t.Errorf("Load(missing) = %v", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(valid("# "+strings.Repeat("x", MaxFileSize))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), big+": ") {
		t.Errorf("Load(big) = %v", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(valid("region: x")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+":8: region: duplicate key (first at line 2)" {
		t.Errorf("Load(bad) = %v", err)
	}
}

// TestYAMLSyntaxLines checks the correction of the YAML library's line
// numbers: every syntax error names the 1-based line at fault.
func TestYAMLSyntaxLines(t *testing.T) {
	tests := []struct {
		in   string
		line int
	}{
		{"a: [x", 1},
		{"a: [x\n", 1},
		{"a: 1\nb: [x", 2},
		{"a: 1\nb: [x\n", 2},
		{"a: 1\nb: {x: 1\n", 2},
		{"a: 1\nb: 2\nc: [x, y\n\n\nd: 5\n", 3},
		{"a: 1\nb: x: y\n", 2},
		{"a: 1\n  b: 2\n", 2},
		{"a: 1\nb:\n  - x\n - y\n", 4},
		{"a: 1\nb: \"unterminated\n", 2},
		{"a: 1\nb: @x\n", 2},
		{"a: 1\n\tb: 2\n", 2},
		{"a: 1\nb: &\n", 2},
		{"a: 1\nb: 2\nc: *nope\n", 0}, // the library gives no line
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in), testFile)
		var ce *Error
		if !errors.Is(err, ErrSyntax) || !errors.As(err, &ce) || ce.Line != tt.line {
			t.Errorf("Parse(%q) = %v, want a syntax error at line %d", tt.in, err, tt.line)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Field: "domains[0].name", Msg: "bad"}, "f.yaml:3: domains[0].name: bad"},
		{Error{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{Error{File: "f.yaml", Msg: "bad"}, "f.yaml: bad"},
		{Error{Line: 3, Field: "x", Msg: "bad"}, "3: x: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
		w := Warning{File: tt.e.File, Line: tt.e.Line, Field: tt.e.Field, Msg: tt.e.Msg}
		if got := w.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", w, got, tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	in := lines(headOrg, headRegion, headReport, // 1-3
		"defaults:",                         // 4
		"  policy:",                         // 5
		"    mode: enforce",                 // 6
		"    max_age: 600",                  // 7
		"    mx: [mx.example.net, '*.net']", // 8
		"domains:",                          // 9
		"  - name: a.example",               // 10
		"    dns: {external: true}",         // 11
		"    policy:",                       // 12
		"      max_age: 3600",               // 13
		"      mx: ['*.com']",               // 14
		"  - name: b.example",               // 15
		"    dns: {external: true}",         // 16
		"  - name: c.example",               // 17
		"    dns: {external: true}",         // 18
		"checker:",                          // 19
		"  smtp_probe: true",                // 20
	)
	c := mustParse(t, in)
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, location("", w.Line, w.Field))
	}
	want := []string{
		"7: defaults.policy.max_age: ", // once for b and c
		"8: defaults.policy.mx[1]: ",   // once for b and c
		"13: domains[0].policy.max_age: ",
		"14: domains[0].policy.mx[0]: ",
		"20: checker.smtp_probe: ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings at %q, want %q", got, want)
	}
	// Warnings returns a copy.
	c.Warnings()[0].Msg = "changed"
	if c.Warnings()[0].Msg == "changed" {
		t.Error("Warnings exposes the config's slice")
	}

	// Built-in defaults are warned about at the domain.
	c = mustParse(t, valid())
	if w := c.Warnings(); len(w) != 1 || location("", w[0].Line, w[0].Field) != "5: domains[0].policy.mode: " {
		t.Errorf("warnings = %v, want one at 5: domains[0].policy.mode", w)
	}
}

func TestDerivedRecords(t *testing.T) {
	c := mustParse(t, lines(headOrg, headRegion, "reporting: {mailto: tlsrpt@example.com}",
		"defaults: {policy: {mode: enforce, mx: [mx.example.net]}}",
		"domains:",
		"  - {name: a.example, dns: {external: true}}",
		"  - {name: b.example, dns: {external: true}}",
		"  - {name: c.example, dns: {external: true}, policy: {max_age: 1209600}}",
		"  - {name: d.example, dns: {external: true}, policy: {mx: [mx.example.net, mx2.example.net]}}",
	))
	ids := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		rec := d.STSRecord()
		ids[i] = rec.ID
		if !regexp.MustCompile(`^[a-zA-Z0-9]{1,32}$`).MatchString(rec.ID) || rec.ID != d.Policy.ID() {
			t.Errorf("%s: id %q", d.Name, rec.ID)
		}
		// Round trip through the RFC packages' parsers.
		if back, err := mtasts.ParseRecord(rec.String()); err != nil || back.ID != rec.ID || rec.String() != "v=STSv1; id="+rec.ID {
			t.Errorf("%s: record %q: ParseRecord = %+v, %v", d.Name, rec, back, err)
		}
		back, err := mtasts.ParsePolicy([]byte(d.PolicyText()))
		if err != nil || back.String() != d.PolicyText() || back.ID() != rec.ID {
			t.Errorf("%s: ParsePolicy(PolicyText) = %q, %v", d.Name, back.String(), err)
		}
	}
	// Same policy text, same id; a different text, a different id.
	if ids[0] != ids[1] || ids[0] == ids[2] || ids[0] == ids[3] || ids[2] == ids[3] {
		t.Errorf("ids %q: want a==b and all others distinct", ids)
	}
	rec := c.TLSRPTRecord("https://r.example/report")
	back, err := tlsrpt.ParseRecord(rec.String())
	if err != nil || back.String() != rec.String() || rec.String() != "v=TLSRPTv1; rua=mailto:tlsrpt@example.com" {
		t.Errorf("TLSRPTRecord %q: ParseRecord = %+v, %v", rec, back, err)
	}
}

func TestDomainLookup(t *testing.T) {
	c := mustParse(t, withDomains(
		"  - {name: bücher.example, dns: {external: true}, policy: {mx: [mx.example.com]}}",
		"  - {name: example.com, dns: {external: true}, policy: {mx: [mx.example.com]}}"))
	tests := []struct {
		in   string
		want string // "" = not found
	}{
		{"example.com", "example.com"},
		{"EXAMPLE.COM.", "example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"example.org", ""},
		{"mta-sts.example.com", ""},
		{"", ""},
		{"bad_name..", ""},
	}
	for _, tt := range tests {
		d, ok := c.Domain(tt.in)
		if ok != (tt.want != "") || d.Name != tt.want {
			t.Errorf("Domain(%q) = %q, %v; want %q", tt.in, d.Name, ok, tt.want)
		}
	}
}

var stackNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,127}$`)

func TestStackName(t *testing.T) {
	tests := []struct{ org, want string }{
		{"Example Corp", "ststack-example-corp"},
		{"  ACME, Inc.  ", "ststack-acme-inc"},
		{"Société Générale S.A.", "ststack-societe-generale-s-a"},
		{"Ørsted", "ststack-rsted"},
		{"3M", "ststack-3m"},
		{"a--b__c", "ststack-a-b-c"},
		{"株式会社", "ststack-2d8b6b8b"},
		{strings.Repeat("ab ", 40), "ststack-" + strings.TrimSuffix(strings.Repeat("ab-", 19), "-")},
	}
	for _, tt := range tests {
		c := &Config{Organization: tt.org}
		got := c.StackName()
		if tt.org == "株式会社" {
			// A hash: fixed length, deterministic, different per name.
			other := (&Config{Organization: "有限会社"}).StackName()
			if len(got) != len("ststack-")+8 || got == other || got != c.StackName() {
				t.Errorf("StackName(%q) = %q (other %q)", tt.org, got, other)
			}
		} else if got != tt.want {
			t.Errorf("StackName(%q) = %q, want %q", tt.org, got, tt.want)
		}
		if !stackNameRE.MatchString(got) || len(got) > maxStackBase || strings.HasSuffix(got, "-") {
			t.Errorf("StackName(%q) = %q is not a valid stack name", tt.org, got)
		}
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"rate(1 minute)", true},
		{"rate(5 minutes)", true},
		{"rate(1 day)", true},
		{"rate(12 hours)", true},
		{"rate(0 minutes)", false},
		{"rate(01 hour)", false},
		{"rate(-1 hours)", false},
		{"rate(1hour)", false},
		{"rate(1  hour)", false},
		{"rate(1 Hour)", false},
		{"rate()", false},
		{"cron(0 12 * * ? *)", true},
		{"cron(0/15 * ? * MON-FRI *)", true},
		{"cron(15 10 ? * 6L 2026-2030)", true},
		{"cron(0 8 L * ? *)", true},
		{"cron(0 8 LW * ? *)", true},
		{"cron(0 8 15W * ? *)", true},
		{"cron(0 8 ? * 2#1 *)", true},
		{"cron(0 8 ? jan-mar,DEC 1 *)", true},
		{"cron(0 8 ? * L *)", true},
		{"cron(5,35 14 * 1,6 ? *)", true},
		{"cron(0 8 32 * ? *)", false},
		{"cron(0 24 * * ? *)", false},
		{"cron(0 8 ? 13 1 *)", false},
		{"cron(0 8 ? * 8 *)", false},
		{"cron(0 8 * * ? 1969)", false},
		{"cron(0 8 L * 1 *)", false},
		{"cron(0 8 * * ? * *)", false},
		{"cron(0 8 ,1 * ? *)", false},
		{"cron(0 8 1- * ? *)", false},
		{"cron(0 8 * * ? */0)", false},
		{"cron(0 8 ? * 2#0 *)", false},
		{"cron(0 8 40W * ? *)", false},
		{"cron(+1 8 * * ? *)", false},
		{"hourly", false},
		{"", false},
	}
	for _, tt := range tests {
		err := checkSchedule(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("checkSchedule(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), tt.in[min(len(tt.in), 4):]) {
			t.Errorf("checkSchedule(%q) = %q does not quote the expression", tt.in, err)
		}
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		in, want, rua string // want "" = invalid
	}{
		{"ops@example.com", "ops@example.com", "mailto:ops@example.com"},
		{"Ops.Team@Example.COM", "Ops.Team@example.com", "mailto:Ops.Team@example.com"},
		{"a+tag@example.com", "a+tag@example.com", "mailto:a+tag@example.com"},
		{"a!b@example.com", "a!b@example.com", "mailto:a%21b@example.com"},
		{"a%b@example.com", "a%b@example.com", "mailto:a%25b@example.com"},
		{"a=b?c#d&e/f@example.com", "a=b?c#d&e/f@example.com", "mailto:a%3Db%3Fc%23d%26e%2Ff@example.com"},
		{"x@bücher.example", "x@xn--bcher-kva.example", "mailto:x@xn--bcher-kva.example"},
		{"ops", "", ""},
		{"ops@", "", ""},
		{"@example.com", "", ""},
		{"<ops@example.com>", "", ""},
		{"Ops <ops@example.com>", "", ""},
		{"ops@example.com, b@example.com", "", ""},
		{`"o p"@example.com`, "", ""},
		{"öps@example.com", "", ""},
		{"ops@localhost", "", ""},
		{"ops@exa_mple.com", "", ""},
		{" ops@example.com", "", ""},
	}
	for _, tt := range tests {
		got, err := parseAddress(tt.in)
		if (err == nil) != (tt.want != "") || got != tt.want {
			t.Errorf("parseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tt.in) && !strings.Contains(err.Error(), `\"`) {
				t.Errorf("parseAddress(%q) error %q does not quote the input", tt.in, err)
			}
			continue
		}
		rua := mailtoRUA(got)
		if rua.URI != tt.rua || rua.Scheme != "mailto" {
			t.Errorf("mailtoRUA(%q) = %+v, want %q", got, rua, tt.rua)
		}
		// What config publishes, tlsrpt accepts unchanged.
		if back, err := tlsrpt.ParseRUA(rua.URI); err != nil || back != rua {
			t.Errorf("ParseRUA(%q) = %+v, %v", rua.URI, back, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"organization", "region", "domains"}
	for in, want := range map[string]string{
		"organisation": "organization", "regoin": "region", "domain": "domains",
		"reporting": "", "x": "", strings.Repeat("r", 100): "",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
