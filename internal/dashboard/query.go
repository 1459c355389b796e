package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Bounds of query parameters.
const (
	// DefaultRangeDays is the day range of a domain page and the report
	// list when none is given: the last 30 days, today included.
	DefaultRangeDays = 30
	// MaxRangeDays bounds a day range.
	MaxRangeDays = 366
	// DefaultLimit and MaxLimit bound a page of the report list.
	DefaultLimit = 50
	MaxLimit     = 500
	// maxParam bounds the length of one query parameter value.
	maxParam = 255
	// maxQuery bounds the raw query string.
	maxQuery = 2048
)

// ErrQuery is wrapped by every error about a request's query parameters;
// the message names the parameter.
var ErrQuery = errors.New("bad query")

func queryError(param, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrQuery, param, fmt.Sprintf(format, a...))
}

// parseQuery parses a raw query string within maxQuery bytes; each
// parameter may appear once.
func parseQuery(raw string) (url.Values, error) {
	if len(raw) > maxQuery {
		return nil, fmt.Errorf("%w: query longer than %d bytes", ErrQuery, maxQuery)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQuery, err)
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, queryError(k, "given %d times, want once", len(v))
		}
		if len(v[0]) > maxParam {
			return nil, queryError(k, "longer than %d bytes", maxParam)
		}
	}
	return q, nil
}

// DayRange is an inclusive range of UTC days.
type DayRange struct {
	From store.Day `json:"from"`
	To   store.Day `json:"to"`
}

// Days is the number of days in r.
func (r DayRange) Days() int {
	return int(r.To.Time().Sub(r.From.Time()).Hours()/24) + 1
}

// lastDays is the range of the n days ending today.
func lastDays(today store.Day, n int) DayRange {
	return DayRange{From: today.AddDays(1 - n), To: today}
}

// parseRange reads a day range from q: "days" (1 to MaxRangeDays, ending
// today), or "from" and "to" (YYYY-MM-DD; to defaults to today, from to
// DefaultRangeDays days before to). "days" excludes the other two.
func parseRange(q url.Values, today store.Day) (DayRange, error) {
	days, from, to := q.Get("days"), q.Get("from"), q.Get("to")
	if days != "" {
		if from != "" || to != "" {
			return DayRange{}, queryError("days", "give either days or from and to")
		}
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > MaxRangeDays {
			return DayRange{}, queryError("days", "%q: want a number of days from 1 to %d", days, MaxRangeDays)
		}
		return lastDays(today, n), nil
	}
	r := DayRange{To: today}
	if to != "" {
		d, err := store.ParseDay(to)
		if err != nil {
			return DayRange{}, queryError("to", "%v", err)
		}
		r.To = d
	}
	r.From = r.To.AddDays(1 - DefaultRangeDays)
	if from != "" {
		d, err := store.ParseDay(from)
		if err != nil {
			return DayRange{}, queryError("from", "%v", err)
		}
		r.From = d
	}
	if r.From > r.To {
		return DayRange{}, queryError("from", "%s is after to %s", r.From, r.To)
	}
	if n := r.Days(); n > MaxRangeDays {
		return DayRange{}, queryError("from", "range of %d days, at most %d", n, MaxRangeDays)
	}
	return r, nil
}

// ReportFilter selects reports of the report list.
type ReportFilter struct {
	DayRange
	// Domain is one configured domain, "" for all.
	Domain string `json:"domain,omitempty"`
	// Organization is matched, case-insensitively, as a substring of the
	// normalised organisation name.
	Organization string `json:"organization,omitempty"`
	// ResultType keeps reports with failed sessions of this result type.
	ResultType string `json:"result_type,omitempty"`
	// FailuresOnly keeps reports with failed sessions.
	FailuresOnly bool `json:"failures_only"`
	Offset       int  `json:"offset"`
	Limit        int  `json:"limit"`
}

// parseReportFilter reads a ReportFilter from q: the range (parseRange),
// domain (checked by known), organization, result_type, failures
// ("true"/"1"/"on" or "false"/"0"/"" ), offset and limit.
func parseReportFilter(q url.Values, today store.Day, known func(string) (string, bool)) (ReportFilter, error) {
	r, err := parseRange(q, today)
	if err != nil {
		return ReportFilter{}, err
	}
	f := ReportFilter{DayRange: r, Limit: DefaultLimit}
	if d := q.Get("domain"); d != "" {
		name, ok := known(d)
		if !ok {
			return ReportFilter{}, queryError("domain", "%q is not a configured domain", d)
		}
		f.Domain = name
	}
	f.Organization = strings.ToLower(strings.TrimSpace(q.Get("organization")))
	if t := strings.ToLower(strings.TrimSpace(q.Get("result_type"))); t != "" {
		if !tlsrpt.ResultType(t).Known() && t != string(store.OtherResultType) {
			return ReportFilter{}, queryError("result_type", "%q is not a result type of RFC 8460 §4.3", t)
		}
		f.ResultType = t
	}
	switch v := q.Get("failures"); v {
	case "", "0", "false", "off":
	case "1", "true", "on":
		f.FailuresOnly = true
	default:
		return ReportFilter{}, queryError("failures", "%q: want true or false", v)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return ReportFilter{}, queryError("offset", "%q: want a number from 0 to 1000000", v)
		}
		f.Offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return ReportFilter{}, queryError("limit", "%q: want a number from 1 to %d", v, MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// values is f as query parameters, those at their default left out.
func (f ReportFilter) values() url.Values {
	v := url.Values{}
	v.Set("from", string(f.From))
	v.Set("to", string(f.To))
	if f.Domain != "" {
		v.Set("domain", f.Domain)
	}
	if f.Organization != "" {
		v.Set("organization", f.Organization)
	}
	if f.ResultType != "" {
		v.Set("result_type", f.ResultType)
	}
	if f.FailuresOnly {
		v.Set("failures", "true")
	}
	if f.Offset != 0 {
		v.Set("offset", strconv.Itoa(f.Offset))
	}
	if f.Limit != DefaultLimit {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}
