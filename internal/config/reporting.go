package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// reportingFields is the structure of the reporting section.
type reportingFields struct {
	https    bool
	domain   *scalar
	mailto   *scalar
	extraRUA []item
	// Whether a destination was given, for the rua requirement: a field
	// given with an error has been reported already and counts as given.
	httpsGiven, mailtoGiven, extraGiven bool
}

// reporting reads the reporting section: structure first, then values. At
// least one rua is required (RFC 8460 §3: rua is required). The email
// subsection is read by email (email.go).
func (p *parser) reporting(f field, domains []Domain) Reporting {
	fs := p.mapping(f.val, f.path, "https", "domain", "mailto", "extra_rua", "email", "count")
	if fs == nil {
		return Reporting{}
	}
	rf := p.reportingStructure(fs)
	r := p.reportingValues(rf, domains)
	if cf, ok := fs["count"]; ok {
		r.Count = p.count(cf) // count.go
	}
	if !rf.httpsGiven && !rf.mailtoGiven && !rf.extraGiven {
		p.add(f.val.Line, f.path, nil, "no report destination: set https: true, mailto or extra_rua (RFC 8460 §3 requires a rua)")
	}
	return r
}

func (p *parser) reportingStructure(fs map[string]field) reportingFields {
	var rf reportingFields
	if hf, ok := fs["https"]; ok {
		rf.https, _ = p.boolean(hf)
		rf.httpsGiven = rf.https || hf.val.ShortTag() != "!!bool"
	}
	if df, ok := fs["domain"]; ok {
		if s, ok := p.text(df); ok {
			rf.domain = &s
		}
	}
	if mf, ok := fs["mailto"]; ok {
		rf.mailtoGiven = true
		if s, ok := p.text(mf); ok {
			rf.mailto = &s
		}
	}
	if xf, ok := fs["extra_rua"]; ok {
		rf.extraGiven = xf.val.Kind != yaml.SequenceNode || len(xf.val.Content) > 0
		rf.extraRUA = p.texts(xf)
	}
	return rf
}

func (p *parser) reportingValues(rf reportingFields, domains []Domain) Reporting {
	r := Reporting{HTTPS: rf.https}
	if s := rf.domain; s != nil {
		if name, ok := p.domainName(*s); ok {
			switch {
			case !r.HTTPS:
				p.addAt(*s, nil, "is the HTTPS endpoint's domain; it needs https: true")
			case !slices.ContainsFunc(domains, func(d Domain) bool {
				return !d.DNS.External && underZone(name, d.DNS.ZoneName)
			}):
				p.addAt(*s, nil, "%s is not in the Route53 zone of a configured domain (its certificate and alias records go there)", name)
			case slices.ContainsFunc(domains, func(d Domain) bool { return name == d.Name || name == d.PolicyHost() }):
				p.addAt(*s, nil, "%s is a mail domain or policy host already; use a name of its own, such as tlsrpt.<domain>", name)
			default:
				r.Domain = name
			}
		}
	}
	var mailto string
	if s := rf.mailto; s != nil {
		if strings.HasPrefix(strings.ToLower(s.text), "mailto:") {
			p.addAt(*s, nil, "give the address without mailto:")
		} else if a, err := parseAddress(s.text); err != nil {
			p.addAt(*s, nil, "%v", err)
		} else {
			r.Mailto = a
			mailto = mailtoRUA(a).URI
		}
	}
	seen := make(map[string]int)
	for _, it := range rf.extraRUA {
		rua, err := tlsrpt.ParseRUA(it.text)
		if err != nil {
			p.addAt(it.scalar, err, "%v", err)
			continue
		}
		key := strings.ToLower(rua.String())
		if j, dup := seen[key]; dup {
			p.addAt(it.scalar, nil, "%s is listed twice (also extra_rua[%d])", it.text, j)
			continue
		}
		if mailto != "" && strings.EqualFold(rua.URI, mailto) {
			p.addAt(it.scalar, nil, "%s is reporting.mailto already", it.text)
			continue
		}
		seen[key] = it.idx
		r.ExtraRUA = append(r.ExtraRUA, rua)
	}
	return r
}
