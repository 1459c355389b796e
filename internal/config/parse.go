package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// maxErrors bounds the errors reported for one file; a file that bad is
// better fixed from the top.
const maxErrors = 100

// parser walks the YAML node tree, collecting errors and warnings with
// their line and field path.
type parser struct {
	file      string
	errs      []*Error
	warnings  []Warning
	warned    map[Warning]bool
	truncated bool
}

// field is one key of a mapping and its value.
type field struct {
	key, val *yaml.Node
	path     string
}

func (p *parser) add(line int, path string, cause error, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.truncated = true
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: path,
		Msg: fmt.Sprintf(format, args...), Err: cause, class: ErrInvalid})
}

func (p *parser) warn(line int, path, format string, args ...any) {
	p.warnings = append(p.warnings, Warning{File: p.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// warnOnce adds a warning unless the same one was given already.
func (p *parser) warnOnce(line int, path, msg string) {
	w := Warning{File: p.file, Line: line, Field: path, Msg: msg}
	if p.warned[w] {
		return
	}
	if p.warned == nil {
		p.warned = make(map[Warning]bool)
	}
	p.warned[w] = true
	p.warnings = append(p.warnings, w)
}

// err returns the collected errors in line order: nil, one *Error, or
// several joined with errors.Join.
func (p *parser) err() error {
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	slices.SortStableFunc(p.warnings, func(a, b Warning) int { return cmp.Compare(a.Line, b.Line) })
	if p.truncated {
		p.errs = append(p.errs, &Error{File: p.file, class: ErrInvalid,
			Msg: fmt.Sprintf("more errors follow; stopped after %d", maxErrors)})
	}
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	}
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// yamlLineRE picks the line out of the YAML library's syntax errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the YAML library's parser (not scanner) errors. For
// them go.yaml.in/yaml/v3 reports the 0-based line of its mark, and no line
// at all for the first; for scanner errors it reports the 1-based line.
// This is the one place that knows about that quirk.
var parserProblems = []string{
	"did not find expected ",
	"found duplicate %",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// scannerProblems start like parser problems but are scanner errors.
var scannerProblems = []string{
	"did not find expected alphabetic or numeric character",
	"did not find expected comment or line break",
	"did not find expected whitespace",
	"did not find expected hexdecimal number",
}

func (p *parser) syntax(err error, data []byte) {
	text := err.Error()
	e := &Error{File: p.file, Msg: strings.TrimPrefix(text, "yaml: "), class: ErrSyntax}
	if m := yamlLineRE.FindStringSubmatch(text); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	isParser := slices.ContainsFunc(parserProblems, func(s string) bool { return strings.HasPrefix(e.Msg, s) }) &&
		!slices.ContainsFunc(scannerProblems, func(s string) bool { return strings.HasPrefix(e.Msg, s) })
	if isParser {
		e.Line++
	}
	// At the end of the stream the library's mark can be one past the last
	// line.
	e.Line = min(e.Line, lineCount(data))
	p.errs = append(p.errs, e)
}

// lineCount is the number of lines of data, the last one possibly without
// a newline.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "empty"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return "a string"
}

// noAlias reports an alias: they are not supported, which also rules out
// alias-expansion bombs.
func (p *parser) noAlias(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		p.add(n.Line, path, nil, "YAML aliases (*%s) are not supported; use defaults instead", n.Value)
		return false
	}
	return true
}

// mapping returns the fields of a mapping node keyed by name, reporting
// unknown and duplicate keys. It returns nil if n is not a mapping.
func (p *parser) mapping(n *yaml.Node, path string, known ...string) map[string]field {
	if !p.noAlias(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, nil, "must be a mapping with keys %s, not %s", strings.Join(known, ", "), describe(n))
		return nil
	}
	fields := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			p.add(k.Line, join(path, k.Value), nil, "YAML merge keys are not supported; use defaults instead")
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.add(k.Line, path, nil, "keys must be plain names, not %s", describe(k))
			continue
		}
		fp := join(path, k.Value)
		if !slices.Contains(known, k.Value) {
			if len(p.errs) >= maxErrors {
				p.truncated = true
				continue
			}
			msg := "unknown field"
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
			}
			p.add(k.Line, fp, nil, "%s", msg)
			continue
		}
		if prev, dup := fields[k.Value]; dup {
			p.add(k.Line, fp, nil, "duplicate key (first at line %d)", prev.key.Line)
			continue
		}
		if !p.noAlias(v, fp) {
			continue
		}
		fields[k.Value] = field{key: k, val: v, path: fp}
	}
	return fields
}

// suggest returns the known name closest to s, if it is a likely typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str returns a scalar's text. Numbers are accepted as their text; booleans,
// empty values, lists and mappings are errors.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float":
			return n.Value, true
		case "!!bool":
			p.add(n.Line, path, nil, "must be a string, not a boolean (quote it)")
			return "", false
		}
	}
	p.add(n.Line, path, nil, "must be a string, not %s", describe(n))
	return "", false
}

func (p *parser) boolean(f field) (bool, bool) {
	if f.val.Kind == yaml.ScalarNode && f.val.ShortTag() == "!!bool" {
		var b bool
		if f.val.Decode(&b) == nil {
			return b, true
		}
	}
	p.add(f.val.Line, f.path, nil, "must be true or false, not %s", describe(f.val))
	return false, false
}

func (p *parser) integer(f field, lo, hi int64) (int64, bool) {
	if f.val.Kind != yaml.ScalarNode || f.val.ShortTag() != "!!int" {
		p.add(f.val.Line, f.path, nil, "must be a whole number, not %s", describe(f.val))
		return 0, false
	}
	var v int64
	if err := f.val.Decode(&v); err != nil || v < lo || v > hi {
		p.add(f.val.Line, f.path, nil, "%s is not %d to %d", f.val.Value, lo, hi)
		return 0, false
	}
	return v, true
}

// list returns a sequence's items, leaving out (and reporting) aliases.
func (p *parser) list(f field) []*yaml.Node {
	if f.val.Kind != yaml.SequenceNode {
		p.add(f.val.Line, f.path, nil, "must be a list, not %s", describe(f.val))
		return nil
	}
	items := make([]*yaml.Node, 0, len(f.val.Content))
	for i, it := range f.val.Content {
		if p.noAlias(it, index(f.path, i)) {
			items = append(items, it)
		}
	}
	return items
}

// parse decodes data, which must be a single YAML document, into a Config.
func (p *parser) parse(data []byte) *Config {
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
	root := doc.Content[0]
	top := p.mapping(root, "", "organization", "region", "defaults", "domains", "reporting", "checker")
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
		if s, ok := p.str(f.val, f.path); ok {
			if regionRE.MatchString(s) {
				c.Region = s
			} else {
				p.add(f.val.Line, f.path, nil, "%q is not an AWS region name such as eu-west-1", s)
			}
		}
	} else {
		p.add(root.Line, "region", nil, "required: the AWS region of the stack, such as eu-west-1")
	}
	var defaults policySpec
	if f, ok := top["defaults"]; ok {
		if fs := p.mapping(f.val, f.path, "policy"); fs != nil {
			if pf, ok := fs["policy"]; ok {
				defaults = p.policy(pf)
			}
		}
	}
	if f, ok := top["domains"]; ok {
		c.Domains = p.domains(f, defaults)
	} else {
		p.add(root.Line, "domains", nil, "required: at least one domain")
	}
	rf, ok := top["reporting"]
	if !ok {
		rf = field{val: &yaml.Node{Kind: yaml.MappingNode, Line: root.Line}, path: "reporting"}
	}
	c.Reporting = p.reporting(rf, c.Domains)
	c.Reporting.Email = p.email(rf, c) // email.go
	c.Checker = p.checker(top["checker"])
	return c
}

func (p *parser) organization(f field) string {
	s, ok := p.str(f.val, f.path)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.add(f.val.Line, f.path, nil, "must not be empty")
	case len(s) > 256:
		p.add(f.val.Line, f.path, nil, "is longer than 256 characters")
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		p.add(f.val.Line, f.path, nil, "must not contain control characters")
	}
	return s
}

// policySpec is a policy as written in the file: some fields may be unset.
type policySpec struct {
	mode   mtasts.Mode
	maxAge int
	mx     []mtasts.MX
	// fields holds the keys that were given, for line numbers; a field that
	// was given but invalid is present too, so it is not defaulted.
	fields map[string]field
	bad    bool // some field had an error, already reported
}

// policy parses a policy mapping (RFC 8461 §3.2 fields, YAML-spelled).
func (p *parser) policy(f field) policySpec {
	before := len(p.errs)
	fs := p.mapping(f.val, f.path, "mode", "max_age", "mx")
	spec := policySpec{fields: fs}
	if mf, ok := fs["mode"]; ok {
		if s, ok := p.str(mf.val, mf.path); ok {
			// RFC 8461 §3.2: mode is "enforce", "testing" or "none".
			if m := mtasts.Mode(s); m.Valid() {
				spec.mode = m
			} else {
				p.add(mf.val.Line, mf.path, mtasts.ErrPolicyMode, "%q is not enforce, testing or none", s)
			}
		}
	}
	if af, ok := fs["max_age"]; ok {
		// RFC 8461 §3.2: max_age is a non-negative integer, at most 31557600.
		if v, ok := p.integer(af, 0, mtasts.MaxMaxAge); ok {
			spec.maxAge = int(v)
		}
	}
	if xf, ok := fs["mx"]; ok {
		items := p.list(xf)
		seen := make(map[string]int, len(items))
		for i, it := range items {
			ip := index(xf.path, i)
			s, ok := p.str(it, ip)
			if !ok {
				continue
			}
			mx, err := parseMX(s)
			if err != nil {
				p.add(it.Line, ip, err, "%v", err)
				continue
			}
			key := mx.String()
			if j, dup := seen[key]; dup {
				p.add(it.Line, ip, nil, "%s is listed twice (also mx[%d])", key, j)
				continue
			}
			seen[key] = i
			spec.mx = append(spec.mx, mx)
		}
	}
	spec.bad = len(p.errs) > before || p.truncated
	return spec
}

// parseMX parses an mx pattern (RFC 8461 §3.2, §4.1), converting U-labels
// to A-labels first.
func parseMX(s string) (mtasts.MX, error) {
	if !isASCII(s) {
		host, wild := strings.CutPrefix(s, "*.")
		a, err := toALabel(host)
		if err != nil {
			return mtasts.MX{}, fmt.Errorf("%w: %v", mtasts.ErrPolicyMX, err)
		}
		if wild {
			a = "*." + a
		}
		s = a
	}
	return mtasts.ParseMX(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// domains parses the domain list; each domain gets a complete, validated
// policy: its own fields, else defaults.policy's, else DefaultMode and
// DefaultMaxAge (mx has no default).
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
		path := index(f.path, i)
		before := len(p.errs)
		fs := p.mapping(it, path, "name", "dns", "policy")
		if fs == nil || len(p.errs) > before {
			continue
		}
		// Name, dns and policy are checked independently, so that one run
		// reports all of an entry's errors.
		d, ok := p.domain(fs, it.Line, path, first)
		var own policySpec
		if pf, has := fs["policy"]; has {
			own = p.policy(pf)
		}
		pol, polOK := p.completePolicy(it.Line, join(path, "policy"), own, defaults)
		if ok && polOK {
			d.Policy = pol
			out = append(out, d)
		}
	}
	return out
}

// domain parses a domain's name and dns, reporting whether both are valid
// and the name is not a duplicate.
func (p *parser) domain(fs map[string]field, line int, path string, first map[string]int) (Domain, bool) {
	var d Domain
	ok := true
	if nf, has := fs["name"]; !has {
		p.add(line, join(path, "name"), nil, "required: the mail domain, such as example.com")
		ok = false
	} else if s, sok := p.str(nf.val, nf.path); !sok {
		ok = false
	} else if d.Name, ok = p.domainName(nf, s); ok {
		if prev, dup := first[d.Name]; dup {
			p.add(nf.val.Line, nf.path, nil, "%s is listed twice (first at line %d)", d.Name, prev)
			ok = false
		} else {
			first[d.Name] = nf.val.Line
		}
	}
	df, has := fs["dns"]
	if !has {
		p.add(line, join(path, "dns"), nil, "required: route53: {hosted_zone_id: …} or external: true")
		return d, false
	}
	if d.Name == "" {
		// Without a name, only the parts of dns that do not depend on it.
		_, _ = p.dns(df, "")
		return d, false
	}
	var dnsOK bool
	d.DNS, dnsOK = p.dns(df, d.Name)
	return d, ok && dnsOK
}

func (p *parser) domainName(f field, s string) (string, bool) {
	a, err := parseDomainName(s)
	if err != nil {
		p.add(f.val.Line, f.path, nil, "%v", err)
		return "", false
	}
	return a, true
}

// dns parses a domain's dns mapping: route53 or external, not both. name is
// the domain's A-label, or "" if it is unknown (invalid).
func (p *parser) dns(f field, name string) (DNS, bool) {
	before := len(p.errs)
	fs := p.mapping(f.val, f.path, "route53", "external")
	if fs == nil {
		return DNS{}, false
	}
	var d DNS
	ef, hasExt := fs["external"]
	if hasExt {
		var ok bool
		if d.External, ok = p.boolean(ef); !ok {
			return DNS{}, false
		}
	}
	rf, hasR53 := fs["route53"]
	switch {
	case d.External && hasR53:
		p.add(rf.key.Line, rf.path, nil, "give route53 or external: true, not both")
		return DNS{}, false
	case d.External:
		return d, true
	case !hasR53:
		p.add(f.val.Line, f.path, nil, "set route53: {hosted_zone_id: …} or external: true")
		return DNS{}, false
	}
	rs := p.mapping(rf.val, rf.path, "hosted_zone_id", "zone_name")
	if rs == nil {
		return DNS{}, false
	}
	ok := true
	if zf, has := rs["hosted_zone_id"]; !has {
		p.add(rf.val.Line, join(rf.path, "hosted_zone_id"), nil, "required: the Route53 hosted zone id, such as Z0123456789ABCDEFGHIJ")
		ok = false
	} else if s, sok := p.str(zf.val, zf.path); !sok {
		ok = false
	} else if !zoneIDRE.MatchString(s) {
		hint := ""
		if strings.HasPrefix(s, "/hostedzone/") {
			hint = " (leave out /hostedzone/)"
		}
		p.add(zf.val.Line, zf.path, nil, "%q is not a hosted zone id: Z and upper-case letters and digits%s", s, hint)
		ok = false
	} else {
		d.HostedZoneID = s
	}
	d.ZoneName = name
	if zf, has := rs["zone_name"]; has {
		s, sok := p.str(zf.val, zf.path)
		if !sok {
			return DNS{}, false
		}
		z, err := parseDomainName(s)
		if err != nil {
			p.add(zf.val.Line, zf.path, nil, "%v", err)
			return DNS{}, false
		}
		if name != "" && !underZone(name, z) {
			p.add(zf.val.Line, zf.path, nil, "%s is neither %s nor a parent of it", z, name)
			return DNS{}, false
		}
		d.ZoneName = z
	}
	return d, ok && len(p.errs) == before
}

// underZone reports whether name is zone or below it.
func underZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// completePolicy merges a domain's policy fields over the defaults and
// validates the result with mtasts. Errors are reported for the domain: at
// the field if the domain sets it, else at the domain's line. A warning
// about a value the domain took from defaults.policy is given once, at that
// value. A policy with a field already reported as wrong is not checked
// again.
func (p *parser) completePolicy(line int, path string, own, defaults policySpec) (mtasts.Policy, bool) {
	if own.bad || defaults.bad {
		return mtasts.Policy{}, false
	}
	pol := mtasts.Policy{Version: mtasts.Version, Mode: DefaultMode, MaxAge: DefaultMaxAge}
	for _, spec := range []policySpec{defaults, own} {
		if _, ok := spec.fields["mode"]; ok {
			pol.Mode = spec.mode
		}
		if _, ok := spec.fields["max_age"]; ok {
			pol.MaxAge = spec.maxAge
		}
		if _, ok := spec.fields["mx"]; ok {
			pol.MX = slices.Clone(spec.mx)
		}
	}
	ok := true
	if err := pol.Validate(); err != nil {
		ok = false
		// Validate joins one error per error Problem, in the same order.
		var causes []error
		if u, isJoin := err.(interface{ Unwrap() []error }); isJoin {
			causes = u.Unwrap()
		}
		n := 0
		for _, pr := range pol.Problems() {
			if pr.Severity != mtasts.SeverityError {
				continue
			}
			cause := err
			if n < len(causes) {
				cause = causes[n]
			}
			el, ef := problemAt(pr.Field, line, path, own)
			p.add(el, ef, cause, "%s", pr.Message)
			n++
		}
		if n == 0 {
			p.add(line, path, err, "%v", err)
		}
	}
	for _, pr := range pol.Problems() {
		if pr.Severity != mtasts.SeverityWarning {
			continue
		}
		wl, wf := problemAt(pr.Field, line, path, own)
		key, _, _ := strings.Cut(pr.Field, "[")
		if _, mine := own.fields[key]; !mine {
			if df, theirs := defaults.fields[key]; theirs {
				wl, wf = problemAt(pr.Field, df.val.Line, strings.TrimSuffix(df.path, "."+key), defaults)
			}
		}
		p.warnOnce(wl, wf, pr.Message)
	}
	return pol, ok
}

// problemAt places an mtasts Problem field ("mode", "mx", "mx[1]", or
// "policy" for the whole text) of the policy at path: at the line of the
// value in spec if it is set there (the item's, for "mx[i]"), else at line.
func problemAt(pf string, line int, path string, spec policySpec) (int, string) {
	if pf == "" || pf == "policy" {
		return line, path
	}
	key, idx, _ := strings.Cut(pf, "[")
	if f, ok := spec.fields[key]; ok {
		line = f.val.Line
		if i, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil && i >= 0 && i < len(f.val.Content) {
			line = f.val.Content[i].Line
		}
	}
	return line, join(path, pf)
}

// reporting parses the reporting section. At least one rua is required
// (RFC 8460 §3: rua is required).
func (p *parser) reporting(f field, domains []Domain) Reporting {
	var r Reporting
	fs := p.mapping(f.val, f.path, "https", "domain", "mailto", "extra_rua", "email")
	if fs == nil {
		return r
	}
	if hf, ok := fs["https"]; ok {
		r.HTTPS, _ = p.boolean(hf)
	}
	if df, ok := fs["domain"]; ok {
		if s, ok := p.str(df.val, df.path); ok {
			if name, ok := p.domainName(df, s); ok {
				switch {
				case !r.HTTPS:
					p.add(df.val.Line, df.path, nil, "is the HTTPS endpoint's domain; it needs https: true")
				case !slices.ContainsFunc(domains, func(d Domain) bool {
					return !d.DNS.External && underZone(name, d.DNS.ZoneName)
				}):
					p.add(df.val.Line, df.path, nil, "%s is not in the Route53 zone of a configured domain (its certificate and alias records go there)", name)
				case slices.ContainsFunc(domains, func(d Domain) bool { return name == d.Name || name == d.PolicyHost() }):
					p.add(df.val.Line, df.path, nil, "%s is a mail domain or policy host already; use a name of its own, such as tlsrpt.<domain>", name)
				default:
					r.Domain = name
				}
			}
		}
	}
	var mailto string
	if mf, ok := fs["mailto"]; ok {
		if s, ok := p.str(mf.val, mf.path); ok {
			if strings.HasPrefix(strings.ToLower(s), "mailto:") {
				p.add(mf.val.Line, mf.path, nil, "give the address without mailto:")
			} else if a, err := parseAddress(s); err != nil {
				p.add(mf.val.Line, mf.path, nil, "%v", err)
			} else {
				r.Mailto = a
				mailto = mailtoRUA(a).URI
			}
		}
	}
	if xf, ok := fs["extra_rua"]; ok {
		items := p.list(xf)
		seen := make(map[string]int)
		for i, it := range items {
			ip := index(xf.path, i)
			s, ok := p.str(it, ip)
			if !ok {
				continue
			}
			rua, err := tlsrpt.ParseRUA(s)
			if err != nil {
				p.add(it.Line, ip, err, "%v", err)
				continue
			}
			key := strings.ToLower(rua.String())
			if j, dup := seen[key]; dup {
				p.add(it.Line, ip, nil, "%s is listed twice (also extra_rua[%d])", s, j)
				continue
			}
			if mailto != "" && strings.EqualFold(rua.URI, mailto) {
				p.add(it.Line, ip, nil, "%s is reporting.mailto already", s)
				continue
			}
			seen[key] = i
			r.ExtraRUA = append(r.ExtraRUA, rua)
		}
	}
	// RFC 8460 §3: rua is required. A field given with an error has been
	// reported already and counts as given.
	hf, hasHTTPS := fs["https"]
	_, hasMailto := fs["mailto"]
	xf, hasExtra := fs["extra_rua"]
	httpsGiven := r.HTTPS || hasHTTPS && hf.val.ShortTag() != "!!bool"
	extraGiven := hasExtra && (xf.val.Kind != yaml.SequenceNode || len(xf.val.Content) > 0)
	if !httpsGiven && !hasMailto && !extraGiven {
		p.add(f.val.Line, f.path, nil, "no report destination: set https: true, mailto or extra_rua (RFC 8460 §3 requires a rua)")
	}
	return r
}

// checker parses the checker section; f.val is nil when it is absent.
func (p *parser) checker(f field) Checker {
	c := Checker{
		Schedule:             DefaultSchedule,
		ReadinessWindowDays:  DefaultReadinessWindowDays,
		ReadinessMinSessions: DefaultReadinessMinSessions,
	}
	if f.val == nil {
		return c
	}
	fs := p.mapping(f.val, f.path, "schedule", "alert_emails", "smtp_probe", "readiness")
	if sf, ok := fs["schedule"]; ok {
		if s, ok := p.str(sf.val, sf.path); ok {
			if err := checkSchedule(s); err != nil {
				p.add(sf.val.Line, sf.path, nil, "%v", err)
			} else {
				c.Schedule = s
			}
		}
	}
	if af, ok := fs["alert_emails"]; ok {
		items := p.list(af)
		seen := make(map[string]int)
		for i, it := range items {
			ip := index(af.path, i)
			s, ok := p.str(it, ip)
			if !ok {
				continue
			}
			a, err := parseAddress(s)
			if err != nil {
				p.add(it.Line, ip, nil, "%v", err)
				continue
			}
			if j, dup := seen[strings.ToLower(a)]; dup {
				p.add(it.Line, ip, nil, "%s is listed twice (also alert_emails[%d])", s, j)
				continue
			}
			seen[strings.ToLower(a)] = i
			c.AlertEmails = append(c.AlertEmails, a)
		}
	}
	if pf, ok := fs["smtp_probe"]; ok {
		c.SMTPProbe, _ = p.boolean(pf)
		if c.SMTPProbe {
			p.warn(pf.val.Line, pf.path, "AWS blocks outbound port 25 from Lambda unless the checker runs in a VPC behind a NAT gateway whose block AWS lifted on request")
		}
	}
	if rf, ok := fs["readiness"]; ok {
		rs := p.mapping(rf.val, rf.path, "window_days", "min_sessions")
		if wf, ok := rs["window_days"]; ok {
			if v, ok := p.integer(wf, 1, 366); ok {
				c.ReadinessWindowDays = int(v)
			}
		}
		if mf, ok := rs["min_sessions"]; ok {
			if v, ok := p.integer(mf, 1, 1<<53); ok {
				c.ReadinessMinSessions = v
			}
		}
	}
	return c
}
