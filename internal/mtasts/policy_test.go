package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func mxs(patterns ...string) []MX {
	var l []MX
	for _, s := range patterns {
		m, _ := strings.CutPrefix(s, "*.")
		l = append(l, MX{Wildcard: m != s, Domain: m})
	}
	return l
}

// policyTests are the unit cases of ParsePolicy; they also seed
// FuzzParsePolicy. Valid cases give want, invalid ones the sentinel and a
// substring of the error.
var policyTests = []struct {
	name    string
	in      string
	want    Policy
	wantIs  error
	wantErr string
}{
	// Valid.
	{
		name: "CRLF",
		in:   "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\nmax_age: 1209600\r\n",
		want: Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1209600, MX: mxs("mx1.example.com", "*.example.net")},
	},
	{
		name: "LF, no final line ending",
		in:   "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400",
		want: Policy{Version: "STSv1", Mode: ModeTesting, MaxAge: 86400, MX: mxs("mx.example.com")},
	},
	{
		name: "mixed line endings, any order",
		in:   "max_age: 604800\r\nmx: mx.example.com\nmode: enforce\r\nversion: STSv1\n",
		want: Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 604800, MX: mxs("mx.example.com")},
	},
	{
		name: "white space the ABNF allows",
		in:   "version:STSv1 \r\n\tmode:\t enforce\t\r\n  mx:mx.example.com\r\nmax_age:   0\r\n \t",
		want: Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 0, MX: mxs("mx.example.com")},
	},
	{
		name: "first of a repeated field wins, every mx kept",
		in:   "version: STSv1\nmode: testing\nmode: enforce\nmax_age: 100\nmax_age: 200\nmx: a.example\nmx: A.example.\nmx: b.example\nversion: STSv1\n",
		want: Policy{Version: "STSv1", Mode: ModeTesting, MaxAge: 100, MX: mxs("a.example", "a.example", "b.example")},
	},
	{
		name: "mode none needs no mx",
		in:   "version: STSv1\nmode: none\nmax_age: 31557600\n",
		want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: MaxMaxAge},
	},
	{
		name: "extensions kept in order",
		in:   "version: STSv1\nx-note: Hello,  wörld! \nmode: enforce\nmx: mx.example.com\nmax_age: 0000000007\n9.a_b-c: v\nx-note: again\n",
		want: Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 7, MX: mxs("mx.example.com"),
			Extensions: []Extension{{"x-note", "Hello,  wörld!"}, {"9.a_b-c", "v"}, {"x-note", "again"}}},
	},
	{
		name: "mode none, \"mx:\" only inside an extension",
		in:   "version: STSv1\nmode: none\nmax_age: 1\nx: mx: a.example\n",
		want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1, Extensions: []Extension{{"x", "mx: a.example"}}},
	},
	{
		name: "mx normalised",
		in:   "version: STSv1\nmode: enforce\nmx: MX.Example.COM.\nmx: *.Example.NET\nmax_age: 1\n",
		want: Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1, MX: mxs("mx.example.com", "*.example.net")},
	},

	// Invalid.
	{name: "empty", in: "", wantIs: ErrPolicySyntax, wantErr: "empty policy"},
	{name: "too large", in: strings.Repeat("x", MaxPolicySize+1), wantIs: ErrPolicyTooLarge, wantErr: "65537 bytes, more than 65536"},
	{
		name: "served form too large", in: "version: STSv1\nmode: enforce\nmax_age: 1\n" + strings.Repeat("mx: a.example.com\n", 3500),
		wantIs: ErrPolicyTooLarge, wantErr: "served form is 66543 bytes",
	},
	{name: "version missing", in: "mode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyVersion, wantErr: "version: missing"},
	{name: "version STSv2", in: "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyVersion, wantErr: `line 1: version: "STSv2" is not supported`},
	{name: "version case", in: "version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyVersion, wantErr: `line 1: version: "stsv1"`},
	{name: "version empty", in: "version:\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyVersion, wantErr: "line 1: version: missing"},
	{name: "repeated version invalid", in: "version: STSv1\nversion: 2\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyVersion, wantErr: "line 2: version"},
	{name: "mode missing", in: "version: STSv1\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyMode, wantErr: "mode: missing"},
	{name: "mode unknown", in: "version: STSv1\nmode: enforcing\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyMode, wantErr: `line 2: mode: "enforcing" is not one of enforce, testing, none`},
	{name: "mode case", in: "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyMode, wantErr: `line 2: mode: "Enforce"`},
	{name: "repeated mode invalid", in: "version: STSv1\nmode: testing\nmode: bogus\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicyMode, wantErr: "line 3: mode"},
	{name: "max_age missing", in: "version: STSv1\nmode: enforce\nmx: a.example\n", wantIs: ErrPolicyMaxAge, wantErr: "max_age: missing"},
	{name: "max_age empty", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: \n", wantIs: ErrPolicyMaxAge, wantErr: "line 4: max_age: missing"},
	{name: "max_age negative", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", wantIs: ErrPolicyMaxAge, wantErr: `"-1" is not a plain decimal number`},
	{name: "max_age plus", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: +1\n", wantIs: ErrPolicyMaxAge, wantErr: `"+1" is not a plain decimal number`},
	{name: "max_age exponent", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1e6\n", wantIs: ErrPolicyMaxAge, wantErr: `"1e6"`},
	{name: "max_age unit", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400 s\n", wantIs: ErrPolicyMaxAge, wantErr: `"86400 s"`},
	{name: "max_age 11 digits", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 00000000001\n", wantIs: ErrPolicyMaxAge, wantErr: "more than 10 digits"},
	{name: "max_age over a year", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", wantIs: ErrPolicyMaxAge, wantErr: "31557601 exceeds the maximum of 31557600"},
	{name: "mx missing", in: "version: STSv1\nmode: enforce\nmax_age: 1\n", wantIs: ErrPolicyMX, wantErr: "mx: missing; at least one mx is required unless mode is none"},
	{name: "mx missing in testing", in: "version: STSv1\nmode: testing\nmax_age: 1\n", wantIs: ErrPolicyMX, wantErr: "mx: missing"},
	{name: "mx bad wildcard", in: "version: STSv1\nmode: enforce\nmx: *mx.example.com\nmax_age: 1\n", wantIs: ErrPolicyMX, wantErr: `line 3: mx: "*mx.example.com": a wildcard must be the whole left-most label`},
	{name: "mx U-label", in: "version: STSv1\nmode: enforce\nmx: mx.bücher.example\nmax_age: 1\n", wantIs: ErrPolicyMX, wantErr: `"mx.xn--bcher-kva.example"`},
	{name: "mx empty", in: "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", wantIs: ErrPolicyMX, wantErr: "line 3: mx"},
	{name: "empty line", in: "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 2: empty line"},
	{name: "blank line", in: "version: STSv1\r\n \r\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 2: empty line"},
	{name: "trailing empty line", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n\n", wantIs: ErrPolicySyntax, wantErr: "line 5: empty line"},
	{name: "only a line ending", in: "\n", wantIs: ErrPolicySyntax, wantErr: "line 1: empty line"},
	{name: "bare CR", in: "version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 1: carriage return not followed by line feed"},
	{name: "CR CR LF", in: "version: STSv1\r\r\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 1: carriage return"},
	{name: "leading white space", in: " version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 1: starts with white space"},
	{name: "byte order mark", in: "\uFEFFversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: "line 1: starts with a byte order mark"},
	{name: "space before colon", in: "version: STSv1\nmode : enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: `line 2: mode: no white space is allowed before ":"`},
	{name: "no colon", in: "version: STSv1\nmode enforce\n", wantIs: ErrPolicySyntax, wantErr: "line 2: mode: no white space"},
	{name: "name only", in: "version: STSv1\nmode\n", wantIs: ErrPolicySyntax, wantErr: `line 2: "mode": missing ":"`},
	{name: "equals instead of colon", in: "version=STSv1\n", wantIs: ErrPolicySyntax, wantErr: `line 1: field name "version" followed by '='`},
	{name: "no name", in: "version: STSv1\n: x\n", wantIs: ErrPolicySyntax, wantErr: `line 2: expected a field name such as "mode", found ": x"`},
	{name: "name starts with underscore", in: "version: STSv1\n_x: y\n", wantIs: ErrPolicySyntax, wantErr: `line 2: field name "_x": must start with a letter or digit`},
	{name: "name starts with hyphen", in: "version: STSv1\n-x: y\n", wantIs: ErrPolicySyntax, wantErr: `line 2: field name "-x": must start with a letter or digit`},
	{name: "name starts with dot", in: "version: STSv1\n.x: y\n", wantIs: ErrPolicySyntax, wantErr: `line 2: field name ".x": must start with a letter or digit`},
	{name: "name too long", in: "version: STSv1\n" + strings.Repeat("n", 33) + ": y\n", wantIs: ErrPolicySyntax, wantErr: "33 characters, more than 32"},
	{name: "name with bad character", in: "version: STSv1\nmo$de: y\n", wantIs: ErrPolicySyntax, wantErr: `field name "mo" followed by '$'`},
	{name: "name case", in: "version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: `line 2: Mode: field names are case-sensitive; write "mode"`},
	{name: "name case mx", in: "version: STSv1\nmode: none\nMX: a.example\nmax_age: 1\n", wantIs: ErrPolicySyntax, wantErr: `write "mx"`},
	{name: "extension empty", in: "version: STSv1\nmode: none\nmax_age: 1\nx:\n", wantIs: ErrPolicySyntax, wantErr: "line 4: x: empty value"},
	{name: "extension tab inside", in: "version: STSv1\nmode: none\nmax_age: 1\nx: a\tb\n", wantIs: ErrPolicySyntax, wantErr: `line 4: x: value contains the control character '\t'`},
	{name: "extension control", in: "version: STSv1\nmode: none\nmax_age: 1\nx: a\x00b\n", wantIs: ErrPolicySyntax, wantErr: "control character"},
	{name: "extension DEL", in: "version: STSv1\nmode: none\nmax_age: 1\nx: a\x7fb\n", wantIs: ErrPolicySyntax, wantErr: "control character"},
	{name: "extension bad UTF-8", in: "version: STSv1\nmode: none\nmax_age: 1\nx: a\xffb\n", wantIs: ErrPolicySyntax, wantErr: "line 4: x: value is not valid UTF-8"},
}

func TestParsePolicy(t *testing.T) {
	for _, tt := range policyTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy([]byte(tt.in))
			if tt.wantIs != nil {
				if err == nil {
					t.Fatalf("ParsePolicy(%q) = %+v, want error", short(tt.in), got)
				}
				if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePolicy(%q) error = %q, want %v containing %q", short(tt.in), err, tt.wantIs, tt.wantErr)
				}
				if !reflect.DeepEqual(got, Policy{}) {
					t.Errorf("ParsePolicy returned %+v with its error, want the zero Policy", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePolicy(%q) error: %v", short(tt.in), err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePolicy(%q)\n got %+v\nwant %+v", short(tt.in), got, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("parsed policy does not validate: %v", err)
			}
			// Round trip: the served form parses to the same policy,
			// and serves the same bytes again.
			s := got.String()
			again, err := ParsePolicy([]byte(s))
			if err != nil {
				t.Fatalf("ParsePolicy(String() = %q) error: %v", s, err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("round trip of %q\n got %+v\nwant %+v", s, again, got)
			}
			if s2 := again.String(); s2 != s {
				t.Errorf("String() not stable: %q then %q", s, s2)
			}
		})
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		p    Policy
		want string
	}{
		{
			Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1209600, MX: mxs("mx1.example.com", "*.Example.NET.")},
			"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\nmax_age: 1209600\r\n",
		},
		{
			Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 0, Extensions: []Extension{{"b", "2"}, {"a", "x y"}}},
			"version: STSv1\r\nmode: none\r\nmax_age: 0\r\nb: 2\r\na: x y\r\n",
		},
		{
			// String writes what it is given, valid or not.
			Policy{MaxAge: -5},
			"version: \r\nmode: \r\nmax_age: -5\r\n",
		},
		{Policy{MaxAge: math.MinInt}, "version: \r\nmode: \r\nmax_age: -9223372036854775808\r\n"},
		{Policy{MaxAge: -10}, "version: \r\nmode: \r\nmax_age: -10\r\n"},
		{Policy{MaxAge: 10}, "version: \r\nmode: \r\nmax_age: 10\r\n"},
	}
	for _, tt := range tests {
		got := tt.p.String()
		if got != tt.want {
			t.Errorf("%+v.String()\n got %q\nwant %q", tt.p, got, tt.want)
		}
		if n := tt.p.wireLen(); n != len(got) {
			t.Errorf("wireLen() = %d, len(String()) = %d", n, len(got))
		}
	}
}

func TestPolicyID(t *testing.T) {
	base := Policy{Version: "STSv1", Mode: ModeTesting, MaxAge: 604800, MX: mxs("mx.example.com")}
	id := base.ID()
	// The documented derivation: hex of the first 16 bytes of SHA-256.
	sum := sha256.Sum256([]byte("version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 604800\r\n"))
	if want := hex.EncodeToString(sum[:16]); id != want {
		t.Errorf("ID() = %q, want %q", id, want)
	}
	if err := (Record{Version: Version, ID: id}).Validate(); err != nil {
		t.Errorf("ID() %q is not a valid record id: %v", id, err)
	}

	// The same served text gives the same id, whatever the spelling of the
	// struct.
	same := base
	same.MX = mxs("MX.example.com.")
	if same.ID() != id {
		t.Errorf("ID() differs for policies with the same String()")
	}

	// Any change of the served text changes the id.
	changes := map[string]func(*Policy){
		"mode":      func(p *Policy) { p.Mode = ModeEnforce },
		"max_age":   func(p *Policy) { p.MaxAge++ },
		"mx added":  func(p *Policy) { p.MX = append(mxs("mx2.example.com"), p.MX...) },
		"wildcard":  func(p *Policy) { p.MX = mxs("*.example.com") },
		"extension": func(p *Policy) { p.Extensions = []Extension{{"x", "y"}} },
	}
	for name, change := range changes {
		p := base
		p.MX = append([]MX(nil), base.MX...)
		change(&p)
		if p.String() == base.String() {
			t.Fatalf("%s: change did not change String()", name)
		}
		if p.ID() == id {
			t.Errorf("%s: ID() did not change", name)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1209600, MX: mxs("mx.example.com")}
	tests := []struct {
		name   string
		change func(*Policy)
		wantIs []error // nil: valid
		want   string  // substring of the error
	}{
		{name: "valid", change: func(*Policy) {}},
		{name: "valid none without mx", change: func(p *Policy) { p.Mode, p.MX = ModeNone, nil }},
		{name: "valid non-normalised mx", change: func(p *Policy) { p.MX = mxs("MX.Example.com.") }},
		{name: "valid max_age bounds", change: func(p *Policy) { p.MaxAge = MaxMaxAge }},
		{name: "valid extension", change: func(p *Policy) { p.Extensions = []Extension{{"x", "ü ü"}} }},

		{name: "version empty", change: func(p *Policy) { p.Version = "" }, wantIs: []error{ErrPolicyVersion}, want: "version: missing"},
		{name: "version other", change: func(p *Policy) { p.Version = "STSv2" }, wantIs: []error{ErrPolicyVersion}, want: `version: "STSv2"`},
		{name: "mode empty", change: func(p *Policy) { p.Mode = "" }, wantIs: []error{ErrPolicyMode}, want: "mode: missing"},
		{name: "mode other", change: func(p *Policy) { p.Mode = "ENFORCE" }, wantIs: []error{ErrPolicyMode}, want: `mode: "ENFORCE"`},
		{name: "max_age negative", change: func(p *Policy) { p.MaxAge = -1 }, wantIs: []error{ErrPolicyMaxAge}, want: "max_age: -1 is negative"},
		{name: "max_age too big", change: func(p *Policy) { p.MaxAge = MaxMaxAge + 1 }, wantIs: []error{ErrPolicyMaxAge}, want: "max_age: 31557601 exceeds"},
		{name: "mx missing", change: func(p *Policy) { p.MX = nil }, wantIs: []error{ErrPolicyMX}, want: "mx: missing"},
		{name: "mx wildcard in domain", change: func(p *Policy) { p.MX = mxs("a.example", "*.*.example") }, wantIs: []error{ErrPolicyMX}, want: `mx[1]: "*.example": a wildcard`},
		{name: "mx star label", change: func(p *Policy) { p.MX = []MX{{Domain: "*.example"}} }, wantIs: []error{ErrPolicyMX}, want: "mx[0]"},
		{name: "mx empty wildcard", change: func(p *Policy) { p.MX = []MX{{Wildcard: true}} }, wantIs: []error{ErrPolicyMX}, want: `mx[0]: "": a domain must follow "*."`},
		{name: "mx U-label", change: func(p *Policy) { p.MX = mxs("bücher.example") }, wantIs: []error{ErrPolicyMX}, want: "xn--bcher-kva.example"},
		{name: "extension named mx", change: func(p *Policy) { p.Extensions = []Extension{{"mx", "a.example"}} }, wantIs: []error{ErrPolicySyntax}, want: `extensions[0]: "mx": "mx" is a policy field`},
		{name: "extension named Mode", change: func(p *Policy) { p.Extensions = []Extension{{"Mode", "x"}} }, wantIs: []error{ErrPolicySyntax}, want: "case-sensitive"},
		{name: "extension bad name", change: func(p *Policy) { p.Extensions = []Extension{{"a b", "x"}} }, wantIs: []error{ErrPolicySyntax}, want: "extensions[0]"},
		{name: "extension empty value", change: func(p *Policy) { p.Extensions = []Extension{{"k", ""}} }, wantIs: []error{ErrPolicySyntax}, want: "empty value"},
		{name: "extension padded value", change: func(p *Policy) { p.Extensions = []Extension{{"k", "v "}} }, wantIs: []error{ErrPolicySyntax}, want: "trailing white space"},
		{name: "extension line break", change: func(p *Policy) { p.Extensions = []Extension{{"k", "v\r\nmode: none"}} }, wantIs: []error{ErrPolicySyntax}, want: "control character"},
		{name: "too large", change: func(p *Policy) { p.Extensions = []Extension{{"k", strings.Repeat("v", MaxPolicySize)}} }, wantIs: []error{ErrPolicyTooLarge}, want: "policy: served form is"},
		{
			name:   "several errors joined",
			change: func(p *Policy) { p.Version, p.Mode, p.MaxAge, p.MX = "", "x", -1, nil },
			wantIs: []error{ErrPolicyVersion, ErrPolicyMode, ErrPolicyMaxAge, ErrPolicyMX},
			want:   "version: missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.change(&p)
			err := p.Validate()
			var errs []Problem
			for _, pr := range p.Problems() {
				if pr.Severity == SeverityError {
					errs = append(errs, pr)
				}
			}
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if len(errs) != 0 {
					t.Fatalf("Problems() has errors %v for a valid policy", errs)
				}
				if _, err := ParsePolicy([]byte(p.String())); err != nil {
					t.Errorf("a valid policy's String() does not parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tt.wantIs)
			}
			for _, is := range tt.wantIs {
				if !errors.Is(err, is) {
					t.Errorf("Validate() = %q, does not wrap %v", err, is)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
			if len(errs) != len(tt.wantIs) {
				t.Errorf("Problems() has %d errors %v, want %d", len(errs), errs, len(tt.wantIs))
			}
			// An invalid policy has no faithful wire form: senders
			// reject its String(), or read a different policy.
			if q, perr := ParsePolicy([]byte(p.String())); perr == nil && reflect.DeepEqual(q, p) {
				t.Errorf("Validate() = %q, but ParsePolicy(String()) gives the same policy", err)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	type want struct {
		sev   Severity
		field string
		msg   string // substring
	}
	tests := []struct {
		name string
		p    Policy
		want []want
	}{
		{
			name: "clean",
			p:    Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1209600, MX: mxs("mx1.example.com", "*.example.net")},
		},
		{
			name: "enforce, one week exactly",
			p:    Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 604800, MX: mxs("mx.example.com")},
		},
		{
			name: "testing",
			p:    Policy{Version: "STSv1", Mode: ModeTesting, MaxAge: 86400, MX: mxs("mx.example.com")},
			want: []want{{SeverityWarning, "mode", "not enforced"}},
		},
		{
			name: "none",
			p:    Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1209600},
			want: []want{{SeverityWarning, "mode", "retire"}},
		},
		{
			name: "max_age under a day",
			p:    Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 86399, MX: mxs("mx.example.com")},
			want: []want{{SeverityWarning, "max_age", "under one day"}},
		},
		{
			name: "enforce under a week",
			p:    Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 604799, MX: mxs("mx.example.com")},
			want: []want{{SeverityWarning, "max_age", "under one week"}},
		},
		{
			name: "duplicate mx and public-suffix wildcard",
			p:    Policy{Version: "STSv1", Mode: ModeEnforce, MaxAge: 1209600, MX: mxs("mx.example.com", "*.com", "MX.example.com.", "mx.example.com")},
			want: []want{
				{SeverityWarning, "mx[1]", `"*.com" matches every host directly under the top-level domain "com"`},
				{SeverityWarning, "mx[2]", `duplicates mx[0]`},
				{SeverityWarning, "mx[3]", `duplicates mx[0]`},
			},
		},
		{
			name: "errors and warnings in field order",
			p:    Policy{Version: "STSv2", Mode: ModeTesting, MaxAge: 60, MX: mxs("a.example", "a_b.example", "a.example"), Extensions: []Extension{{"mode", "x"}}},
			want: []want{
				{SeverityError, "version", "STSv2"},
				{SeverityWarning, "mode", "testing"},
				{SeverityWarning, "max_age", "60 seconds"},
				{SeverityError, "mx[1]", `"a_b.example"`},
				{SeverityWarning, "mx[2]", "duplicates mx[0]"},
				{SeverityError, "extensions[0]", "policy field"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Problems()
			if len(got) != len(tt.want) {
				t.Fatalf("Problems() = %v, want %d problems", got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Severity != w.sev || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
					t.Errorf("problem %d = %v, want %s: %s: …%s…", i, g, w.sev, w.field, w.msg)
				}
			}
		})
	}
}

func TestProblemJSON(t *testing.T) {
	b, err := json.Marshal([]Problem{
		{SeverityError, "mode", "bad"},
		{SeverityWarning, "mx[0]", "dup"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"severity":"error","field":"mode","message":"bad"},{"severity":"warning","field":"mx[0]","message":"dup"}]`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	if _, err := json.Marshal(Problem{}); err == nil {
		t.Error("marshalling the zero Severity succeeded, want an error")
	}
	if got := (Problem{SeverityWarning, "mode", "testing"}).String(); got != "warning: mode: testing" {
		t.Errorf("Problem.String() = %q", got)
	}
	if got := Severity(0).String(); got != "Severity(0)" {
		t.Errorf("Severity(0).String() = %q", got)
	}
}

func TestModeValid(t *testing.T) {
	for m, want := range map[Mode]bool{ModeEnforce: true, ModeTesting: true, ModeNone: true, "": false, "Enforce": false, "report": false} {
		if got := m.Valid(); got != want {
			t.Errorf("Mode(%q).Valid() = %v, want %v", m, got, want)
		}
	}
}
