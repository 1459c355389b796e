package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// RetiringMaxAge is the longest max_age of the policy a retiring domain
// publishes: RFC 8461 §8.3 has a domain that stops using MTA-STS publish
// "a new policy with mode equal to none and a small max_age (e.g., one
// day)".
const RetiringMaxAge = 86400

// DateLayout is how the file writes a day (retire:), in UTC.
const DateLayout = "2006-01-02"

// Retirement is the state of a domain on its way out (RFC 8461 §8.3), set
// by retire: in the file. While it lasts the domain publishes a policy of
// mode none under a new id, so senders that fetch it stop enforcing; the
// domain may leave the file once every sender's cached copy of the policy
// it replaces has expired, which is RemovableAfter. The same state serves a
// domain whose MX moves to a provider without MTA-STS: the move is safe
// after RemovableAfter.
type Retirement struct {
	// Since is 00:00 UTC of the day the retiring policy is deployed.
	Since time.Time
	// Replaces is the policy the domain published before: its policy as
	// the file gives it, defaults applied.
	Replaces mtasts.Policy

	line  int    // of retire: in the file
	field string // domains[i].retire
}

// Start is when the wait starts: the end of the day Since, so that a deploy
// at any time of that day is covered.
func (r Retirement) Start() time.Time {
	return r.Since.AddDate(0, 0, 1)
}

// RemovableAfter is when the last copy of the replaced policy a sender may
// have cached expires: Start plus the replaced policy's max_age (RFC 8461
// §8.3: "when all previously served policies have expired").
func (r Retirement) RemovableAfter() time.Time {
	return r.Start().Add(time.Duration(r.Replaces.MaxAge) * time.Second)
}

// Removable reports whether the wait is over at now.
func (r Retirement) Removable(now time.Time) bool {
	return !now.Before(r.RemovableAfter())
}

// String is the form stack outputs carry and ReadDeployed reads back:
// "retiring since 2026-12-06, removable after 2026-12-21T00:00:00Z".
func (r Retirement) String() string {
	return retiringPrefix + r.Since.Format(DateLayout) + removablePrefix + r.RemovableAfter().UTC().Format(time.RFC3339)
}

const (
	retiringPrefix  = "retiring since "
	removablePrefix = ", removable after "
)

// Retiring reports whether the domain is retiring (retire: is set).
func (d Domain) Retiring() bool { return d.Retire != nil }

// retiringPolicy is what a retiring domain publishes instead of p: mode
// none, max_age at most RetiringMaxAge, the same mx. Its text differs from
// p's unless p was such a policy already, so the id changes and senders
// fetch it (RFC 8461 §3.1).
func retiringPolicy(p mtasts.Policy) mtasts.Policy {
	return mtasts.Policy{Version: p.Version, Mode: mtasts.ModeNone,
		MaxAge: min(p.MaxAge, RetiringMaxAge), MX: slices.Clone(p.MX)}
}

// parseDay parses retire:'s value, a day such as 2026-12-06 (UTC).
func parseDay(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a day such as 2026-12-06 (the UTC day the retirement is deployed)", s)
	}
	return t, nil
}
