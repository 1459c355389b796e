package config

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// topKeys are the sections of the file.
var topKeys = []string{"organization", "region", "defaults", "domains", "reporting", "checker", "rollout", "delegation"}

// parse decodes data, which must be a single YAML document, into a Config:
// the top level here, each section in its own file.
func (p *parser) parse(data []byte) *Config {
	root := p.document(data)
	if root == nil {
		return nil
	}
	top := p.mapping(root, "", topKeys...)
	if top == nil {
		return nil
	}
	c := &Config{}
	if f, ok := top["organization"]; ok {
		c.Organization = p.organization(f)
	} else {
		p.add(root.Line, "organization", nil, "required: the organisation's name, from which stack names derive")
	}
	if f, ok := top["region"]; ok {
		c.Region = p.region(f)
	} else {
		p.add(root.Line, "region", nil, "required: the AWS region of the stack, such as eu-west-1")
	}
	var defaults policySpec
	if f, ok := top["defaults"]; ok {
		defaults = p.defaults(f)
	}
	if f, ok := top["delegation"]; ok {
		c.Delegation = p.delegation(f) // delegation.go
	}
	if f, ok := top["domains"]; ok {
		c.Domains = p.domains(f, defaults) // domains.go
		p.checkDelegated(c, top)           // delegation.go
	} else {
		p.add(root.Line, "domains", nil, "required: at least one domain")
	}
	rf, ok := top["reporting"]
	if !ok {
		rf = field{val: &yaml.Node{Kind: yaml.MappingNode, Line: root.Line}, path: "reporting"}
	}
	c.Reporting = p.reporting(rf, c.Domains) // reporting.go
	c.Reporting.Email = p.email(rf, c)       // email.go
	c.Checker = p.checker(top["checker"])    // checker_section.go
	c.Rollout = p.rollout(top["rollout"])    // rollout.go
	return c
}

// document decodes data into its root node; nil after an error: a YAML
// syntax error, an empty file or a second document.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(0, "", nil, "file is empty")
		} else {
			p.syntax(err, data)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntax(err, data)
		return nil
	default:
		p.add(extra.Line, "", nil, "a second YAML document is not allowed")
		return nil
	}
	if len(doc.Content) != 1 {
		p.add(doc.Line, "", nil, "file is empty")
		return nil
	}
	return doc.Content[0]
}

// organization reads the organisation's name: a string, then at most 256
// characters without control characters.
func (p *parser) organization(f field) string {
	s, ok := p.text(f)
	if !ok {
		return ""
	}
	name := strings.TrimSpace(s.text)
	switch {
	case name == "":
		p.addAt(s, nil, "must not be empty")
	case len(name) > 256:
		p.addAt(s, nil, "is longer than 256 characters")
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		p.addAt(s, nil, "must not contain control characters")
	}
	return name
}

// region reads the stack's AWS region: a string, then a region's name.
func (p *parser) region(f field) string {
	s, ok := p.text(f)
	if !ok {
		return ""
	}
	if !isRegion(s.text) {
		p.addAt(s, nil, "%q is not an AWS region name such as eu-west-1", s.text)
		return ""
	}
	return s.text
}

// defaults reads the defaults section: a policy whose fields apply to
// every domain that does not set them.
func (p *parser) defaults(f field) policySpec {
	fs := p.mapping(f.val, f.path, "policy")
	if pf, ok := fs["policy"]; ok {
		return p.policy(pf) // policy.go
	}
	return policySpec{}
}
