package checker

import (
	"context"
	"fmt"

	"github.com/miekg/dns"
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

// pending is the answer to one question, valid once done is closed.
type pending struct {
	done   chan struct{}
	answer []dns.RR
	nx     bool
	err    error
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
			pe.answer, pe.nx, pe.err = r.exchange(withoutPrefetch(ctx), q.name, q.qtype)
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

// exchange is resolver.exchange for a check with prefetched questions: the
// prefetched answer if the question is one, else the question asked now.
// The answer's records are shared: callers must not modify them.
func (p *prefetch) exchange(ctx context.Context, r *resolver, name string, qtype uint16) ([]dns.RR, bool, error) {
	pe := p.answers[question{name, qtype}]
	if pe == nil {
		return r.exchange(withoutPrefetch(ctx), name, qtype)
	}
	select {
	case <-pe.done:
		return pe.answer, pe.nx, pe.err
	case <-ctx.Done():
		return nil, false, fmt.Errorf("%w: %s %s: %w", ErrLookup, name, dns.TypeToString[qtype], ctx.Err())
	}
}
