package dashboard

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/store"
)

const queryToday store.Day = "2024-03-28"

func knownTest(name string) (string, bool) {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	return n, n == "example.com" || n == "example.org"
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		query    string
		from, to store.Day
		err      string // the parameter named; "" for valid
	}{
		{"", "2024-02-28", "2024-03-28", ""},
		{"days=1", "2024-03-28", "2024-03-28", ""},
		{"days=7", "2024-03-22", "2024-03-28", ""},
		{"days=366", "2023-03-29", "2024-03-28", ""},
		{"from=2024-03-01", "2024-03-01", "2024-03-28", ""},
		{"to=2024-03-10", "2024-02-10", "2024-03-10", ""},
		{"from=2024-01-01&to=2024-01-01", "2024-01-01", "2024-01-01", ""},
		{"from=2023-03-29&to=2024-03-28", "2023-03-29", "2024-03-28", ""},
		{"to=2030-01-01&from=2029-12-01", "2029-12-01", "2030-01-01", ""},

		{"days=0", "", "", "days"},
		{"days=367", "", "", "days"},
		{"days=-3", "", "", "days"},
		{"days=seven", "", "", "days"},
		{"days=7&to=2024-03-01", "", "", "days"},
		{"from=2024-02-30", "", "", "from"},
		{"from=24-03-01", "", "", "from"},
		{"to=2024-3-1", "", "", "to"},
		{"from=2024-03-02&to=2024-03-01", "", "", "from"},
		{"from=2023-03-28&to=2024-03-28", "", "", "from"}, // 367 days
		{"from=0000-01-01", "", "", "from"},
	}
	for _, tc := range tests {
		q, err := parseQuery(tc.query)
		if err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		r, err := parseRange(q, queryToday)
		if tc.err != "" {
			if err == nil || !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), tc.err+":") {
				t.Errorf("%q: %v, want an error naming %s", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil || r.From != tc.from || r.To != tc.to {
			t.Errorf("%q: %v %v, want %s to %s", tc.query, r, err, tc.from, tc.to)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"", true},
		{"a=1&b=2", true},
		{"a=" + strings.Repeat("x", maxParam), true},
		{"a=" + strings.Repeat("x", maxParam+1), false},
		{strings.Repeat("a=1&", maxQuery/4+1), false},
		{"a=1&a=2", false},
		{"a=%zz", false},
		{"a;b", false},
	}
	for _, tc := range tests {
		if _, err := parseQuery(tc.raw); (err == nil) != tc.ok {
			t.Errorf("%.40q: %v, want ok %v", tc.raw, err, tc.ok)
		}
	}
}

func TestParseReportFilter(t *testing.T) {
	base := ReportFilter{DayRange: DayRange{"2024-02-28", "2024-03-28"}, Limit: DefaultLimit}
	with := func(f func(*ReportFilter)) ReportFilter { r := base; f(&r); return r }
	tests := []struct {
		query string
		want  ReportFilter
		err   string
	}{
		{"", base, ""},
		{"domain=EXAMPLE.org.", with(func(r *ReportFilter) { r.Domain = "example.org" }), ""},
		{"organization=+Google+", with(func(r *ReportFilter) { r.Organization = "google" }), ""},
		{"result_type=STARTTLS-not-supported", with(func(r *ReportFilter) { r.ResultType = "starttls-not-supported" }), ""},
		{"result_type=(other)", with(func(r *ReportFilter) { r.ResultType = "(other)" }), ""},
		{"failures=true", with(func(r *ReportFilter) { r.FailuresOnly = true }), ""},
		{"failures=on", with(func(r *ReportFilter) { r.FailuresOnly = true }), ""},
		{"failures=0", base, ""},
		{"offset=100&limit=500", with(func(r *ReportFilter) { r.Offset, r.Limit = 100, 500 }), ""},
		{"days=7", with(func(r *ReportFilter) { r.From = "2024-03-22" }), ""},

		{"domain=other.example", ReportFilter{}, "domain"},
		{"result_type=tls-broken", ReportFilter{}, "result_type"},
		{"failures=yes", ReportFilter{}, "failures"},
		{"offset=x", ReportFilter{}, "offset"},
		{"offset=1000001", ReportFilter{}, "offset"},
		{"limit=0", ReportFilter{}, "limit"},
		{"limit=501", ReportFilter{}, "limit"},
		{"days=0", ReportFilter{}, "days"},
	}
	for _, tc := range tests {
		q, err := parseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseReportFilter(q, queryToday, knownTest)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err+":") {
				t.Errorf("%q: %v, want an error naming %s", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(f, tc.want) {
			t.Errorf("%q: %+v %v, want %+v", tc.query, f, err, tc.want)
			continue
		}
		// Round trip: the filter as a query gives the filter again.
		back, err := parseReportFilter(f.values(), queryToday, knownTest)
		if err != nil || !reflect.DeepEqual(back, f) {
			t.Errorf("%q: round trip %+v %v, want %+v", tc.query, back, err, f)
		}
	}
}

// FuzzQuery: no query string makes the parsers panic, and whatever they
// accept is a range of 1 to MaxRangeDays days and a filter within bounds
// that survives the round trip through its query form.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "days=7", "days=366", "days=0", "from=2024-03-01&to=2024-03-10", "from=2024-02-30",
		"domain=example.org&organization=google&result_type=certificate-expired&failures=true&offset=5&limit=10",
		"a=1&a=2", "a=%zz", "limit=501", "to=9999-12-31", "from=0001-01-01&to=0001-01-02",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("%q: %v is not ErrQuery", raw, err)
			}
			return
		}
		r, err := parseRange(q, queryToday)
		if err == nil {
			if !r.From.Valid() || !r.To.Valid() || r.From > r.To || r.Days() < 1 || r.Days() > MaxRangeDays {
				t.Fatalf("%q: range %v", raw, r)
			}
		}
		fl, err := parseReportFilter(q, queryToday, knownTest)
		if err != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("%q: %v is not ErrQuery", raw, err)
			}
			return
		}
		if fl.Limit < 1 || fl.Limit > MaxLimit || fl.Offset < 0 {
			t.Fatalf("%q: filter %+v", raw, fl)
		}
		back, err := parseReportFilter(fl.values(), queryToday, knownTest)
		if err != nil || !reflect.DeepEqual(back, fl) {
			t.Fatalf("%q: round trip %+v %v, want %+v", raw, back, err, fl)
		}
		if _, err := url.ParseQuery(fl.values().Encode()); err != nil {
			t.Fatal(err)
		}
	})
}
