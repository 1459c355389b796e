package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// checkRecord checks the _mta-sts TXT record (RFC 8461 §3.1) and, for a
// configured domain, that its id is the configured policy's.
func (r *run) checkRecord(ctx context.Context) {
	name := "_mta-sts." + r.domain
	txt, err := lookupTXT(ctx, r.c.txt, name)
	if err != nil {
		r.add(dnsFinding(name, err))
		return
	}
	rec, err := mtasts.RecordFromTXT(txt)
	switch {
	case errors.Is(err, mtasts.ErrNoRecord):
		r.add(finding(health.SeverityError, health.CodeSTSRecordMissing, "",
			fmt.Sprintf("%s has no v=STSv1 TXT record: senders do not look for a policy", name),
			"publish "+name+` TXT "v=STSv1; id=…"`+stsRecordHint(r.t)))
		return
	case errors.Is(err, mtasts.ErrMultipleRecords):
		// RFC 8461 §3.1: more than one record means no policy.
		r.add(finding(health.SeverityError, health.CodeSTSRecordMultiple, "",
			fmt.Sprintf("%s has %d v=STSv1 TXT records: senders treat the domain as having no policy", name, countSTS(txt)),
			"keep exactly one v=STSv1 record at "+name))
		return
	case err != nil:
		r.add(finding(health.SeverityError, health.CodeSTSRecordInvalid, "",
			fmt.Sprintf("%s: %v", name, oneLine(err)),
			"publish "+name+` TXT "v=STSv1; id=…"`+stsRecordHint(r.t)))
		return
	}
	r.record = &rec
	if r.t.Policy != nil {
		if want := r.t.Policy.ID(); rec.ID != want {
			r.add(finding(health.SeverityError, health.CodeSTSIDMismatch, "",
				fmt.Sprintf("%s has id=%s, the configured policy's id is %s: senders keep a cached old policy", name, rec.ID, want),
				"publish "+r.t.Policy.ID()+" as the id (ststack deploy does), after the new policy is served"))
		}
	}
}

// stsRecordHint gives the exact record for a configured domain.
func stsRecordHint(t Target) string {
	if t.Policy == nil {
		return ""
	}
	return fmt.Sprintf(" (configured: %q)", mtasts.Record{Version: "STSv1", ID: t.Policy.ID()}.String())
}

// countSTS counts the TXT records that start with v=STSv1.
func countSTS(txt [][]string) int {
	n := 0
	for _, ss := range txt {
		if _, err := mtasts.RecordFromTXT([][]string{ss}); err == nil || !errors.Is(err, mtasts.ErrNoRecord) {
			n++
		}
	}
	return n
}

// dnsFinding reports a DNS lookup that failed (not: that found nothing).
func dnsFinding(name string, err error) health.Finding {
	return finding(health.SeverityError, health.CodeDNSError, name,
		fmt.Sprintf("DNS lookup of %s failed: %s", name, strings.TrimPrefix(oneLine(err), ErrLookup.Error()+": ")),
		"make the domain's authoritative servers answer (check delegation and DNSSEC), or retry later")
}
