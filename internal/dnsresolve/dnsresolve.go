// Package dnsresolve is the one DNS resolver interface of the project: the
// checker's TXT questions (_mta-sts, _smtp._tls; package checker answers
// them over github.com/miekg/dns, which also gives it the AD bit and TLSA
// records) and mailin's DKIM key lookups (RFC 6376 §3.6.2) both go through
// Resolver. Std implements it over the standard library's net.Resolver, so
// that a function verifying DKIM signatures links no second DNS library.
package dnsresolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

var (
	// ErrNotFound is wrapped by the error of a lookup whose answer is that
	// there is nothing: the name does not exist (NXDOMAIN) or has no record
	// of the type asked (NODATA). It is an answer, not a failure.
	ErrNotFound = errors.New("dnsresolve: no such record")
	// ErrTemporary is wrapped by the error of a lookup that got no answer
	// for a reason that asking again later may cure: a timeout, a network
	// error, SERVFAIL (RFC 1035 §4.1.1), the context ending.
	ErrTemporary = errors.New("dnsresolve: temporary failure")
)

// TXT is the answer to a TXT question.
type TXT struct {
	// Records are the TXT records at the name, each as its
	// character-strings (RFC 1035 §3.3.14) in their bytes on the wire,
	// presentation escapes undone, in the order of the answer.
	Records [][]string
	// Authentic is the answer's AD bit (RFC 4035 §3.2.3, RFC 6840 §5.7):
	// the resolver validated it with DNSSEC. It means something only when
	// the path to that resolver is trusted, and is false from a resolver
	// that cannot tell (Std).
	Authentic bool
}

// Joined returns each record's strings concatenated, one string per record,
// as DKIM (RFC 6376 §3.6.2.2), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460
// §3) read a record.
func (t TXT) Joined() []string {
	out := make([]string, len(t.Records))
	for i, r := range t.Records {
		out[i] = strings.Join(r, "")
	}
	return out
}

// Resolver asks a recursive resolver for the records at a name.
//
// The contract, for every implementation:
//   - name is a domain name in A-labels, with or without the final dot,
//     asked as it is (no search list, no appended domain).
//   - An answer with no records (NXDOMAIN or NODATA) is an error wrapping
//     ErrNotFound, with an empty TXT.
//   - A failure to get an answer wraps ErrTemporary when asking again may
//     cure it (timeout, network, SERVFAIL), and wraps ctx.Err() as well
//     when ctx ended; any other failure (REFUSED, a malformed answer)
//     wraps neither.
//   - It honours ctx's deadline and cancellation, and is safe for
//     concurrent use.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) (TXT, error)
}

// NotFound returns an error for name that wraps ErrNotFound.
func NotFound(name string) error {
	return fmt.Errorf("%w: %s", ErrNotFound, name)
}

// Temporary returns err marked as temporary: errors.Is(…, ErrTemporary)
// holds, and its text and the errors it wraps are err's.
func Temporary(err error) error { return temporary{err} }

type temporary struct{ error }

func (t temporary) Unwrap() error        { return t.error }
func (t temporary) Is(target error) bool { return target == ErrTemporary }

// Std is a Resolver over the standard library's resolver (its pure Go
// stub when a server is named). It cannot see the AD bit: Authentic is
// always false.
type Std struct {
	r *net.Resolver
}

// NewStd returns a Std asking the DNS server at addr ("HOST:PORT", like
// dig @server), or the system's resolver when addr is "".
func NewStd(addr string) (*Std, error) {
	if addr == "" {
		return &Std{r: net.DefaultResolver}, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("resolver %q: want HOST:PORT: %w", addr, err)
	}
	return &Std{r: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}, nil
}

// LookupTXT implements Resolver. The standard library joins the strings of
// each record, so each record of the answer is one string.
func (s *Std) LookupTXT(ctx context.Context, name string) (TXT, error) {
	txts, err := s.r.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(txts) == 0:
		return TXT{}, NotFound(name)
	case err == nil:
		recs := make([][]string, len(txts))
		for i, t := range txts {
			recs[i] = []string{t}
		}
		return TXT{Records: recs}, nil
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return TXT{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	case ctx.Err() != nil:
		return TXT{}, Temporary(fmt.Errorf("%w: %w", err, ctx.Err()))
	case errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout):
		return TXT{}, Temporary(err)
	}
	return TXT{}, err
}
