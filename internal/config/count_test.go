package config

import (
	"slices"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	withCount := func(count ...string) string {
		l := []string{headOrg, headRegion, "reporting:", "  https: true", "  count:"}
		for _, c := range count {
			l = append(l, "    "+c)
		}
		return lines(slices.Concat(l, oneDomain)...)
	}
	for _, tc := range []struct {
		name string
		in   string
		want Count
	}{
		{"default", valid(), Count{}},
		{"aligned e-mail only", withCount("provenance: [email-aligned]"), Count{Provenances: []string{"email-aligned"}}},
		{"conflicts too", withCount("conflicting: true", "provenance: [https, email-aligned]"),
			Count{Provenances: []string{"https", "email-aligned"}, Conflicting: true}},
	} {
		c := mustParse(t, tc.in)
		if !slices.Equal(c.Reporting.Count.Provenances, tc.want.Provenances) || c.Reporting.Count.Conflicting != tc.want.Conflicting {
			t.Errorf("%s: Count = %+v, want %+v", tc.name, c.Reporting.Count, tc.want)
		}
	}
	for _, tc := range []struct {
		name, in string
		want     wantErr
	}{
		{"unknown provenance", withCount("provenance: [dkim]"), wantErr{6, "reporting.count.provenance[0]", "not a provenance"}},
		{"twice", withCount("provenance: [https, https]"), wantErr{6, "reporting.count.provenance[1]", "listed twice"}},
		{"empty list", withCount("provenance: []"), wantErr{6, "reporting.count.provenance", "lists no provenance"}},
		{"not a boolean", withCount("conflicting: maybe"), wantErr{6, "reporting.count.conflicting", ""}},
		{"unknown key", withCount("signed: true"), wantErr{6, "reporting.count.signed", ""}},
	} {
		_, err := Parse([]byte(tc.in), testFile)
		errs := allErrors(t, err)
		if len(errs) != 1 || errs[0].Line != tc.want.line || errs[0].Field != tc.want.field || !strings.Contains(errs[0].Msg, tc.want.msg) {
			t.Errorf("%s: errors %v, want one at line %d, %s: %q", tc.name, errs, tc.want.line, tc.want.field, tc.want.msg)
		}
	}
}
