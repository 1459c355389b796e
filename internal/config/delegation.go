package config

import (
	"crypto/sha256"
)

// Client domains by delegation (dns: delegated). A client's DNS belongs to
// the client; the operator owns one zone (the delegation section), where the
// deployment publishes everything a client domain needs. The client creates
// three CNAMEs once, each to a name in the operator's zone derived from the
// client's domain alone, so they never change:
//
//	mta-sts.<client>     CNAME <key>.mta-sts.<zone>     (→ CloudFront's routing endpoint)
//	_mta-sts.<client>    CNAME <key>._mta-sts.<zone>    (TXT v=STSv1; id=… published there)
//	_smtp._tls.<client>  CNAME <key>._smtp._tls.<zone>  (TXT v=TLSRPTv1; rua=… published there)
//
// RFC 8461 §3.1 and RFC 8460 §3 look these TXT records up by name; a
// resolver follows a CNAME at the name for any type (RFC 1034 §3.6.2), as
// docs/policy.md details.

// Delegation is the operator's zone that client domains point at.
type Delegation struct {
	Zone         string // A-label, lower case, no trailing dot
	HostedZoneID string // the Route53 hosted zone holding Zone
}

// delegationKeyLen is the length of a client's label in the operator's
// zone: 16 bytes of SHA-256, base32 without padding.
const delegationKeyLen = 26

// maxDelegationZone bounds the operator's zone so that the longest derived
// name, <key>._smtp._tls.<zone>, fits 253 octets (RFC 1035 §2.3.4).
const maxDelegationZone = 253 - delegationKeyLen - len("._smtp._tls.")

// DelegationKey is the client domain's label in the operator's zone: 26
// letters and digits from the SHA-256 of its A-label. It depends on the
// name alone (stable across deployments and file orders), is unique in
// practice (128 bits), and fits a DNS label whatever the client's name's
// length.
func DelegationKey(domain string) string {
	sum := sha256.Sum256([]byte(domain))
	return base32Lower(sum[:16])
}

// base32Lower is the base32 encoding of b (RFC 4648 §6, the standard
// alphabet) in lower case, without padding. It is written out rather than
// taken from encoding/base32, whose package initialisation and encoder
// every function loading the organisation file would link
// (docs/performance.md).
func base32Lower(b []byte) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint(c)
		for bits += 8; bits >= 5; bits -= 5 {
			out = append(out, alphabet[acc>>(bits-5)&31])
		}
	}
	if bits > 0 {
		out = append(out, alphabet[acc<<(5-bits)&31])
	}
	return string(out)
}

// CNAME is one record a client creates: Name CNAME Target.
type CNAME struct {
	Name, Target string // no trailing dots
}

// String is the record in zone-file form, with absolute names.
func (c CNAME) String() string { return c.Name + ". CNAME " + c.Target + "." }

// Delegated is what a delegated client domain's records are, on the client's
// side and in the operator's zone.
type Delegated struct {
	Domain string // the client's domain
	Key    string // DelegationKey(Domain)
	// The three CNAMEs the client creates.
	PolicyHost, STS, TLSRPT CNAME
}

// Records returns the three CNAMEs the client creates, in the order
// mta-sts, _mta-sts, _smtp._tls.
func (d Delegated) Records() []CNAME { return []CNAME{d.PolicyHost, d.STS, d.TLSRPT} }

// Delegated returns the records of d, a domain with dns: delegated; false
// for any other domain (or a Config without a delegation section, which
// Parse refuses when a domain is delegated).
func (c *Config) Delegated(d Domain) (Delegated, bool) {
	if !d.DNS.Delegated || c.Delegation == nil {
		return Delegated{}, false
	}
	key := DelegationKey(d.Name)
	z := c.Delegation.Zone
	return Delegated{
		Domain:     d.Name,
		Key:        key,
		PolicyHost: CNAME{Name: d.PolicyHost(), Target: key + ".mta-sts." + z},
		STS:        CNAME{Name: "_mta-sts." + d.Name, Target: key + "._mta-sts." + z},
		TLSRPT:     CNAME{Name: "_smtp._tls." + d.Name, Target: key + "._smtp._tls." + z},
	}, true
}

// delegation reads the delegation section: the operator's zone and its
// Route53 hosted zone id, both required.
func (p *parser) delegation(f field) *Delegation {
	fs := p.mapping(f.val, f.path, "zone", "hosted_zone_id")
	if fs == nil {
		return nil
	}
	var d Delegation
	ok := true
	if zf, has := fs["zone"]; !has {
		p.add(f.val.Line, join(f.path, "zone"), nil, "required: the operator's zone client domains point at, such as clients.operator.example")
		ok = false
	} else if s, good := p.text(zf); !good {
		ok = false
	} else if z, err := parseDomainName(s.text); err != nil {
		p.addAt(s, nil, "%v", err)
		ok = false
	} else if len(z) > maxDelegationZone {
		p.addAt(s, nil, "%q is longer than %d characters, too long for <key>._smtp._tls.%s", z, maxDelegationZone, "<zone>")
		ok = false
	} else {
		d.Zone = z
	}
	if zf, has := fs["hosted_zone_id"]; !has {
		p.add(f.val.Line, join(f.path, "hosted_zone_id"), nil, "required: the Route53 hosted zone id of the zone, such as Z0123456789ABCDEFGHIJ")
		ok = false
	} else if s, good := p.text(zf); !good {
		ok = false
	} else if !isZoneID(s.text) {
		p.addAt(s, nil, "%q is not a hosted zone id: Z and upper-case letters and digits", s.text)
		ok = false
	} else {
		d.HostedZoneID = s.text
	}
	if !ok {
		return nil
	}
	return &d
}

// checkDelegated refuses delegated domains without a delegation section,
// and a client domain that is the operator's zone or inside it (its
// CNAMEs would point into its own name space).
func (p *parser) checkDelegated(c *Config, top map[string]field) {
	if _, given := top["delegation"]; !given {
		for _, s := range p.delegated {
			p.addAt(s, nil, "%s is delegated, but the file has no delegation section (zone, hosted_zone_id) for its CNAMEs to point at", s.text)
		}
		return
	}
	if c.Delegation == nil {
		return // its errors are reported
	}
	for _, s := range p.delegated {
		if underZone(s.text, c.Delegation.Zone) {
			p.addAt(s, nil, "%s is inside the delegation zone %s; give it route53 instead", s.text, c.Delegation.Zone)
		}
	}

}

// AmazonCAAIssuers are the CA domain names a CAA "issue" record must name
// for ACM to issue a certificate (here: the CloudFront-managed certificate
// of mta-sts.<client>); a client without CAA records needs nothing.
// https://docs.aws.amazon.com/acm/latest/userguide/setup-caa.html: "ACM
// cannot issue a certificate for your domain or subdomain if there is no
// CAA record that specifies one of the following four Amazon CAs".
func AmazonCAAIssuers() []string {
	return []string{"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"}
}
