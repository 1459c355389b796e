package checker

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// DANE for SMTP (RFC 7672) next to MTA-STS. A sender that implements DANE
// looks up the TLSA records of each MX host at _25._tcp.<mx>; when its
// validating resolver says they are authentic (DNSSEC), it requires TLS and
// a certificate matching one of them (RFC 7672 §2.2). RFC 8461 §2: a sender
// that implements both applies DANE to such a host, not MTA-STS.
//
// ststack does not validate DNSSEC itself: it reads the AD bit of the
// resolver it asks (Config.Resolver), which is only meaningful when that
// resolver validates and the path to it is trusted (RFC 6840 §5.7).

// TLSA certificate usages, selectors and matching types a DANE SMTP sender
// uses (RFC 6698 §2.1, names from RFC 7218).
const (
	usageDANETA = 2 // DANE-TA: a trust anchor of the chain
	usageDANEEE = 3 // DANE-EE: the server's own certificate or key
)

// daneHost is the DANE state of one MX host during a check.
type daneHost struct {
	state  health.DANEState
	usable []*dns.TLSA
}

// usableTLSA reports whether a DANE SMTP sender uses t: RFC 7672 §3.1.3
// has PKIX-TA(0) and PKIX-EE(1) treated as unusable; RFC 6698 §2.1.2/§2.1.3
// define selectors 0 (full certificate) and 1 (SubjectPublicKeyInfo) and
// matching types 0 (exact), 1 (SHA-256) and 2 (SHA-512); other values are
// unusable (RFC 7672 §2.2).
func usableTLSA(t *dns.TLSA) bool {
	return (t.Usage == usageDANETA || t.Usage == usageDANEEE) &&
		t.Selector <= 1 && t.MatchingType <= 2
}

// tlsaString is t in presentation form without owner, TTL and class:
// "usage selector matching-type data".
func tlsaString(t *dns.TLSA) string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, strings.ToLower(t.Certificate))
}

// mxHosts is the distinct MX host names, in MX order, without a null MX.
func (r *run) mxHosts() []string {
	var hosts []string
	seen := map[string]bool{}
	for _, m := range r.mxs {
		if m.Host != "" && !seen[m.Host] {
			seen[m.Host] = true
			hosts = append(hosts, m.Host)
		}
	}
	return hosts
}

// checkDANE looks up the TLSA records of every MX host (at once; they are
// few) and reports each host's DANE state. A host without TLSA records
// gets no finding: DANE is optional.
func (r *run) checkDANE(ctx context.Context) {
	hosts := r.mxHosts()
	states := make([]*daneHost, len(hosts))
	fss := make([][]health.Finding, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i], fss[i] = r.c.lookupDANE(ctx, h)
		}()
	}
	wg.Wait()
	r.dane = map[string]*daneHost{}
	for i, h := range hosts {
		r.res.Findings = append(r.res.Findings, fss[i]...)
		if states[i] != nil {
			r.dane[h] = states[i]
		}
	}
}

// lookupDANE asks for host's TLSA records; the state is nil when there are
// none (or the lookup failed).
func (c *Checker) lookupDANE(ctx context.Context, host string) (*daneHost, []health.Finding) {
	name := "_25._tcp." + host // RFC 7672 §2.2.3: the TLSA base domain for port 25
	m, err := c.res.exchangeMsg(withoutPrefetch(ctx), name, dns.TypeTLSA)
	if err != nil {
		// A DANE sender defers mail to the host while its TLSA lookup
		// fails (RFC 7672 §2.2); a signed zone whose servers mishandle
		// TLSA queries is a common cause.
		return nil, []health.Finding{finding(health.SeverityWarning, health.CodeDANELookup, host,
			fmt.Sprintf("looking up the TLSA records at %s failed: %s; DANE senders defer mail to %s while it fails", name, oneLine(err), host),
			"make the name servers of "+host+" answer TLSA queries for "+name+" (NOERROR or NXDOMAIN)")}
	}
	d := &daneHost{state: health.DANEState{Host: host, Records: []string{}, Validated: m.AuthenticatedData}}
	for _, rr := range m.Answer {
		t, ok := rr.(*dns.TLSA)
		if !ok || normaliseName(t.Hdr.Name) != name {
			continue // CNAMEs on the way (RFC 7672 §2.2.3 is not followed further)
		}
		d.state.Records = append(d.state.Records, tlsaString(t))
		if usableTLSA(t) {
			d.usable = append(d.usable, t)
		}
	}
	if len(d.state.Records) == 0 {
		return nil, nil
	}
	d.state.Usable = len(d.usable)
	n := len(d.state.Records)
	switch {
	case !d.state.Validated:
		// RFC 7672 §2.2: TLSA records that are not DNSSEC-validated are
		// ignored; the host gets opportunistic TLS only.
		return d, []health.Finding{finding(health.SeverityWarning, health.CodeDANEInsecure, host,
			fmt.Sprintf("%s has %d TLSA record(s) at %s, but the resolver did not validate them with DNSSEC (AD bit clear): senders ignore them", host, n, name),
			"sign the zone of "+name+" with DNSSEC, or remove the TLSA records; if the zone is signed, ask a validating resolver (--resolver)")}
	case d.state.Usable == 0:
		// RFC 7672 §2.2: validated but none usable: TLS without authentication.
		return d, []health.Finding{finding(health.SeverityWarning, health.CodeDANEUnusable, host,
			fmt.Sprintf("none of the %d TLSA record(s) at %s is usable for SMTP (usage must be 2 or 3, selector 0 or 1, matching type 0, 1 or 2): senders use TLS without authenticating %s", n, name, host),
			"publish a \"3 1 1\" record (DANE-EE, SubjectPublicKeyInfo, SHA-256) of the key of "+host+"'s certificate")}
	}
	return d, []health.Finding{finding(health.SeverityInfo, health.CodeDANEValid, host,
		fmt.Sprintf("%s has %d DNSSEC-validated TLSA record(s), %d usable: DANE senders require TLS with a certificate matching them", host, n, d.state.Usable),
		"")}
}

// daneMatch is how a presented chain matched a host's usable TLSA records.
type daneMatch struct {
	ee bool // a DANE-EE(3) record matches the server's certificate
	ta bool // the chain verifies to a DANE-TA(2) record's certificate for the host name
}

func (m daneMatch) ok() bool { return m.ee || m.ta }

// matchDANE matches chain (leaf first, as presented) with d's usable
// records as a DANE SMTP sender does (RFC 7672 §3.1).
func matchDANE(d *daneHost, chain []*x509.Certificate, host string, now time.Time) daneMatch {
	var m daneMatch
	if len(chain) == 0 {
		return m
	}
	for _, t := range d.usable {
		switch t.Usage {
		case usageDANEEE:
			// RFC 7672 §3.1.1: only the leaf's certificate or key is compared;
			// no name check, no validity period, no chain.
			if t.Verify(chain[0]) == nil {
				m.ee = true
			}
		case usageDANETA:
			// RFC 7672 §3.1.2: the record matches a trust anchor the server
			// sends in its chain; the chain must verify to it with the
			// MX host name (RFC 7672 §3.2.3) and be valid now.
			for _, ta := range chain[1:] {
				if t.Verify(ta) != nil {
					continue
				}
				roots := x509.NewCertPool()
				roots.AddCert(ta)
				inter := x509.NewCertPool()
				for _, c := range chain[1:] {
					inter.AddCert(c)
				}
				_, err := chain[0].Verify(x509.VerifyOptions{
					DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
				})
				if err == nil {
					m.ta = true
				}
			}
		}
	}
	return m
}

// applyDANE judges the probe's certificate findings for host in the light
// of its DANE state, and records whether its certificate matches. It
// returns the findings to report.
//
// Which MTA-STS alarms DANE covers: a sender applies DANE instead of
// MTA-STS to a host with validated, usable TLSA records (RFC 8461 §2), and
// then does not check what the matching records make irrelevant: with a
// DANE-EE(3) match, trust in a public CA, the name and the validity period
// (RFC 7672 §3.1.1); with a DANE-TA(2) match, trust in a public CA only
// (the name and validity are still checked, §3.1.2). Those findings are
// false alarms only when no sender applies MTA-STS to the host, that is
// when no policy in testing or enforce mode applies to the domain: then
// they become info. Under a policy they stay, because senders that
// implement MTA-STS but not DANE still check the certificate the WebPKI way.
func applyDANE(d *daneHost, m daneMatch, mode mtasts.Mode, host string, fs []health.Finding) []health.Finding {
	if d == nil || !d.state.Validated || len(d.usable) == 0 {
		return fs
	}
	if !m.ok() {
		d.state.Match = "mismatch"
		return append(fs, finding(health.SeverityError, health.CodeDANEMismatch, host,
			fmt.Sprintf("the certificate of %s matches none of its %d usable TLSA record(s): DANE senders do not deliver to it (RFC 7672 §2.2)", host, len(d.usable)),
			"publish TLSA records for the certificate "+host+" presents (during a key rollover, publish the new records before the new certificate is used)"))
	}
	d.state.Match = "match"
	if mode == mtasts.ModeTesting || mode == mtasts.ModeEnforce {
		return fs
	}
	covered := map[health.Code]bool{health.CodeSMTPCertUntrusted: true}
	if m.ee {
		covered[health.CodeSMTPCertNameMismatch] = true
		covered[health.CodeSMTPCertExpired] = true
		covered[health.CodeSMTPCertExpiring] = true
	}
	for i, f := range fs {
		if covered[f.Code] && f.Subject == host {
			fs[i].Severity = health.SeverityInfo
			fs[i].Message = f.Message + "; no MTA-STS policy applies and the host's DANE TLSA records authenticate it, so senders do not check this"
		}
	}
	return fs
}
