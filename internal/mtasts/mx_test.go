package mtasts

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

var (
	label63 = strings.Repeat("a", 63)
	// name253 is a 253-character name: 3 labels of 63 and one of 61.
	name253 = label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
)

// mxTests are the unit cases of ParseMX; they also seed FuzzParseMX.
var mxTests = []struct {
	in      string
	want    MX     // for valid input
	wantErr string // substring of the error for invalid input
}{
	// Valid.
	{in: "mx.example.com", want: MX{Domain: "mx.example.com"}},
	{in: "MX.Example.COM.", want: MX{Domain: "mx.example.com"}},
	{in: "*.example.com", want: MX{Wildcard: true, Domain: "example.com"}},
	{in: "*.Example.com.", want: MX{Wildcard: true, Domain: "example.com"}},
	{in: "*.com", want: MX{Wildcard: true, Domain: "com"}},
	{in: "localhost", want: MX{Domain: "localhost"}},
	{in: "a-b.0x.example", want: MX{Domain: "a-b.0x.example"}},
	{in: "xn--mnchen-3ya.de", want: MX{Domain: "xn--mnchen-3ya.de"}},
	{in: "XN--MNCHEN-3YA.de", want: MX{Domain: "xn--mnchen-3ya.de"}},
	{in: label63 + ".example", want: MX{Domain: label63 + ".example"}},
	{in: name253, want: MX{Domain: name253}},
	{in: name253 + ".", want: MX{Domain: name253}},

	// Invalid.
	{in: "", wantErr: "empty pattern"},
	{in: ".", wantErr: "empty host name"},
	{in: "*", wantErr: "whole left-most label"},
	{in: "*.", wantErr: `a domain must follow "*."`},
	{in: "*mx.example.com", wantErr: "whole left-most label"},
	{in: "mx*.example.com", wantErr: "whole left-most label"},
	{in: "mx.*.example.com", wantErr: "whole left-most label"},
	{in: "*.*.example.com", wantErr: "whole left-most label"},
	{in: "**.example.com", wantErr: "whole left-most label"},
	{in: "mx..example.com", wantErr: "empty label"},
	{in: ".example.com", wantErr: "empty label"},
	{in: "mx.example.com..", wantErr: "empty label"},
	{in: "-mx.example.com", wantErr: `label "-mx" starts or ends with a hyphen`},
	{in: "mx-.example.com", wantErr: `label "mx-" starts or ends with a hyphen`},
	{in: "mx_1.example.com", wantErr: `label "mx_1" contains '_'`},
	{in: "mx example.com", wantErr: `contains ' '`},
	{in: " mx.example.com", wantErr: `contains ' '`},
	{in: "mx.example.com/", wantErr: `contains '/'`},
	{in: "mäil.example.com", wantErr: `write the A-label form "xn--mil-qla.example.com"`},
	{in: "*.münchen.de", wantErr: `write the A-label form "*.xn--mnchen-3ya.de"`},
	{in: "mx.exa mple.ü", wantErr: "must be written as A-labels"},
	{in: "mx.\xffexample.com", wantErr: "not valid UTF-8"},
	{in: "xn--zz.example", wantErr: `label "xn--zz" starts with "xn--" but is not a valid A-label`},
	{in: label63 + "a.example", wantErr: "64 characters, more than 63"},
	{in: "a" + name253, wantErr: "254 characters, more than the 253"},
	{in: "*." + name253, wantErr: "255 characters, more than the 253"},
	{in: strings.Repeat("a.", 200), wantErr: "400 characters, more than the 253"},
}

func TestParseMX(t *testing.T) {
	for _, tt := range mxTests {
		got, err := ParseMX(tt.in)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("ParseMX(%q) = %+v, want error containing %q", short(tt.in), got, tt.wantErr)
				continue
			}
			if !errors.Is(err, ErrPolicyMX) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMX(%q) error = %q, want ErrPolicyMX containing %q", short(tt.in), err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMX(%q) error: %v", short(tt.in), err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseMX(%q) = %+v, want %+v", short(tt.in), got, tt.want)
		}
		// Round trip: the wire form parses to the same pattern.
		again, err := ParseMX(got.String())
		if err != nil || again != got {
			t.Errorf("ParseMX(%q.String() = %q) = %+v, %v; want %+v", short(tt.in), got.String(), again, err, got)
		}
	}
}

func TestMXString(t *testing.T) {
	tests := []struct {
		mx   MX
		want string
	}{
		{MX{Domain: "mx.example.com"}, "mx.example.com"},
		{MX{Wildcard: true, Domain: "example.com"}, "*.example.com"},
		{MX{Domain: "MX.Example.com."}, "mx.example.com"},
		{MX{Wildcard: true, Domain: "Example.COM."}, "*.example.com"},
	}
	for _, tt := range tests {
		if got := tt.mx.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.mx, got, tt.want)
		}
	}
}

func TestMXMatch(t *testing.T) {
	tests := []struct {
		pattern string
		host    string
		want    bool
	}{
		{"mx.example.com", "mx.example.com", true},
		{"mx.example.com", "MX.EXAMPLE.COM", true},
		{"mx.example.com", "mx.example.com.", true},
		{"mx.example.com.", "mx.example.com", true},
		{"mx.example.com", "mx2.example.com", false},
		{"mx.example.com", "a.mx.example.com", false},
		{"mx.example.com", "example.com", false},
		{"mx.example.com", "", false},
		{"mx.example.com", ".", false},
		{"*.example.com", "mx.example.com", true},
		{"*.example.com", "MX.Example.Com.", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "mx.example.org", false},
		{"*.example.com", "mxexample.com", false},
		{"*.example.com", "mx.example.com.evil", false},
		{"*.com", "example.com", true},
		{"*.com", "mx.example.com", false},
		// ASCII case folding only: U+212A KELVIN SIGN is not "k".
		{"mx.example.com", "mx.example.com\u212a", false},
		{"mx.k.example", "mx.\u212a.example", false},
	}
	for _, tt := range tests {
		m, err := ParseMX(tt.pattern)
		if err != nil {
			t.Fatalf("ParseMX(%q): %v", tt.pattern, err)
		}
		if got := m.Match(tt.host); got != tt.want {
			t.Errorf("MX(%q).Match(%q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
		p := Policy{MX: []MX{{Domain: "unrelated.example"}, m}}
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("Policy{mx: unrelated.example, %q}.Match(%q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
	if (Policy{}).Match("mx.example.com") {
		t.Error("a policy without mx patterns matched a host")
	}
	// A zero MX matches nothing, not even an empty host.
	if (MX{}).Match("") || (MX{Wildcard: true}).Match("a.") {
		t.Error("an empty pattern matched")
	}
}

// short abbreviates s for test failure messages.
func short(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:60] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
