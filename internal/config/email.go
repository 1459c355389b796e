package config

import (
	"slices"
	"strings"
)

// Email says how the reports e-mailed to reporting.mailto are received
// (RFC 8460 §5.3): the reporting.email section.
type Email struct {
	// Receive: the stack receives the mail of Mailto's domain with SES:
	// an MX record and the SES domain verification in Route53, a receipt
	// rule storing each message in S3, the mailin function ingesting it.
	Receive bool
	// DropUnsigned drops e-mailed reports whose DKIM verdict is not pass;
	// by default they are stored, flagged with their verdict. It applies
	// wherever e-mail is ingested (the mailin function, `ststack report
	// ingest`, the inbox of `ststack serve`).
	DropUnsigned bool
	// RuleSet names an existing SES receipt rule set (the account's active
	// one in the region) to add the stack's receipt rule to. Empty: the
	// stack creates a rule set of its own and makes it the active one (an
	// account has one active rule set per region).
	RuleSet string
}

// sesReceivingRegions are the regions where SES receives e-mail: those
// with an "email receiving endpoint" inbound-smtp.<region>.amazonaws.com in
// the AWS General Reference (SES endpoints and quotas).
var sesReceivingRegions = []string{
	"us-east-1", "us-east-2", "us-west-2",
	"ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2",
	"ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
}

// SESReceives reports whether SES receives e-mail in region.
func SESReceives(region string) bool {
	return slices.Contains(sesReceivingRegions, region)
}

// SESInboundHost is the host the MX record of a domain receiving mail with
// SES in region points to.
func SESInboundHost(region string) string {
	return "inbound-smtp." + region + ".amazonaws.com"
}

// MailDomain is the domain of reporting.mailto (lower-case A-labels), ""
// without one.
func (c *Config) MailDomain() string {
	_, d, _ := strings.Cut(c.Reporting.Mailto, "@")
	return d
}

// MailZone returns the Route53 zone that holds MailDomain: the DNS of the
// configured domain whose zone is the longest suffix of it. It reports
// false when no Route53 zone holds it (always so when validation passed
// with reporting.email.receive off and the name outside every zone).
func (c *Config) MailZone() (DNS, bool) {
	name := c.MailDomain()
	var best DNS
	for _, d := range c.Domains {
		if name != "" && !d.DNS.External && underZone(name, d.DNS.ZoneName) && len(d.DNS.ZoneName) > len(best.ZoneName) {
			best = d.DNS
		}
	}
	return best, best.ZoneName != ""
}

// emailFields is the structure of reporting.email.
type emailFields struct {
	receive      *field // given and a boolean
	on           bool   // receive: true
	dropUnsigned bool
	ruleSet      *scalar
}

// email reads reporting.email, structure first, then values; rf is the
// reporting section, c the rest of the file as read so far (region,
// domains, reporting).
func (p *parser) email(rf field, c *Config) Email {
	f, ok := child(rf, "email")
	if !ok {
		return Email{}
	}
	ef := p.emailStructure(f)
	return p.emailValues(ef, rf, c)
}

func (p *parser) emailStructure(f field) emailFields {
	var ef emailFields
	fs := p.mapping(f.val, f.path, "receive", "drop_unsigned", "rule_set")
	if rcv, ok := fs["receive"]; ok {
		ef.receive = &rcv
		ef.on, _ = p.boolean(rcv)
	}
	if df, ok := fs["drop_unsigned"]; ok {
		ef.dropUnsigned, _ = p.boolean(df)
	}
	if sf, ok := fs["rule_set"]; ok {
		if s, ok := p.text(sf); ok {
			ef.ruleSet = &s
		}
	}
	return ef
}

func (p *parser) emailValues(ef emailFields, rf field, c *Config) Email {
	e := Email{DropUnsigned: ef.dropUnsigned}
	if s := ef.ruleSet; s != nil {
		switch {
		case !isRuleSet(s.text):
			p.addAt(*s, nil, "%q is not an SES receipt rule set name (letters, digits, \".\", \"_\", \"-\", at most 64)", s.text)
		case !ef.on:
			p.addAt(*s, nil, "is where the stack adds its receipt rule; it needs receive: true")
		default:
			e.RuleSet = s.text
		}
	}
	if !ef.on {
		return e
	}
	before := len(p.errs)
	line, path := ef.receive.val.Line, ef.receive.path
	name := c.MailDomain()
	example := "reports.example.com"
	if len(c.Domains) > 0 {
		example = "reports." + c.Domains[0].Name
	}
	_, hasMailto := child(rf, "mailto")
	switch {
	case !hasMailto:
		p.add(line, path, nil, "needs reporting.mailto, the address whose mail the stack receives, such as tlsrpt@%s", example)
	case name == "":
		// reporting.mailto is invalid, reported already.
	case slices.ContainsFunc(c.Domains, func(d Domain) bool { return d.Name == name }):
		p.add(line, path, nil, "reporting.mailto is at %s, a mail domain: receiving it with SES would replace its MX records; use an address on a name of its own, such as tlsrpt@%s", name, example)
	case slices.ContainsFunc(c.Domains, func(d Domain) bool { return d.PolicyHost() == name }) || name == c.Reporting.Domain:
		p.add(line, path, nil, "reporting.mailto is at %s, a name the stack uses already; use a name of its own, such as tlsrpt@%s", name, example)
	default:
		if _, ok := c.MailZone(); !ok {
			p.add(line, path, nil, "reporting.mailto is at %s, which is not in the Route53 zone of a configured domain (its MX and SES verification records go there)", name)
		}
	}
	if c.Region != "" && !SESReceives(c.Region) {
		p.add(line, path, nil, "SES receives e-mail only in %s; region %s is not one of them: deploy in one of them or receive the reports elsewhere",
			strings.Join(sesReceivingRegions, ", "), c.Region)
	}
	e.Receive = len(p.errs) == before
	return e
}
