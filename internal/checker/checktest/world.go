package checktest

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// World is a complete loopback Internet for the checker: DNS, a CA, the
// policy HTTPS server and an SMTP server listening on 127.0.0.1 and
// 127.0.0.2 (the second address lets a test give some MX hosts a server that
// behaves differently, see SMTP.DisableSTARTTLS).
type World struct {
	// Now is the fixed time certificates are issued relative to; give it to
	// the checker as its clock.
	Now   time.Time
	CA    *CA
	DNS   *DNS
	HTTPS *HTTPS
	SMTP  *SMTP
}

// NewWorld starts all servers; they stop when the test ends.
func NewWorld(tb testing.TB, now time.Time) *World {
	tb.Helper()
	return &World{
		Now:   now,
		CA:    NewCA(tb, now),
		DNS:   NewDNS(tb),
		HTTPS: NewHTTPS(tb),
		SMTP:  NewSMTP(tb, "127.0.0.1", "127.0.0.2"),
	}
}

// Domain is one mail domain as a correct deployment publishes it.
type Domain struct {
	Name string
	// Policy is the body served at https://mta-sts.Name/.well-known/mta-sts.txt.
	Policy string
	// ID is the id published in _mta-sts.Name.
	ID string
	// MX are the MX host names, in preference order; each gets an A record
	// 127.0.0.1 and a certificate from the CA on the SMTP server.
	MX []string
	// TLSRPT is the _smtp._tls.Name TXT record; empty: none.
	TLSRPT string
}

// Serve publishes d: its records in DNS, its policy with a certificate valid
// for 90 more days, and its MX hosts' certificates.
func (w *World) Serve(tb testing.TB, d Domain) {
	tb.Helper()
	name := strings.TrimSuffix(strings.ToLower(d.Name), ".")
	w.DNS.Add(
		"_mta-sts."+name+". TXT "+strconv.Quote("v=STSv1; id="+d.ID),
		"mta-sts."+name+". A 127.0.0.1",
	)
	if d.TLSRPT != "" {
		w.DNS.Add("_smtp._tls." + name + ". TXT " + strconv.Quote(d.TLSRPT))
	}
	for i, mx := range d.MX {
		w.DNS.Add(name + ". MX " + strconv.Itoa(10*(i+1)) + " " + mx + ".")
		w.DNS.Add(mx + ". A 127.0.0.1")
		w.SMTP.SetCert(mx, w.CA.Issue(tb, w.Now.AddDate(0, -1, 0), w.Now.AddDate(0, 0, 90), mx), 0)
	}
	host := "mta-sts." + name
	w.HTTPS.Handle(host, w.CA.Issue(tb, w.Now.AddDate(0, -1, 0), w.Now.AddDate(0, 0, 90), host), Policy(d.Policy))
}

// ServeDelegated publishes d as a client domain by delegation: d's MX hosts
// as Serve does, and in the operator's zone the names that the client's
// three CNAMEs point at (policyTarget: A 127.0.0.1; stsTarget and
// tlsrptTarget: the TXT records), plus the three CNAMEs themselves. The
// policy host mta-sts.<d.Name> is served with a certificate for that name,
// as CloudFront serves a tenant's managed certificate. Remove or replace a
// CNAME with DNS.Remove and DNS.Add to break the chain.
func (w *World) ServeDelegated(tb testing.TB, d Domain, policyTarget, stsTarget, tlsrptTarget string) {
	tb.Helper()
	name := strings.TrimSuffix(strings.ToLower(d.Name), ".")
	w.DNS.Add(
		"mta-sts."+name+". CNAME "+policyTarget+".",
		policyTarget+". A 127.0.0.1",
		"_mta-sts."+name+". CNAME "+stsTarget+".",
		stsTarget+". TXT "+strconv.Quote("v=STSv1; id="+d.ID),
		"_smtp._tls."+name+". CNAME "+tlsrptTarget+".",
	)
	if d.TLSRPT != "" {
		w.DNS.Add(tlsrptTarget + ". TXT " + strconv.Quote(d.TLSRPT))
	}
	for i, mx := range d.MX {
		w.DNS.Add(name + ". MX " + strconv.Itoa(10*(i+1)) + " " + mx + ".")
		w.DNS.Add(mx + ". A 127.0.0.1")
		w.SMTP.SetCert(mx, w.CA.Issue(tb, w.Now.AddDate(0, -1, 0), w.Now.AddDate(0, 0, 90), mx), 0)
	}
	host := "mta-sts." + name
	w.HTTPS.Handle(host, w.CA.Issue(tb, w.Now.AddDate(0, -1, 0), w.Now.AddDate(0, 0, 90), host), Policy(d.Policy))
}
