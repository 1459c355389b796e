package reconcile

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSResolver is a Resolver that asks recursive DNS servers, as a sender's
// resolver would: the CNAME question for the name, recursion desired.
type DNSResolver struct {
	// Servers are the "HOST:PORT" of the servers asked in turn; empty:
	// those of /etc/resolv.conf.
	Servers []string
	// Timeout bounds one exchange (0: 5 s).
	Timeout time.Duration
}

// CNAME implements Resolver: the target of the CNAME at name, "" when the
// name has none or does not exist (NXDOMAIN).
func (r DNSResolver) CNAME(ctx context.Context, name string) (string, error) {
	servers := r.Servers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return "", fmt.Errorf("resolver: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeCNAME)
	q.RecursionDesired = true
	q.SetEdns0(1232, false)
	udp, tcp := &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 1232}, &dns.Client{Net: "tcp", Timeout: timeout}
	err := fmt.Errorf("no DNS server to ask")
	for _, srv := range servers {
		m, _, xerr := udp.ExchangeContext(ctx, q, srv)
		if xerr == nil && m.Truncated {
			m, _, xerr = tcp.ExchangeContext(ctx, q, srv)
		}
		if xerr != nil {
			err = fmt.Errorf("%s CNAME: %w", name, xerr)
			continue
		}
		switch m.Rcode {
		case dns.RcodeNameError:
			return "", nil
		case dns.RcodeSuccess:
			for _, rr := range m.Answer {
				if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, dns.Fqdn(name)) {
					return normalize(c.Target), nil
				}
			}
			return "", nil
		}
		err = fmt.Errorf("%s CNAME: server %s answered %s", name, srv, dns.RcodeToString[m.Rcode])
	}
	return "", err
}
