package checker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/dnsresolve"
)

// ErrLookup is wrapped by every DNS failure other than "no such name" and
// "no such record", which are answers, not failures.
var ErrLookup = errors.New("DNS lookup failed")

// resolver asks one recursive DNS server (or the system's, in order) the
// questions a sending MTA asks. It sends queries with RD set and EDNS0, and
// retries over TCP when a UDP answer is truncated.
type resolver struct {
	servers []string
	udp     *dns.Client
	tcp     *dns.Client
}

// resolvConf is where the system resolver is configured.
const resolvConf = "/etc/resolv.conf"

func newResolver(addr string, timeout time.Duration) (*resolver, error) {
	var servers []string
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("resolver %q: want HOST:PORT: %w", addr, err)
		}
		servers = []string{addr}
	} else {
		cc, err := dns.ClientConfigFromFile(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("resolver: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("resolver: %s names no nameserver", resolvConf)
		}
	}
	return &resolver{
		servers: servers,
		udp:     &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 1232},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
	}, nil
}

// reply is what a server answered: the answer section, whether the name
// does not exist (NXDOMAIN), and the AD bit.
type reply struct {
	answer              []dns.RR
	nxdomain, authentic bool
}

// exchange asks the servers in turn until one answers with NOERROR or
// NXDOMAIN. nxdomain reports the latter.
func (r *resolver) exchange(ctx context.Context, name string, qtype uint16) (answer []dns.RR, nxdomain bool, err error) {
	rep, err := r.ask(ctx, name, qtype)
	return rep.answer, rep.nxdomain, err
}

// ask is exchange giving the whole reply.
func (r *resolver) ask(ctx context.Context, name string, qtype uint16) (reply, error) {
	if p := prefetched(ctx); p != nil { // asked ahead by Check (prefetch.go)
		return p.ask(ctx, r, name, qtype)
	}
	m, err := r.exchangeMsg(ctx, name, qtype)
	if err != nil {
		return reply{}, err
	}
	return reply{answer: m.Answer, nxdomain: m.Rcode == dns.RcodeNameError, authentic: m.AuthenticatedData}, nil
}

// exchangeMsg is exchange without prefetching, giving the whole answer
// message (for its AD bit). Its Rcode is NOERROR or NXDOMAIN.
//
// Every query sets the AD bit, which asks a validating resolver to say
// whether it validated the answer with DNSSEC (RFC 6840 §5.7) without
// asking for the DNSSEC records themselves (that is the DO bit).
func (r *resolver) exchangeMsg(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	q.RecursionDesired = true
	q.AuthenticatedData = true
	what := name + " " + dns.TypeToString[qtype]
	var err error
	for _, srv := range r.servers {
		var m *dns.Msg
		m, _, err = r.udp.ExchangeContext(ctx, q, srv)
		if err == nil && m.Truncated {
			m, _, err = r.tcp.ExchangeContext(ctx, q, srv)
		}
		if err != nil {
			err = dnsresolve.Temporary(err) // a timeout or a network error
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch m.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return m, nil
		case dns.RcodeServerFailure:
			err = dnsresolve.Temporary(fmt.Errorf("%s: server %s answered %s", what, srv, dns.RcodeToString[m.Rcode]))
		default:
			err = fmt.Errorf("%s: server %s answered %s", what, srv, dns.RcodeToString[m.Rcode])
		}
	}
	if ctx.Err() != nil {
		return nil, dnsresolve.Temporary(fmt.Errorf("%w: %s: %w", ErrLookup, what, ctx.Err()))
	}
	return nil, fmt.Errorf("%w: %w", ErrLookup, err)
}

// resolver is the checker's dnsresolve.Resolver: the _mta-sts and
// _smtp._tls records are read through that interface, the one mailin's
// DKIM lookups use too.
var _ dnsresolve.Resolver = (*resolver)(nil)

// LookupTXT implements dnsresolve.Resolver: the strings of each TXT record
// at name (escapes undone) and the answer's AD bit; an error wrapping
// dnsresolve.ErrNotFound if there is none or the name does not exist.
// Failures wrap ErrLookup.
func (r *resolver) LookupTXT(ctx context.Context, name string) (dnsresolve.TXT, error) {
	rep, err := r.ask(ctx, name, dns.TypeTXT)
	if err != nil {
		return dnsresolve.TXT{}, err
	}
	out := dnsresolve.TXT{Authentic: rep.authentic}
	for _, rr := range rep.answer {
		if t, ok := rr.(*dns.TXT); ok {
			ss := make([]string, len(t.Txt))
			for i, s := range t.Txt {
				ss[i] = unescapeTXT(s)
			}
			out.Records = append(out.Records, ss)
		}
	}
	if len(out.Records) == 0 {
		return dnsresolve.TXT{}, dnsresolve.NotFound(name)
	}
	return out, nil
}

// lookupTXT returns the strings of each TXT record at name (escapes undone),
// nil if there is none or the name does not exist: LookupTXT for the checks,
// where no record is a finding, not a failure.
func lookupTXT(ctx context.Context, r dnsresolve.Resolver, name string) ([][]string, error) {
	txt, err := r.LookupTXT(ctx, name)
	if errors.Is(err, dnsresolve.ErrNotFound) {
		return nil, nil
	}
	return txt.Records, err
}

// mxRecord is one MX record: preference and lower-case host, no final dot.
type mxRecord struct {
	Pref uint16
	Host string
}

// lookupMX returns the MX records of name sorted by preference;
// nxdomain is true when the name does not exist.
func (r *resolver) lookupMX(ctx context.Context, name string) (mxs []mxRecord, nxdomain bool, err error) {
	ans, nx, err := r.exchange(ctx, name, dns.TypeMX)
	if err != nil || nx {
		return nil, nx, err
	}
	for _, rr := range ans {
		if m, ok := rr.(*dns.MX); ok {
			mxs = append(mxs, mxRecord{Pref: m.Preference, Host: normaliseName(m.Mx)})
		}
	}
	sortMX(mxs)
	return mxs, false, nil
}

func sortMX(mxs []mxRecord) {
	slices.SortFunc(mxs, func(a, b mxRecord) int {
		return cmp.Or(cmp.Compare(a.Pref, b.Pref), strings.Compare(a.Host, b.Host))
	})
}

// lookupAddrs returns host's IPv4 then IPv6 addresses. An error is returned
// only when neither lookup gave an answer.
func (r *resolver) lookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	var errs []error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, _, err := r.exchange(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range ans {
			switch a := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
					addrs = append(addrs, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(a.AAAA.To16()); ok {
					addrs = append(addrs, ip)
				}
			}
		}
	}
	if len(addrs) == 0 && len(errs) == 2 {
		return nil, errs[0]
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address records", host)
	}
	return addrs, nil
}

// dial connects to port on one of host's addresses (resolved with r), in
// order, as an MTA or a policy fetcher does.
func (r *resolver) dial(ctx context.Context, d *net.Dialer, host string, port int) (net.Conn, error) {
	addrs, err := r.lookupAddrs(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// unescapeTXT undoes the presentation-format escapes miekg/dns applies to
// TXT strings (\" \\ and \DDD), giving back the bytes on the wire.
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n, err := strconv.Atoi(s[i+1 : i+4]); err == nil && n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// normaliseName lower-cases a DNS name and removes the final dot.
func normaliseName(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}
