package reconcile

import (
	"context"
	"fmt"
	"time"
)

// LookupStates gives a delegated domain's state where no reconciler runs
// (`ststack serve` and the local `ststack dashboard`): each Get asks DNS
// now what the client's mta-sts.<domain> is a CNAME to, and derives the
// phase the engine would reach without CloudFront: waiting-for-cname,
// cname-elsewhere (saying what is wrong), or, with the CNAME in place,
// serving, since `ststack serve` answers the policy host by Host (locally
// there is no distribution tenant and no certificate to wait for). A
// failed lookup is an error state, not an error, so the page still shows.
// It is safe for concurrent use; nothing is cached.
type LookupStates struct {
	DNS     Resolver
	Domains []Domain         // FromConfig
	Now     func() time.Time // nil: time.Now
}

// Get implements the dashboard's DelegationStates: ok false for a domain
// that is not delegated.
func (l LookupStates) Get(ctx context.Context, domain string) (State, bool, error) {
	var d Domain
	found := false
	for _, x := range l.Domains {
		if x.Name == domain {
			d, found = x, true
			break
		}
	}
	if !found {
		return State{}, false, nil
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	s := State{Domain: domain, Checked: now, Since: now}
	cname, err := l.DNS.CNAME(ctx, d.PolicyHost)
	if err != nil {
		s.Phase, s.Detail = PhaseError, "DNS lookup of "+d.PolicyHost+": "+oneLine(err)
		return s, true, nil
	}
	s.CNAME = normalize(cname)
	phase, detail, ok := cnamePhase(d, s.CNAME)
	if ok {
		phase = PhaseServing
		detail = fmt.Sprintf("%s is a CNAME to %s (looked up now); ststack serve answers its policy by Host, without CloudFront or a certificate",
			d.PolicyHost, s.CNAME)
	}
	s.Phase, s.Detail = phase, detail
	return s, true, nil
}
