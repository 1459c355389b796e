package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// SenderFacts gives the stored facts the silent-sender findings learn
// from.
//
// Facts returns every fact of domain (lower-case A-label) whose day is in
// [from, to], both inclusive, whatever its provenance or conflict; none and
// no error for a domain without reports; an error when the store could not
// be read. Implementations must be safe for concurrent use (both stores
// are).
type SenderFacts interface {
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
}

// checkSilence learns from the last SilenceLookbackDays of reports which
// organisations report the domain and how often (store.Senders), and finds
// those gone silent, and the domain if nothing arrives at all
// (docs/checker.md, "Silent senders"). Silence counts from the receipt
// of the latest report, so a late report about an old day is a sign of
// life, and a weekly sender may stay quiet for two weeks.
func (r *run) checkSilence(ctx context.Context) {
	days := r.c.cfg.SilenceLookbackDays
	to := store.DayOf(r.now)
	facts, err := r.c.cfg.Senders.Facts(ctx, r.domain, to.AddDays(-(days - 1)), to)
	if err != nil {
		f := finding(health.SeverityWarning, health.CodeReportsUnavailable, "silence",
			"stored TLS reports could not be read to find silent senders: "+oneLine(err),
			"check the report store (permissions, throttling); the next run retries")
		r.add(f)
		return
	}
	sil := r.c.cfg.Silence
	senders := store.Senders(r.domain, facts)
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
			fmt.Sprintf("%s reported %s %s (%s in %d days) and has sent nothing for %s: its last report (%s, covering %s) was received %s",
				s.Name, r.domain, store.Cadence(s.Interval), plural(s.Reports, "report"), days, ago(r.now.Sub(s.LastReceived)),
				s.LastReportID, s.LastStart.UTC().Format(time.DateOnly), s.LastReceived.UTC().Format("2006-01-02 15:04 UTC")),
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
