package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ststack/ststack/internal/mtasts"
)

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

// policyFields is the structure of a policy mapping: its fields, and the
// values that have the right YAML kind.
type policyFields struct {
	fields map[string]field
	mode   *scalar
	maxAge *field // a whole number
	mx     []item
}

// policy reads a policy mapping (RFC 8461 §3.2 fields, YAML-spelled):
// structure first, then values.
func (p *parser) policy(f field) policySpec {
	before := len(p.errs)
	pf := p.policyStructure(f)
	spec := p.policyValues(pf)
	spec.bad = len(p.errs) > before || p.truncated
	return spec
}

func (p *parser) policyStructure(f field) policyFields {
	fs := p.mapping(f.val, f.path, "mode", "max_age", "mx")
	pf := policyFields{fields: fs}
	if mf, ok := fs["mode"]; ok {
		if s, ok := p.text(mf); ok {
			pf.mode = &s
		}
	}
	if af, ok := fs["max_age"]; ok && p.wholeNumber(af) {
		pf.maxAge = &af
	}
	if xf, ok := fs["mx"]; ok {
		pf.mx = p.texts(xf)
	}
	return pf
}

func (p *parser) policyValues(pf policyFields) policySpec {
	spec := policySpec{fields: pf.fields}
	if s := pf.mode; s != nil {
		// RFC 8461 §3.2: mode is "enforce", "testing" or "none".
		if m := mtasts.Mode(s.text); m.Valid() {
			spec.mode = m
		} else {
			p.addAt(*s, mtasts.ErrPolicyMode, "%q is not enforce, testing or none", s.text)
		}
	}
	if pf.maxAge != nil {
		// RFC 8461 §3.2: max_age is a non-negative integer, at most 31557600.
		if v, ok := p.inRange(*pf.maxAge, 0, mtasts.MaxMaxAge); ok {
			spec.maxAge = int(v)
		}
	}
	seen := make(map[string]int, len(pf.mx))
	for _, it := range pf.mx {
		mx, err := parseMX(it.text)
		if err != nil {
			p.addAt(it.scalar, err, "%v", err)
			continue
		}
		key := mx.String()
		if j, dup := seen[key]; dup {
			p.addAt(it.scalar, nil, "%s is listed twice (also mx[%d])", key, j)
			continue
		}
		seen[key] = it.idx
		spec.mx = append(spec.mx, mx)
	}
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
