package dnsname

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string // want "" for ErrInvalid
	}{
		{"example.com", "example.com"},
		{"Example.COM.", "example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
		{"ＥＸＡＭＰＬＥ.com", "example.com"}, // width folding
		{"localhost", "localhost"},
		{"", ""},
		{".", ""},
		{"a..b", ""},
		{"-a.example", ""},
		{"a_b.example", ""},
		{"a b.example", ""},
		{strings.Repeat("a", 64) + ".example", ""},
		{strings.Repeat("a.", 126) + "ab", ""}, // 254 octets
		{strings.Repeat("a.", 125) + "abc", strings.Repeat("a.", 125) + "abc"},
		{strings.Repeat("ü", 2000), ""},
	}
	for _, tc := range tests {
		n, err := Parse(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %q, %v; want ErrInvalid", tc.in, n, err)
			}
			continue
		}
		if err != nil || n.String() != tc.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, n, err, tc.want)
		}
	}
	if n := MustParse("a.b.example"); n.Labels() != 3 || n.IsZero() {
		t.Errorf("Labels = %d, IsZero %v", n.Labels(), n.IsZero())
	}
	if (Name{}).Labels() != 0 || !(Name{}).IsZero() {
		t.Error("zero Name")
	}
}

// FuzzParse: a parsed name parses again to itself, is ASCII lower case
// without a trailing dot, and within the DNS length.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "xn--bcher-kva.example", "a..b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		w := n.String()
		if w == "" || len(w) > MaxLen || strings.HasSuffix(w, ".") || w != strings.ToLower(w) {
			t.Fatalf("Parse(%q) = %q", s, w)
		}
		for i := 0; i < len(w); i++ {
			if w[i] >= 0x80 {
				t.Fatalf("Parse(%q) = %q: not ASCII", s, w)
			}
		}
		again, err := Parse(w)
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q, %v; want itself", w, again, err)
		}
	})
}
