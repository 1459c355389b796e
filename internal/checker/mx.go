package checker

import (
	"context"
	"fmt"
	"strings"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// checkMX looks up the domain's MX records; it returns false when there is
// no point checking further (the domain does not exist or DNS failed).
func (r *run) checkMX(ctx context.Context) bool {
	mxs, nx, err := r.c.res.lookupMX(ctx, r.domain)
	switch {
	case err != nil:
		r.add(dnsFinding(r.domain, err))
		return false
	case nx:
		r.add(finding(health.SeverityError, health.CodeDomainNXDomain, "",
			r.domain+" does not exist in DNS (NXDOMAIN)",
			"check the spelling, or delegate the domain"))
		return false
	}
	r.mxs = mxs
	return true
}

// isNullMX reports a null MX (RFC 7505 §3): one record, target ".".
func isNullMX(mxs []mxRecord) bool {
	return len(mxs) == 1 && mxs[0].Host == ""
}

// effectivePolicy is the policy senders apply: the one served, else the
// configured one (which senders would get once it is served).
func (r *run) effectivePolicy() *mtasts.Policy {
	if r.served != nil {
		return r.served
	}
	return r.t.Policy
}

// checkCoverage checks that every MX host matches an mx pattern of the
// policy (RFC 8461 §4.1) — under enforce, mail to any other host fails —
// and that every pattern matches some MX host.
func (r *run) checkCoverage() {
	p := r.effectivePolicy()
	if isNullMX(r.mxs) {
		sev, remedy := health.SeverityInfo, ""
		if p != nil && p.Mode != mtasts.ModeNone {
			sev, remedy = health.SeverityWarning, "publish mode: none, or remove the MTA-STS records"
		}
		r.add(finding(sev, health.CodeMXNull, "",
			r.domain+" has a null MX (RFC 7505): it accepts no mail, so an MTA-STS policy protects nothing",
			remedy))
		return
	}
	hosts := make([]string, 0, len(r.mxs))
	for _, m := range r.mxs {
		if m.Host != "" {
			hosts = append(hosts, m.Host)
		}
	}
	if len(hosts) == 0 {
		// RFC 5321 §5.1: without MX records the domain itself is the
		// implicit MX, which the policy must then match.
		hosts = []string{r.domain}
		r.add(finding(health.SeverityWarning, health.CodeMXNone, "",
			r.domain+" has no MX records: senders deliver to its address records (implicit MX)",
			"publish MX records for the hosts that receive the domain's mail"))
	}
	if p == nil || p.Mode == mtasts.ModeNone {
		return
	}
	sev := health.SeverityWarning
	if p.Mode == mtasts.ModeEnforce {
		sev = health.SeverityError
	}
	for _, h := range hosts {
		if !p.Match(h) {
			r.add(finding(sev, health.CodeMXNotCovered, h,
				fmt.Sprintf("MX host %s matches no mx pattern of the policy (%s): under enforce, senders do not deliver to it", h, mxList(p.MX)),
				"add mx: "+h+" (or a wildcard covering it) to the policy"))
		}
	}
	for _, pat := range p.MX {
		used := false
		for _, h := range hosts {
			if pat.Match(h) {
				used = true
				break
			}
		}
		if !used {
			r.add(finding(health.SeverityWarning, health.CodeMXPatternStale, pat.String(),
				fmt.Sprintf("mx pattern %s matches none of the MX hosts (%s)", pat, strings.Join(hosts, ", ")),
				"remove mx: "+pat.String()+" from the policy, unless an MX host using it is about to be added"))
		}
	}
}
