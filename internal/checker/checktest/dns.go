package checktest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNS is a loopback DNS server answering from an in-memory zone, on UDP and
// TCP at the same address. It answers like a recursive resolver would (RA set,
// CNAMEs inside the zone followed), truncates UDP answers larger than the
// client's buffer so clients must retry over TCP, and answers NXDOMAIN for
// names it holds no record for.
type DNS struct {
	// Addr is the server's "127.0.0.1:PORT".
	Addr string

	tb      testing.TB
	queries atomic.Int64
	latency atomic.Int64 // time.Duration each answer is held back

	mu     sync.RWMutex
	rrs    map[string][]dns.RR // by lower-case FQDN
	rcodes map[string]int
	secure map[string]bool // names whose answers carry the AD bit
}

// NewDNS starts a DNS server on 127.0.0.1 and stops it when the test ends.
func NewDNS(tb testing.TB) *DNS {
	tb.Helper()
	d := &DNS{tb: tb, rrs: map[string][]dns.RR{}, rcodes: map[string]int{}, secure: map[string]bool{}}
	var pc net.PacketConn
	var ln net.Listener
	// Bind UDP on a kernel-chosen port, then TCP on the same port; retry in
	// the unlikely case the TCP port is taken.
	for range 20 {
		p, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("checktest: dns: %v", err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err != nil {
			p.Close()
			continue
		}
		pc, ln = p, l
		break
	}
	if pc == nil {
		tb.Fatal("checktest: dns: no port free for both UDP and TCP")
	}
	d.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: d}
	tcp := &dns.Server{Listener: ln, Handler: d}
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		<-started
	}
	tb.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return d
}

// Add adds records given in zone-file syntax, for example
// `example.com. 300 IN MX 10 mx.example.com.` or
// `_mta-sts.example.com. TXT "v=STSv1; id=1"`. A missing TTL is 300.
func (d *DNS) Add(records ...string) {
	d.tb.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil || rr == nil {
			d.tb.Fatalf("checktest: dns: record %q: %v", s, err)
			return
		}
		name := strings.ToLower(rr.Header().Name)
		d.rrs[name] = append(d.rrs[name], rr)
	}
}

// Remove deletes all records of type qtype at name (dns.TypeANY: all).
func (d *DNS) Remove(name string, qtype uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = strings.ToLower(dns.Fqdn(name))
	var keep []dns.RR
	for _, rr := range d.rrs[name] {
		if qtype != dns.TypeANY && rr.Header().Rrtype != qtype {
			keep = append(keep, rr)
		}
	}
	d.rrs[name] = keep
}

// SetRcode makes every query for name answer with rcode (for example
// dns.RcodeServerFailure) and no records.
func (d *DNS) SetRcode(name string, rcode int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rcodes[strings.ToLower(dns.Fqdn(name))] = rcode
}

// SetSecure makes answers for the names (the query name) carry the AD bit,
// as a validating resolver sets it for data it validated with DNSSEC (RFC
// 4035 §3.2.3), when the query asks for it with AD or DO (RFC 6840 §5.7).
// Answers for other names have AD clear, as for an unsigned zone. The
// server does no DNSSEC itself: the test decides what is "validated".
func (d *DNS) SetSecure(names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		d.secure[strings.ToLower(dns.Fqdn(n))] = true
	}
}

// Queries is the number of queries answered so far.
func (d *DNS) Queries() int64 { return d.queries.Load() }

// SetLatency makes the server wait l before sending each answer, as a
// distant resolver would (0, the default: answer at once). Queries are
// answered concurrently, so it delays each answer without serialising them.
func (d *DNS) SetLatency(l time.Duration) { d.latency.Store(int64(l)) }

// ServeDNS implements dns.Handler.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	d.queries.Add(1)
	if l := time.Duration(d.latency.Load()); l > 0 {
		time.Sleep(l)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	d.mu.RLock()
	m.Rcode = d.answer(m, strings.ToLower(q.Name), q.Qtype, 0)
	wantAD := req.AuthenticatedData
	if opt := req.IsEdns0(); opt != nil && opt.Do() {
		wantAD = true
	}
	m.AuthenticatedData = wantAD && d.secure[strings.ToLower(q.Name)]
	d.mu.RUnlock()
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
		m.SetEdns0(opt.UDPSize(), false)
	}
	if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer fills m's answer section for (name, qtype), following CNAMEs held
// in the zone, and returns the rcode. d.mu is held.
func (d *DNS) answer(m *dns.Msg, name string, qtype uint16, depth int) int {
	if rc, ok := d.rcodes[name]; ok {
		m.Answer = nil
		return rc
	}
	rrs, ok := d.rrs[name]
	if !ok || len(rrs) == 0 {
		if depth > 0 {
			return dns.RcodeSuccess // dangling CNAME target: the chain is the answer
		}
		return dns.RcodeNameError
	}
	var found bool
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, dns.Copy(rr))
			found = true
		}
	}
	if found || qtype == dns.TypeCNAME {
		return dns.RcodeSuccess
	}
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && depth < 8 {
			m.Answer = append(m.Answer, dns.Copy(rr))
			return d.answer(m, strings.ToLower(c.Target), qtype, depth+1)
		}
	}
	return dns.RcodeSuccess
}
