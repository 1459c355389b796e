package tlsrpt

import (
	"slices"
	"strings"
	"testing"
)

func TestTLSARecords(t *testing.T) {
	const a, b = "3 1 1 206d5f55ecb9f8389bc57b5ba14716dd5b23d0834fd2c99fd402f0bda32e9523", "2 1 1 4201e4b741c746b62ff806c142158c35ecbbbd9ac56b6d791f760e272736f8d0"
	cases := []struct {
		name string
		p    PolicyResult
		want []string
	}{
		{"one-per-string", PolicyResult{Type: PolicyTypeTLSA, PolicyStrings: []string{a, b}}, []string{a, b}},
		{"json-encoded-list", PolicyResult{Type: PolicyTypeTLSA, PolicyStrings: []string{`["` + a + `", "` + b + `"]`}}, []string{a, b}},
		{"spaces-and-blanks", PolicyResult{Type: PolicyTypeTLSA, PolicyStrings: []string{"3  1\t1 abcd ", " "}}, []string{"3 1 1 abcd"}},
		{"not-a-list-kept", PolicyResult{Type: PolicyTypeTLSA, PolicyStrings: []string{"[broken"}}, []string{"[broken"}},
		{"sts", PolicyResult{Type: PolicyTypeSTS, PolicyStrings: []string{"version: STSv1"}}, nil},
	}
	for _, c := range cases {
		if got := c.p.TLSARecords(); !slices.Equal(got, c.want) {
			t.Errorf("%s: TLSARecords() = %q, want %q", c.name, got, c.want)
		}
	}
}

// FuzzTLSARecords: whatever the policy strings, TLSARecords does not
// panic, keeps no blank record and no run of white space, and gives no
// more records than a JSON list in the one string could hold.
func FuzzTLSARecords(f *testing.F) {
	f.Add(`["3 1 1 aa", "2 0 1 bb"]`, "3 1 1 cc")
	f.Add(`[`, "")
	f.Add(`[1, 2]`, " ")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, strs := range [][]string{{a}, {a, b}} {
			for _, r := range (PolicyResult{Type: PolicyTypeTLSA, PolicyStrings: strs}).TLSARecords() {
				if r == "" || strings.Contains(r, "  ") || strings.TrimSpace(r) != r {
					t.Fatalf("record %q from %q", r, strs)
				}
			}
		}
	})
}
