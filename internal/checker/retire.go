package checker

import (
	"fmt"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// checkRetirement says, for a retiring domain, when it may be removed
// (RFC 8461 §8.3: once every previously served policy has expired). The
// wait is the configuration's (Target.RemovableAfter); it holds only if
// the policy served is the retiring mode none one, so the checker says so
// when it is not. A domain whose wait is over gets a finding of its own
// (retired), so the scheduled checker alerts when it appears.
func (r *run) checkRetirement() {
	after := r.t.RemovableAfter
	if after.IsZero() {
		return
	}
	at := after.UTC().Format(time.RFC3339)
	if r.served == nil || r.served.Mode != mtasts.ModeNone {
		serves := "no valid policy"
		if r.served != nil {
			serves = "a policy of mode " + string(r.served.Mode)
		}
		r.add(finding(health.SeverityWarning, health.CodeRetiring, "",
			fmt.Sprintf("retiring, but %s serves %s, not the mode none policy: the wait until %s holds only from the day that policy is served", "mta-sts."+r.domain, serves, at),
			"deploy the retiring policy; if that is after the day retire: gives, set retire: to the day it is deployed"))
		return
	}
	if r.now.Before(after) {
		r.add(finding(health.SeverityInfo, health.CodeRetiring, "",
			fmt.Sprintf("retiring: serves mode none; senders may hold the previous policy until %s, and the domain may be removed from the configuration after that (RFC 8461 §8.3)", at), ""))
		return
	}
	r.add(finding(health.SeverityInfo, health.CodeRetired, "",
		fmt.Sprintf("retired: every cached copy of the previous policy expired at %s; remove the domain from the configuration and deploy", at), ""))
}
