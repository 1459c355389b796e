package tlsrpt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRUA(t *testing.T) {
	tests := []struct {
		in     string
		scheme string // "" when invalid
		errHas string
	}{
		{in: "mailto:tlsrpt@example.com", scheme: "mailto"},
		{in: "MAILTO:tlsrpt@example.com", scheme: "mailto"},
		{in: "mailto:a@example.com%2Cb@example.com", scheme: "mailto"},
		{in: "mailto:a@example.com%2Cb", errHas: "\"b\" is not an e-mail address"},
		{in: "mailto:tlsrpt@example.com?subject=x", scheme: "mailto"},
		{in: "https://reports.example.com/tlsrpt", scheme: "https"},
		{in: "https://reports.example.com:8443/v1/tlsrpt?a=1%3B2", scheme: "https"},
		{in: "https://[2001:db8::1]/r", scheme: "https"},

		{in: "", errHas: "empty"},
		{in: "http://reports.example.com/tlsrpt", errHas: "http: is not allowed"},
		{in: "ftp://example.com/", errHas: "scheme \"ftp\""},
		{in: "tlsrpt@example.com", errHas: "missing scheme"},
		{in: "mailto:", errHas: "needs an address"},
		{in: "mailto:tlsrpt", errHas: "not an e-mail address"},
		{in: "mailto:@example.com", errHas: "not an e-mail address"},
		{in: "mailto:a,b@example.com", errHas: "%2C"},
		{in: "mailto:a!b@example.com", errHas: "%21"},
		{in: "https://example.com/a;b", errHas: "%3B"},
		{in: "https://example.com/a b", errHas: "space"},
		{in: "https://example.com/\x01", errHas: "control"},
		{in: "https:///path", errHas: "without a host"},
		{in: "https://example.com/%zz", errHas: "escape"},
		{in: "mailto:%zz@example.com", errHas: "escape"},
	}
	for _, tt := range tests {
		u, err := ParseRUA(tt.in)
		if tt.scheme == "" {
			if !errors.Is(err, ErrRecordSyntax) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("ParseRUA(%q) = %v, %v; want ErrRecordSyntax containing %q", tt.in, u, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRUA(%q): %v", tt.in, err)
			continue
		}
		if u.Scheme != tt.scheme || u.URI != tt.in || u.String() != tt.in {
			t.Errorf("ParseRUA(%q) = %+v, want scheme %q and the URI as written", tt.in, u, tt.scheme)
		}
	}
}

var recordTests = []struct {
	in     string
	want   *Record // nil when invalid
	canon  string  // String() of the parsed record, "" = in
	errHas string
}{
	{
		in:   "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
		want: &Record{Version: "TLSRPTv1", RUA: []RUA{{"mailto", "mailto:tlsrpt@example.com"}}},
	},
	{
		in: "v=TLSRPTv1;rua=mailto:a@example.com ,  https://r.example.com/v1;",
		want: &Record{Version: "TLSRPTv1", RUA: []RUA{
			{"mailto", "mailto:a@example.com"}, {"https", "https://r.example.com/v1"}}},
		canon: "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/v1",
	},
	{
		in: "v=TLSRPTv1; rua=https://r.example.com/v1; ext-1.x=some:value; b=2",
		want: &Record{Version: "TLSRPTv1", RUA: []RUA{{"https", "https://r.example.com/v1"}},
			Extensions: []Extension{{"ext-1.x", "some:value"}, {"b", "2"}}},
	},
	{
		in:    "v=TLSRPTv1 ;\trua=mailto:x@example.com \t",
		want:  &Record{Version: "TLSRPTv1", RUA: []RUA{{"mailto", "mailto:x@example.com"}}},
		canon: "v=TLSRPTv1; rua=mailto:x@example.com",
	},
	{
		in:    "v=TLSRPTv1; ext=1; rua=mailto:x@example.com",
		want:  &Record{Version: "TLSRPTv1", RUA: []RUA{{"mailto", "mailto:x@example.com"}}, Extensions: []Extension{{"ext", "1"}}},
		canon: "v=TLSRPTv1; rua=mailto:x@example.com; ext=1",
	},

	{in: "", errHas: "v: missing"},
	{in: "v=TLSRPTv1", errHas: "rua: missing"},
	{in: "v=TLSRPTv1;", errHas: "rua: missing"},
	{in: "v=TLSRPTv1; ext=1", errHas: "rua: missing"},
	{in: "v=TLSRPTv2; rua=mailto:x@example.com", errHas: "version \"TLSRPTv2\""},
	{in: "v=tlsrptv1; rua=mailto:x@example.com", errHas: "version"},
	{in: "rua=mailto:x@example.com; v=TLSRPTv1", errHas: "v: must be the first field"},
	{in: " v=TLSRPTv1; rua=mailto:x@example.com", errHas: "v: must be the first field"},
	{in: "v=TLSRPTv1; rua=http://r.example.com/", errHas: "http: is not allowed"},
	{in: "v=TLSRPTv1; rua=ftp://r.example.com/", errHas: "not allowed"},
	{in: "v=TLSRPTv1; rua=", errHas: "rua: expected a URI"},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com,", errHas: "rua: expected a URI"},
	{in: "v=TLSRPTv1; rua=mailto:a!b@example.com", errHas: "%21"},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", errHas: "rua: given more than once"},
	{in: "v=TLSRPTv1; v=TLSRPTv1; rua=mailto:a@example.com", errHas: "v: given more than once"},
	{in: "v=TLSRPTv1 rua=mailto:a@example.com", errHas: "expected \";\""},
	{in: "v=TLSRPTv1; rua mailto:a@example.com", errHas: "expected \"=\""},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com; =x", errHas: "expected a field name"},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com; e=", errHas: "empty or invalid value"},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com; e=a=b", errHas: "expected \";\""},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com;; e=1", errHas: "expected a field name"},
	{in: "v=TLSRPTv1; rua=mailto:a@example.com " + strings.Repeat("x", 70000), errHas: "longer than"},
}

func TestParseRecord(t *testing.T) {
	for _, tt := range recordTests {
		r, err := ParseRecord(tt.in)
		if tt.want == nil {
			if !errors.Is(err, ErrRecordSyntax) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("ParseRecord(%q) = %+v, %v; want ErrRecordSyntax containing %q", tt.in, r, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRecord(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(r, *tt.want) {
			t.Errorf("ParseRecord(%q) = %+v, want %+v", tt.in, r, *tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if s := r.String(); s != canon {
			t.Errorf("ParseRecord(%q).String() = %q, want %q", tt.in, s, canon)
		}
		// Round trip: the wire form parses back to the same record.
		r2, err := ParseRecord(r.String())
		if err != nil || !reflect.DeepEqual(r2, r) {
			t.Errorf("round trip of %q: %+v, %v", r.String(), r2, err)
		}
	}
}

func TestRecordStringDefaultVersion(t *testing.T) {
	u, err := ParseRUA("https://r.example.com/v1")
	if err != nil {
		t.Fatal(err)
	}
	r := Record{RUA: []RUA{u, {Scheme: "mailto", URI: "mailto:a@example.com"}}}
	const want = "v=TLSRPTv1; rua=https://r.example.com/v1,mailto:a@example.com"
	if s := r.String(); s != want {
		t.Fatalf("String() = %q, want %q", s, want)
	}
}

func TestRecordFromTXT(t *testing.T) {
	const rec = "v=TLSRPTv1; rua=mailto:a@example.com"
	tests := []struct {
		name string
		rrs  [][]string
		want string // String() of the record; "" when an error
		err  error
	}{
		{"one", [][]string{{rec}}, rec, nil},
		{"split strings", [][]string{{"v=TLSRPTv1; rua=mai", "lto:a@example.com"}}, rec, nil},
		{"others ignored", [][]string{{"v=spf1 -all"}, {rec}, {"v=TLSRPTv10; rua=x"}, {"google-site-verification=x"}}, rec, nil},
		{"none", nil, "", ErrNoRecord},
		{"only others", [][]string{{"v=spf1 -all"}, {"v=TLSRPTv2; rua=mailto:a@example.com"}}, "", ErrNoRecord},
		{"two", [][]string{{rec}, {"v=TLSRPTv1; rua=mailto:b@example.com"}}, "", ErrMultipleRecords},
		{"two, one bad", [][]string{{rec}, {"v=TLSRPTv1"}}, "", ErrMultipleRecords},
		{"one bad", [][]string{{"v=TLSRPTv1;rua=http://x.example/"}}, "", ErrRecordSyntax},
	}
	for _, tt := range tests {
		r, err := RecordFromTXT(tt.rrs)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: RecordFromTXT = %+v, %v; want %v", tt.name, r, err, tt.err)
			}
			continue
		}
		if err != nil || r.String() != tt.want {
			t.Errorf("%s: RecordFromTXT = %q, %v; want %q", tt.name, r.String(), err, tt.want)
		}
	}
}
