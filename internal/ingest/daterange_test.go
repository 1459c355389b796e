package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rangeReport is report("example.com", id) with the date range given.
func rangeReport(id string, start, end time.Time) []byte {
	return []byte(strings.Replace(string(report("example.com", id)),
		`"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"`,
		fmt.Sprintf(`"start-datetime":%q,"end-datetime":%q`, start.Format(time.RFC3339), end.Format(time.RFC3339)), 1))
}

// TestImplausibleDateRange: a date range no real report has is refused
// with its reason (issue 14 §2): ids registered ahead in year 1, in the
// future, or spanning months would hide from the dashboard and claim an
// identity. Ranges real senders use (a day, an hour, a week, weeks late)
// are accepted.
func TestImplausibleDateRange(t *testing.T) {
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Truncate(24 * time.Hour) }
	tests := []struct {
		name       string
		start, end time.Time
		status     int
		reason     string
	}{
		{"yesterday", day(-1), day(0).Add(-time.Second), http.StatusCreated, ""},
		{"an hour", day(0), day(0).Add(time.Hour), http.StatusCreated, ""},
		{"a week, weeks late", day(-30), day(-23), http.StatusCreated, ""},
		{"today, ending tomorrow 00:00", day(0), day(1), http.StatusCreated, ""},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 23, 59, 59, 0, time.UTC),
			http.StatusUnprocessableEntity, "before"},
		{"before TLS reporting", time.Date(2015, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2015, 12, 31, 23, 0, 0, 0, time.UTC),
			http.StatusUnprocessableEntity, "before"},
		{"RFC 8460's example", time.Date(2016, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2016, 4, 1, 23, 59, 59, 0, time.UTC),
			http.StatusCreated, ""},
		{"archived, a year old", day(-400), day(-399), http.StatusCreated, ""},
		{"next week", day(7), day(8), http.StatusUnprocessableEntity, "future"},
		{"ends far ahead", day(-1), day(30), http.StatusUnprocessableEntity, "future"},
		{"a month long", day(-40), day(-9), http.StatusUnprocessableEntity, "longer"},
	}
	st := newEmbedded(t)
	h := newHandler(t, st, Options{})
	for i, tc := range tests {
		a := post(h, rangeReport(fmt.Sprintf("range-%d", i), tc.start, tc.end), "Content-Type", "application/tlsrpt+json")
		if a.status != tc.status || !strings.Contains(a.body, tc.reason) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, a.status, a.body, tc.status, tc.reason)
		}
		if tc.status != http.StatusCreated && !strings.Contains(a.body, "date-range") {
			t.Errorf("%s: reason %q does not name date-range", tc.name, a.body)
		}
	}
	in, err := New(st, Options{Domains: served, Logger: quietLogger(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Ingest(context.Background(), rangeReport("range-x", day(7), day(8)), ChannelEmail)
	if !errors.Is(err, ErrImplausible) {
		t.Errorf("Ingest of a future report: %v, want ErrImplausible", err)
	}
}
