package mtasts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// recordTests are the unit cases of ParseRecord; they also seed
// FuzzParseRecord.
var recordTests = []struct {
	in      string
	want    Record
	wantErr string // substring of the error (wrapping ErrRecordSyntax)
}{
	// Valid.
	{in: "v=STSv1; id=20160831085700Z", want: Record{Version: "STSv1", ID: "20160831085700Z"}},
	{in: "v=STSv1;id=a", want: Record{Version: "STSv1", ID: "a"}},
	{in: "v=STSv1 ;\tid=abc ; ", want: Record{Version: "STSv1", ID: "abc"}},
	{in: "v=STSv1; id=abc;", want: Record{Version: "STSv1", ID: "abc"}},
	{in: "v=STSv1; id=" + strings.Repeat("Z9", 16), want: Record{Version: "STSv1", ID: strings.Repeat("Z9", 16)}},
	{
		in:   "v=STSv1; ext=val!; id=1; x-y.z_0=~a:b; ext=2",
		want: Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"ext", "val!"}, {"x-y.z_0", "~a:b"}, {"ext", "2"}}},
	},
	{in: "v=STSv1; id=first; id=second", want: Record{Version: "STSv1", ID: "first"}},
	{in: "v=STSv1; id=1; v=STSv2", want: Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"v", "STSv2"}}}},

	// Invalid.
	{in: "", wantErr: `must begin with "v=STSv1"`},
	{in: "id=1; v=STSv1", wantErr: `must begin with "v=STSv1"`},
	{in: " v=STSv1; id=1", wantErr: `must begin with "v=STSv1"`},
	{in: "v=stsv1; id=1", wantErr: `begins with "v=stsv1"; it must begin with "v=STSv1" (case-sensitive)`},
	{in: "v=STSv1", wantErr: "id: missing"},
	{in: "v=STSv1;", wantErr: "id: missing"},
	{in: "v=STSv1; ext=1", wantErr: "id: missing"},
	{in: "v=STSv10; id=1", wantErr: `expected ";" before "0; id=1"`},
	{in: "v=STSv1 id=1", wantErr: `expected ";" before "id=1"`},
	{in: "v=STSv1; id=1 ", wantErr: "white space at the end"},
	{in: "v=STSv1; id=1 x=2", wantErr: `expected ";" before "x=2"`},
	{in: "v=STSv1; id=", wantErr: "id: empty"},
	{in: "v=STSv1; id=" + strings.Repeat("a", 33), wantErr: "33 characters, more than 32"},
	{in: "v=STSv1; id=2024-01-01", wantErr: `"2024-01-01" contains '-'`},
	{in: "v=STSv1; id=1; id=b_c", wantErr: `id: "b_c" contains '_'`},
	{in: "v=STSv1; id", wantErr: `field "id" has no "="`},
	{in: "v=STSv1; id=1;; x=2", wantErr: `field "" has no "="`},
	{in: "v=STSv1; id=1; =x", wantErr: "field name empty"},
	{in: "v=STSv1; id=1; _x=1", wantErr: "must start with a letter or digit"},
	{in: "v=STSv1; id=1; " + strings.Repeat("k", 33) + "=1", wantErr: "33 characters, more than 32"},
	{in: "v=STSv1; ID=1", wantErr: `ID: field names are case-sensitive; write "id"`},
	{in: "v=STSv1; id=1; k=", wantErr: "k: empty value"},
	{in: "v=STSv1; id=1; k=a=b", wantErr: `value "a=b" contains '='`},
	{in: "v=STSv1; id=1; k=ü", wantErr: "printable ASCII"},
	{in: "v=STSv1; id=1; k=a\x00", wantErr: "printable ASCII"},
	{in: "v=STSv1; id=1; x=" + strings.Repeat("a", 65535), wantErr: "65552 characters, more than 65535"},
}

func TestParseRecord(t *testing.T) {
	for _, tt := range recordTests {
		got, err := ParseRecord(tt.in)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("ParseRecord(%q) = %+v, want error containing %q", short(tt.in), got, tt.wantErr)
				continue
			}
			if !errors.Is(err, ErrRecordSyntax) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRecord(%q) error = %q, want ErrRecordSyntax containing %q", short(tt.in), err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRecord(%q) error: %v", short(tt.in), err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRecord(%q) = %+v, want %+v", short(tt.in), got, tt.want)
			continue
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ParseRecord(%q) does not validate: %v", short(tt.in), err)
		}
		// Round trip.
		s := got.String()
		again, err := ParseRecord(s)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseRecord(String() = %q) = %+v, %v; want %+v", s, again, err, got)
		}
	}
}

func TestRecordString(t *testing.T) {
	tests := []struct {
		r    Record
		want string
	}{
		{Record{Version: "STSv1", ID: "abc123"}, "v=STSv1; id=abc123"},
		{Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"a", "b"}, {"c", "d"}}}, "v=STSv1; id=1; a=b; c=d"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		r    Record
		want string // "" for valid
	}{
		{Record{Version: "STSv1", ID: "a1"}, ""},
		{Record{Version: "STSv1", ID: "a1", Extensions: []Extension{{"k", "v"}}}, ""},
		{Record{Version: "", ID: "a1"}, `v: "" is not supported`},
		{Record{Version: "STSv2", ID: "a1"}, `v: "STSv2" is not supported`},
		{Record{Version: "STSv1"}, "id: empty"},
		{Record{Version: "STSv1", ID: "a b"}, `id: "a b" contains ' '`},
		{Record{Version: "STSv1", ID: strings.Repeat("1", 33)}, "more than 32"},
		{Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"id", "2"}}}, `extensions[0]: "id": "id" is the record id`},
		{Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"k", "a;b"}}}, `extensions[0]: "k": value "a;b" contains ';'`},
		{Record{Version: "STSv1", ID: "1", Extensions: []Extension{{"k", "v"}, {"k k", "v"}}}, `extensions[1]: "k k": field name contains ' '`},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v.Validate() = %v", tt.r, err)
			}
			if _, err := ParseRecord(tt.r.String()); err != nil {
				t.Errorf("valid %+v: String() does not parse: %v", tt.r, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrRecordSyntax) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate() = %v, want ErrRecordSyntax containing %q", tt.r, err, tt.want)
		}
	}
}

func TestRecordFromTXT(t *testing.T) {
	tests := []struct {
		name    string
		rrs     [][]string
		want    Record
		wantIs  error
		wantErr string
	}{
		{name: "one record", rrs: [][]string{{"v=STSv1; id=abc"}}, want: Record{Version: "STSv1", ID: "abc"}},
		{name: "strings concatenated", rrs: [][]string{{"v=STSv1; ", "id=ab", "c"}}, want: Record{Version: "STSv1", ID: "abc"}},
		{name: "others discarded", rrs: [][]string{{"v=spf1 -all"}, {"v=STSv1; id=abc"}, {"v=STSv10; id=x"}, {}}, want: Record{Version: "STSv1", ID: "abc"}},
		{name: "white space before delimiter", rrs: [][]string{{"v=STSv1 ; id=abc"}}, want: Record{Version: "STSv1", ID: "abc"}},

		{name: "no answer", rrs: nil, wantIs: ErrNoRecord},
		{name: "no STS record", rrs: [][]string{{"v=spf1 -all"}, {"hello"}}, wantIs: ErrNoRecord},
		{name: "wrong case", rrs: [][]string{{"v=stsv1; id=abc"}}, wantIs: ErrNoRecord, wantErr: `a record begins with "v=stsv1"`},
		{name: "other version", rrs: [][]string{{"v=STSv2; id=abc"}}, wantIs: ErrNoRecord},
		{name: "two records", rrs: [][]string{{"v=STSv1; id=abc"}, {"v=STSv1; id=abd"}}, wantIs: ErrMultipleRecords, wantErr: "2 records"},
		{name: "two identical records", rrs: [][]string{{"v=STSv1; id=abc"}, {"v=STSv1; id=abc"}}, wantIs: ErrMultipleRecords},
		{name: "two, one invalid", rrs: [][]string{{"v=STSv1; id=abc"}, {"v=STSv1"}}, wantIs: ErrMultipleRecords},
		{name: "one invalid", rrs: [][]string{{"v=STSv1; id=a-b"}}, wantIs: ErrRecordSyntax, wantErr: `"a-b"`},
		{name: "split inside the version", rrs: [][]string{{"v=STS", "v1;id=x"}}, want: Record{Version: "STSv1", ID: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RecordFromTXT(tt.rrs)
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RecordFromTXT = %+v, %v; want %v containing %q", got, err, tt.wantIs, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RecordFromTXT error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RecordFromTXT = %+v, want %+v", got, tt.want)
			}
		})
	}
}
