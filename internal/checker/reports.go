package checker

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// ReportStats gives sums over the TLS reports stored for a domain.
//
// ReportStats returns the sums over the reports whose policy domain is
// domain (lower-case A-label) and whose date range starts on a UTC day in
// [from, to], both days inclusive (from and to are midnight UTC). A domain
// without reports gives zero Stats and no error; an error means the store
// could not be read. Implementations must be safe for concurrent use.
type ReportStats interface {
	ReportStats(ctx context.Context, domain string, from, to time.Time) (Stats, error)
}

// Stats sums TLS reports (RFC 8460 §4.4) for one domain over some days.
// All counts are of sessions; the maps count failed sessions and are nil or
// empty when there were none.
type Stats struct {
	// Reports is the number of distinct reports.
	Reports int
	// Success and Failure are summed over every policy type.
	Success, Failure int64
	// STSSuccess and STSFailure are summed over policies of type "sts" only:
	// sessions of senders that applied the MTA-STS policy.
	STSSuccess, STSFailure int64
	// ByResultType counts failed sessions by result-type, every policy type.
	ByResultType map[string]int64
	// ByMX counts failed sessions by receiving-mx-hostname ("" when the
	// report did not say), every policy type.
	ByMX map[string]int64
	// ByDay has one entry per day with reports, in ascending order.
	ByDay []DayStats
}

// DayStats are one UTC day's sums.
type DayStats struct {
	Day                          time.Time // midnight UTC
	Success, Failure, STSFailure int64
}

// window returns the first and last UTC day of the readiness window.
func (c *Checker) window(now time.Time) (from, to time.Time) {
	to = now.UTC().Truncate(24 * time.Hour)
	from = to.AddDate(0, 0, -(c.cfg.ReadinessWindowDays - 1))
	return from, to
}

// checkReports reads the stored reports: sts failures are a warning in
// testing and an error in enforce, where a failure on a new day is a new
// finding (so it alerts); in testing it also decides readiness.
func (r *run) checkReports(ctx context.Context) {
	from, to := r.c.window(r.now)
	days := r.c.cfg.ReadinessWindowDays
	st, err := r.c.cfg.Stats.ReportStats(ctx, r.domain, from, to)
	if err != nil {
		r.add(Finding{SeverityWarning, CodeReportsUnavailable, "",
			"stored TLS reports could not be read: " + oneLine(err),
			"check the report store (permissions, throttling); the next run retries"})
		return
	}
	if st.STSFailure > 0 {
		f := Finding{SeverityWarning, CodeReportsSTSFailures, "",
			fmt.Sprintf("senders reported %d failed of %d sessions under the sts policy in the last %d days (%s)",
				st.STSFailure, st.STSSuccess+st.STSFailure, days, breakdown(st)),
			"fix what the result types say on the MX hosts named, before switching to enforce"}
		if r.res.Mode == mtasts.ModeEnforce {
			f.Severity = SeverityError
			f.Subject = lastFailureDay(st)
			f.Remedy = "fix what the result types say on the MX hosts named: under enforce this mail was not delivered"
		}
		r.add(f)
	}
	if r.res.Mode != mtasts.ModeTesting {
		return
	}
	var blockers []string
	if n := r.res.Count(SeverityError); n > 0 {
		blockers = append(blockers, plural(n, "error"))
	}
	if st.STSFailure > 0 {
		blockers = append(blockers, plural(int(st.STSFailure), "failed sts session"))
	}
	if n := st.STSSuccess + st.STSFailure; n < r.c.cfg.ReadinessMinSessions {
		blockers = append(blockers, fmt.Sprintf("%d of the %d sessions under the sts policy needed in %d days", n, r.c.cfg.ReadinessMinSessions, days))
	}
	if len(blockers) > 0 {
		r.add(Finding{SeverityInfo, CodeNotReady, "",
			"not ready to enforce: " + strings.Join(blockers, "; "),
			"fix the errors and wait for more reports without sts failures"})
		return
	}
	r.add(Finding{SeverityInfo, CodeReadyToEnforce, "",
		fmt.Sprintf("ready to enforce: all checks pass and %d sessions under the sts policy in %d days had no failure", st.STSSuccess, days),
		"set mode: enforce for the domain and deploy"})
}

// lastFailureDay is the latest day with sts failures, "" if unknown.
func lastFailureDay(st Stats) string {
	for _, d := range slices.Backward(st.ByDay) {
		if d.STSFailure > 0 {
			return d.Day.UTC().Format(time.DateOnly)
		}
	}
	return ""
}

// breakdown lists failures by result type, then by MX, largest first, at
// most 5 of each.
func breakdown(st Stats) string {
	parts := []string{}
	if s := top(st.ByResultType, 5); s != "" {
		parts = append(parts, "by result type: "+s)
	}
	if s := top(st.ByMX, 5); s != "" {
		parts = append(parts, "by MX: "+s)
	}
	if len(parts) == 0 {
		return "no details"
	}
	return strings.Join(parts, "; ")
}

func top(m map[string]int64, n int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var s []string
	for i, k := range keys {
		if i == n {
			s = append(s, fmt.Sprintf("%d more", len(keys)-n))
			break
		}
		label := k
		if label == "" {
			label = "(unnamed)"
		}
		s = append(s, fmt.Sprintf("%s %d", label, m[k]))
	}
	return strings.Join(s, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
