package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// domainKeys are the fields of one entry of the domain list.
var domainKeys = []string{"name", "dns", "policy", "retire", "stage_since"}

// domainEntry is the structure of one entry of the domain list.
type domainEntry struct {
	line   int
	path   string
	name   *scalar    // nil: missing or not a string (reported)
	dns    *dnsFields // nil: missing (reported)
	policy *field     // nil: not given
	retire *scalar    // nil: not given, or not a day (reported)
	since  *scalar    // stage_since; nil: not given, or not a day (reported)
	pf     policyFields
	pfErrs int // errors found in the policy's structure
}

// dnsFields is the structure of a domain's dns mapping.
type dnsFields struct {
	usable    bool // one of route53, external and delegated, as the structure allows
	external  bool
	delegated bool
	line      int     // where dns is
	zoneID    *scalar // nil: missing or not a string (reported)
	zoneName  *scalar
	badName   bool // zone_name given but not a string (reported)
	errs      int  // errors found in the structure
}

// domains reads the domain list; each domain gets a complete, validated
// policy: its own fields, else defaults.policy's, else DefaultMode and
// DefaultMaxAge (mx has no default). Each entry's structure is read before
// its values are checked; name, dns and policy are checked independently,
// so that one run reports all of an entry's errors.
func (p *parser) domains(f field, defaults policySpec) []Domain {
	items := p.list(f)
	if len(f.val.Content) == 0 && f.val.Kind == yaml.SequenceNode {
		p.add(f.val.Line, f.path, nil, "at least one domain is required")
		return nil
	}
	if len(f.val.Content) > MaxDomains {
		p.errs = append(p.errs, &Error{File: p.file, Line: f.val.Line, Field: f.path, class: ErrTooLarge,
			Msg: fmt.Sprintf("%d domains; at most %d are allowed in one file", len(f.val.Content), MaxDomains)})
		return nil
	}
	var out []Domain
	first := make(map[string]int) // A-label → line
	for i, it := range items {
		e, ok := p.domainStructure(it, index(f.path, i))
		if !ok {
			continue
		}
		if d, ok := p.domainValues(e, defaults, first); ok {
			out = append(out, d)
		}
	}
	return out
}

// domainStructure reads one entry's structure; false if the entry is not
// a mapping of known, distinct keys (reported), so nothing else of it is
// checked.
func (p *parser) domainStructure(n *yaml.Node, path string) (domainEntry, bool) {
	before := len(p.errs)
	fs := p.mapping(n, path, domainKeys...)
	if fs == nil || len(p.errs) > before {
		return domainEntry{}, false
	}
	e := domainEntry{line: n.Line, path: path}
	if nf, has := fs["name"]; !has {
		p.add(n.Line, join(path, "name"), nil, "required: the mail domain, such as example.com")
	} else if s, ok := p.text(nf); ok {
		e.name = &s
	}
	if df, has := fs["dns"]; has {
		d := p.dnsStructure(df)
		e.dns = &d
	} else {
		p.add(n.Line, join(path, "dns"), nil, "required: route53: {hosted_zone_id: …}, external: true or delegated")
	}
	if pf, has := fs["policy"]; has {
		before := len(p.errs)
		e.policy = &pf
		e.pf = p.policyStructure(pf)
		e.pfErrs = len(p.errs) - before
	}
	if rf, has := fs["retire"]; has {
		if s, ok := p.day(rf); ok {
			e.retire = &s
		}
	}
	if sf, has := fs["stage_since"]; has {
		if s, ok := p.day(sf); ok {
			e.since = &s
		}
	}
	return e, true
}

// dnsStructure reads a dns mapping: route53 or external, not both.
func (p *parser) dnsStructure(f field) dnsFields {
	before := len(p.errs)
	d := p.dnsChoice(f)
	d.errs = len(p.errs) - before
	return d
}

func (p *parser) dnsChoice(f field) dnsFields {
	d := dnsFields{line: f.val.Line}
	if f.val.Kind == yaml.ScalarNode && f.val.ShortTag() == "!!str" {
		if f.val.Value != "delegated" {
			p.add(f.val.Line, f.path, nil, "%q: give delegated, or a mapping with route53 or external", f.val.Value)
			return d
		}
		d.delegated, d.usable = true, true
		return d
	}
	fs := p.mapping(f.val, f.path, "route53", "external")
	if fs == nil {
		return d
	}
	if ef, has := fs["external"]; has {
		var ok bool
		if d.external, ok = p.boolean(ef); !ok {
			return d
		}
	}
	rf, hasR53 := fs["route53"]
	switch {
	case d.external && hasR53:
		p.add(rf.key.Line, rf.path, nil, "give route53 or external: true, not both")
		return d
	case d.external:
		d.usable = true
		return d
	case !hasR53:
		p.add(f.val.Line, f.path, nil, "set route53: {hosted_zone_id: …} or external: true")
		return d
	}
	rs := p.mapping(rf.val, rf.path, "hosted_zone_id", "zone_name")
	if rs == nil {
		return d
	}
	d.usable = true
	if zf, has := rs["hosted_zone_id"]; !has {
		p.add(rf.val.Line, join(rf.path, "hosted_zone_id"), nil, "required: the Route53 hosted zone id, such as Z0123456789ABCDEFGHIJ")
	} else if s, ok := p.text(zf); ok {
		d.zoneID = &s
	}
	if zf, has := rs["zone_name"]; has {
		if s, ok := p.text(zf); ok {
			d.zoneName = &s
		} else {
			d.badName = true
		}
	}
	return d
}

// domainValues checks the values of an entry that domainStructure read:
// the name (valid, not listed before), the dns and the complete policy.
func (p *parser) domainValues(e domainEntry, defaults policySpec, first map[string]int) (Domain, bool) {
	var d Domain
	ok := e.name != nil
	if e.name != nil {
		if d.Name, ok = p.domainName(*e.name); ok {
			if prev, dup := first[d.Name]; dup {
				p.addAt(*e.name, nil, "%s is listed twice (first at line %d)", d.Name, prev)
				ok = false
			} else {
				first[d.Name] = e.name.line
			}
		}
	}
	if e.dns == nil {
		ok = false
	} else {
		var dnsOK bool
		// Without a valid name, only the parts of dns that do not
		// depend on it.
		d.DNS, dnsOK = p.dnsValues(*e.dns, d.Name)
		ok = ok && dnsOK && d.Name != ""
	}
	var own policySpec
	if e.policy != nil {
		before := len(p.errs)
		own = p.policyValues(e.pf)
		own.bad = e.pfErrs > 0 || len(p.errs) > before || p.truncated
	}
	pol, polOK := p.completePolicy(e.line, join(e.path, "policy"), own, defaults)
	var since time.Time
	if s := e.retire; s != nil {
		var err error
		if since, err = parseDay(s.text); err != nil {
			p.addAt(*s, nil, "%v", err)
			ok = false
		}
	}
	if s := e.since; s != nil {
		var err error
		if d.StageSince, err = parseStageSince(s.text); err != nil {
			p.addAt(*s, nil, "%v", err)
			ok = false
		}
	}
	if !ok || !polOK {
		return Domain{}, false
	}
	d.Policy = pol
	if d.DNS.Delegated {
		p.delegated = append(p.delegated, scalar{text: d.Name, line: e.dns.line, path: join(e.path, "dns")})
	}
	if e.retire != nil {
		d.Retire = &Retirement{Since: since, Replaces: pol, line: e.retire.line, field: e.retire.path}
		d.Policy = retiringPolicy(pol)
	}
	return d, true
}

func (p *parser) domainName(s scalar) (string, bool) {
	a, err := parseDomainName(s.text)
	if err != nil {
		p.addAt(s, nil, "%v", err)
		return "", false
	}
	return a, true
}

// dnsValues checks the hosted zone of a dns mapping. name is the domain's
// A-label, or "" if it is unknown (invalid).
func (p *parser) dnsValues(f dnsFields, name string) (DNS, bool) {
	if !f.usable {
		return DNS{}, false
	}
	if f.external {
		return DNS{External: true}, true
	}
	if f.delegated {
		return DNS{Delegated: true}, true
	}
	before := len(p.errs)
	var d DNS
	ok := f.zoneID != nil
	if s := f.zoneID; s != nil {
		if !isZoneID(s.text) {
			hint := ""
			if strings.HasPrefix(s.text, "/hostedzone/") {
				hint = " (leave out /hostedzone/)"
			}
			p.addAt(*s, nil, "%q is not a hosted zone id: Z and upper-case letters and digits%s", s.text, hint)
			ok = false
		} else {
			d.HostedZoneID = s.text
		}
	}
	d.ZoneName = name
	if f.badName {
		return DNS{}, false
	}
	if s := f.zoneName; s != nil {
		z, err := parseDomainName(s.text)
		if err != nil {
			p.addAt(*s, nil, "%v", err)
			return DNS{}, false
		}
		if name != "" && !underZone(name, z) {
			p.addAt(*s, nil, "%s is neither %s nor a parent of it", z, name)
			return DNS{}, false
		}
		d.ZoneName = z
	}
	return d, ok && f.errs == 0 && len(p.errs) == before
}

// underZone reports whether name is zone or below it.
func underZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}
