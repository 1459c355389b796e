package checker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
)

// ReportStats gives the sums of the TLS reports stored for a domain: the
// store's one aggregate, store.Summary.
//
// Summary returns the sums over the reports whose policy domain is domain
// (lower-case A-label) and whose date range starts on a UTC day in [from,
// to], both inclusive. A domain without reports gives zero sums and no
// error; an error means the store could not be read. Implementations must
// be safe for concurrent use.
type ReportStats interface {
	Summary(ctx context.Context, domain string, from, to store.Day) (store.Summary, error)
}

// ReportFacts is what a ReportStats may also give (store.Counted and
// store.DayCounted do): the sums and the facts behind their failures, from
// the same reads.
//
// SummaryFacts returns what Summary returns for the same arguments, with
// the same error contract, and facts of domain within [from, to] that the
// sums count (the organisation file's reporting.count): at least every
// counted fact of every day with failed sessions. The checker then also
// judges each cluster of failed sessions (triage) and each MX host
// (mxhealth; days without facts are taken from Summary.ByDay).
// Implementations must be safe for concurrent use.
type ReportFacts interface {
	SummaryFacts(ctx context.Context, domain string, from, to store.Day) (store.Summary, []store.Fact, error)
}

// window returns the first and last UTC day of the readiness window.
func (c *Checker) window(now time.Time) (from, to store.Day) {
	to = store.DayOf(now)
	return to.AddDays(-(c.cfg.ReadinessWindowDays - 1)), to
}

// checkReports reads the stored reports: sts failures are a warning in
// testing and an error in enforce, where a failure on a new day is a new
// finding (so it alerts); in testing it also decides readiness.
func (r *run) checkReports(ctx context.Context) {
	from, to := r.c.window(r.now)
	days := r.c.cfg.ReadinessWindowDays
	var (
		st    store.Summary
		facts []store.Fact
		err   error
	)
	rf, withFacts := r.c.cfg.Stats.(ReportFacts)
	if withFacts {
		st, facts, err = rf.SummaryFacts(ctx, r.domain, from, to)
	} else {
		st, err = r.c.cfg.Stats.Summary(ctx, r.domain, from, to)
	}
	if err != nil {
		r.add(finding(health.SeverityWarning, health.CodeReportsUnavailable, "",
			"stored TLS reports could not be read: "+oneLine(err),
			"check the report store (permissions, throttling); the next run retries"))
		return
	}
	if st.Conflicting > 0 {
		what := "left out of readiness and alerts until resolved"
		if st.Excluded < st.Conflicting {
			what = "counted, as reporting.count.conflicting says"
		}
		r.add(finding(health.SeverityWarning, health.CodeReportsConflicting, "",
			fmt.Sprintf("%s in the last %d days %s a second, different body under the same organisation and report-id: one of them may be forged (%s)",
				plural(st.Conflicting, "report"), days, map[bool]string{true: "has", false: "have"}[st.Conflicting == 1], what),
			"compare the bodies in the dashboard (reports marked conflicting), their provenance and signing domain; ask the sender if in doubt"))
	}
	if st.STS.Failure > 0 {
		f := finding(health.SeverityWarning, health.CodeReportsSTSFailures, "",
			fmt.Sprintf("senders reported %d failed of %d sessions under the sts policy in the last %d days (%s)",
				st.STS.Failure, store.AddSat(st.STS.Success, st.STS.Failure), days, breakdown(st)),
			"fix what the result types say on the MX hosts named, before switching to enforce")
		if r.res.Mode == mtasts.ModeEnforce {
			f.Severity = health.SeverityError
			f.Subject = lastFailureDay(st)
			f.Remedy = "fix what the result types say on the MX hosts named: under enforce this mail was not delivered"
		}
		r.add(f)
	}
	if withFacts {
		r.checkMXHealth(from, to, st, facts)
		r.checkTriage(facts)
	}
	if r.res.Mode != mtasts.ModeTesting {
		return
	}
	var blockers []string
	if n := r.res.Count(health.SeverityError); n > 0 {
		blockers = append(blockers, plural(n, "error"))
	}
	if st.STS.Failure > 0 {
		blockers = append(blockers, plural(int(st.STS.Failure), "failed sts session"))
	}
	if n := store.AddSat(st.STS.Success, st.STS.Failure); n < r.c.cfg.ReadinessMinSessions {
		blockers = append(blockers, fmt.Sprintf("%d of the %d sessions under the sts policy needed in %d days", n, r.c.cfg.ReadinessMinSessions, days))
	}
	if len(blockers) > 0 {
		r.add(finding(health.SeverityInfo, health.CodeNotReady, "",
			"not ready to enforce: "+strings.Join(blockers, "; "),
			"fix the errors and wait for more reports without sts failures"))
		return
	}
	r.add(finding(health.SeverityInfo, health.CodeReadyToEnforce, "",
		fmt.Sprintf("ready to enforce: all checks pass and %d sessions under the sts policy in %d days had no failure", st.STS.Success, days),
		"set mode: enforce for the domain and deploy"))
}

// lastFailureDay is the latest day with sts failures, "" if unknown.
func lastFailureDay(st store.Summary) string {
	for _, d := range slices.Backward(st.ByDay) {
		if d.STS.Failure > 0 {
			return d.Day.String()
		}
	}
	return ""
}

// breakdown lists failures by result type, then by MX, largest first, at
// most 5 of each.
func breakdown(st store.Summary) string {
	parts := []string{}
	if s := top(st.ByResultType, 5); s != "" {
		parts = append(parts, "by result type: "+s)
	}
	if s := top(st.ByMXHost, 5); s != "" {
		parts = append(parts, "by MX: "+s)
	}
	if len(parts) == 0 {
		return "no details"
	}
	return strings.Join(parts, "; ")
}

// top lists the first n counts (store.Summary orders them largest first)
// and how many more there are.
func top(counts []store.Count, n int) string {
	var s []string
	for i, c := range counts {
		if i == n {
			s = append(s, fmt.Sprintf("%d more", len(counts)-n))
			break
		}
		label := c.Key
		if label == "" {
			label = "(unnamed)"
		}
		s = append(s, fmt.Sprintf("%s %d", label, c.Count))
	}
	return strings.Join(s, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
