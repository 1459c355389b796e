package checker

import (
	"context"
	"fmt"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/health"
)

// CNAME is a record a delegated client domain must have: Name CNAME Target
// (names without trailing dots).
type CNAME struct {
	Name, Target string
}

// checkDelegation checks the first link of each of a client domain's
// CNAMEs, as a sender's resolver meets it: the answer to the question a
// sender asks (A for mta-sts.<domain>, TXT for _mta-sts.<domain> and
// _smtp._tls.<domain>) starts with the CNAME at the name, and it names the
// operator's target. RFC 8461 §3.1 and RFC 8460 §3 have senders look the
// TXT records up by name; a resolver follows a CNAME for any type
// (RFC 1034 §3.6.2), so the rest of the chain (the TXT values, the policy
// over HTTPS with its certificate) is what checkRecord, checkPolicy and
// checkTLSRPT see through the CNAMEs. A missing or changed CNAME is one
// finding per name, so the monitor alerts when a client removes or
// changes one record, and again when it is fixed.
func (r *run) checkDelegation(ctx context.Context) {
	for _, want := range r.t.Delegated {
		name, target := normaliseName(want.Name), normaliseName(want.Target)
		qtype := dns.TypeTXT
		if name == "mta-sts."+r.domain {
			qtype = dns.TypeA
		}
		ans, _, err := r.c.res.exchange(ctx, name, qtype)
		if err != nil {
			r.add(dnsFinding(name, err))
			continue
		}
		record := fmt.Sprintf("%s. CNAME %s.", name, target)
		got := ""
		for _, rr := range ans {
			if c, ok := rr.(*dns.CNAME); ok && normaliseName(c.Hdr.Name) == name {
				got = normaliseName(c.Target)
				break
			}
		}
		switch {
		case got == "":
			r.add(finding(health.SeverityError, health.CodeDelegationCNAMEMissing, name,
				fmt.Sprintf("%s has no CNAME: the client's record into the operator's zone is missing or was removed", name),
				"the client creates "+record+" (ststack config validate prints all three)"))
		case got != target:
			r.add(finding(health.SeverityError, health.CodeDelegationCNAMEElsewhere, name,
				fmt.Sprintf("%s is a CNAME to %s, not to %s: senders do not reach what ststack publishes", name, got, target),
				"the client changes the record to "+record))
		}
	}
}
