package checker

import (
	"context"
	"fmt"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/dnsresolve"
)

// A check asks its DNS questions one after the other, each after the
// previous finding: MX, the _mta-sts TXT record, the policy host's A and
// AAAA (to fetch the policy), the _smtp._tls TXT record. With a resolver a
// round trip away (20 ms is common) that is five round trips per domain.
// None of the questions depends on an earlier answer, so Check asks them
// all at once when it starts (prefetch) and each lookup of the check takes
// its answer from there, waiting for it if it is still on its way. The
// answers are the same as if asked in turn, and are kept for that one check
// only (in its context); questions not prefetched are asked when needed.

// prefetchKey is the context key of a check's *prefetch.
type prefetchKey struct{}

type question struct {
	name  string
	qtype uint16
}

// pending is the reply to one question, valid once done is closed.
type pending struct {
	done  chan struct{}
	reply reply
	err   error
}

// prefetch holds the questions asked ahead for one check; the map is not
// changed once the check has it.
type prefetch struct {
	answers map[question]*pending
}

// prefetch starts asking the questions a check of domain asks and returns
// the context the check's lookups take the answers from.
func (r *resolver) prefetch(ctx context.Context, domain string) context.Context {
	p := &prefetch{answers: make(map[question]*pending, 5)}
	host := "mta-sts." + domain
	for _, q := range [...]question{
		{domain, dns.TypeMX},
		{"_mta-sts." + domain, dns.TypeTXT},
		{host, dns.TypeA},
		{host, dns.TypeAAAA},
		{"_smtp._tls." + domain, dns.TypeTXT},
	} {
		pe := &pending{done: make(chan struct{})}
		p.answers[q] = pe
		go func() {
			defer close(pe.done)
			pe.reply, pe.err = r.ask(withoutPrefetch(ctx), q.name, q.qtype)
		}()
	}
	return context.WithValue(ctx, prefetchKey{}, p)
}

func prefetched(ctx context.Context) *prefetch {
	p, _ := ctx.Value(prefetchKey{}).(*prefetch)
	return p
}

func withoutPrefetch(ctx context.Context) context.Context {
	return context.WithValue(ctx, prefetchKey{}, (*prefetch)(nil))
}

// ask is resolver.ask for a check with prefetched questions: the
// prefetched reply if the question is one, else the question asked now.
// The reply's records are shared: callers must not modify them.
func (p *prefetch) ask(ctx context.Context, r *resolver, name string, qtype uint16) (reply, error) {
	pe := p.answers[question{name, qtype}]
	if pe == nil {
		return r.ask(withoutPrefetch(ctx), name, qtype)
	}
	select {
	case <-pe.done:
		return pe.reply, pe.err
	case <-ctx.Done():
		return reply{}, dnsresolve.Temporary(fmt.Errorf("%w: %s %s: %w", ErrLookup, name, dns.TypeToString[qtype], ctx.Err()))
	}
}
