package tlsrpt

import (
	"slices"
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
