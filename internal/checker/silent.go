package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// SenderReports gives the stored reports the silent-sender findings
// learn from: store.ReadSenders reads the day sums of the lookback (one
// small item a day, each listing the day's senders) and the facts only of
// days summed before sums listed senders.
//
// DaySums returns one store.DaySum for every day of [from, to] equal to
// store.SumDays over that day's facts (whatever their provenance or
// conflict), reading stored sums for days up to complete; Facts returns
// the facts of domain (lower-case A-label) over [from, to]. Neither fails
// for a domain without reports; an error means the store could not be
// read. Implementations must be safe for concurrent use (both stores are).
type SenderReports interface {
	store.FactLister
	store.DaySumReader
}

// checkSilence learns from the last SilenceLookbackDays of day sums which
// organisations report the domain and how often (store.Senders), and finds
// those gone silent, and the domain if nothing arrives at all
// (docs/checker.md, "Silent senders"). Silence counts from the receipt
// of the latest report, so a late report about an old day is a sign of
// life, and a weekly sender may stay quiet for two weeks.
func (r *run) checkSilence(ctx context.Context) {
	days := r.c.cfg.SilenceLookbackDays
	to := store.DayOf(r.now)
	senders, err := store.ReadSenders(ctx, r.c.cfg.Senders, r.domain, to.AddDays(-(days - 1)), to, to)
	if err != nil {
		f := finding(health.SeverityWarning, health.CodeReportsUnavailable, "silence",
			"stored TLS reports could not be read to find silent senders: "+oneLine(err),
			"check the report store (permissions, throttling); the next run retries")
		r.add(f)
		return
	}
	sil := r.c.cfg.Silence
	const remedy = "check that _smtp._tls.%s still lists a working rua (the report endpoint's DNS and certificate, the mailto's MX and mailbox rules); a sender that no longer sends mail to the domain also stops reporting"
	if last, silent := sil.SilentDomain(senders, r.now); silent {
		r.add(finding(health.SeverityWarning, health.CodeReportsSilent, "",
			fmt.Sprintf("no TLS report received for %s: the last arrived %s (%s ago); %s reported in the %d days before",
				r.domain, last.UTC().Format("2006-01-02 15:04 UTC"), ago(r.now.Sub(last)), plural(len(senders), "organisation"), days),
			fmt.Sprintf(remedy, r.domain)))
	}
	for _, s := range senders {
		if !sil.SilentSender(s, r.now) {
			continue
		}
		r.add(finding(health.SeverityWarning, health.CodeSenderSilent, s.Organization,
			fmt.Sprintf("%s reported %s %s (%s in %d days) and has sent nothing for %s: its latest report, from %s, was received %s",
				s.Organization, r.domain, store.Cadence(s.Interval), plural(s.Reports, "report"), days, ago(r.now.Sub(s.LastReceived)),
				s.LastStart.UTC().Format(time.DateOnly), s.LastReceived.UTC().Format("2006-01-02 15:04 UTC")),
			fmt.Sprintf(remedy, r.domain)))
	}
}

// ago says a duration in whole days, or hours under two days.
func ago(d time.Duration) string {
	if d < 48*time.Hour {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}
