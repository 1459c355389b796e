package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads the structure of the file: which keys a mapping has, and
// whether a value is a string, a boolean, a whole number or a list. What
// the values mean is checked by each section afterwards.

// field is one key of a mapping and its value.
type field struct {
	key, val *yaml.Node
	path     string
}

// scalar is a value as the file spells it, and where it is.
type scalar struct {
	text string
	line int
	path string
}

// item is one string of a list, and its index in the list's paths.
type item struct {
	scalar
	idx int
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

// child returns the field key of the mapping f, if f is a mapping that has
// it. Unknown and duplicate keys are reported by whoever parses f.
func child(f field, key string) (field, bool) {
	if f.val == nil || f.val.Kind != yaml.MappingNode {
		return field{}, false
	}
	for i := 0; i+1 < len(f.val.Content); i += 2 {
		if k := f.val.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return field{key: k, val: f.val.Content[i+1], path: join(f.path, key)}, true
		}
	}
	return field{}, false
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

// text is str for a field, keeping where the value is.
func (p *parser) text(f field) (scalar, bool) {
	s, ok := p.str(f.val, f.path)
	return scalar{text: s, line: f.val.Line, path: f.path}, ok
}

// day returns a value written as a day (YAML resolves 2026-12-06 to a
// timestamp) or a string; what it says is checked by parseDay.
func (p *parser) day(f field) (scalar, bool) {
	if f.val.Kind == yaml.ScalarNode && f.val.ShortTag() == "!!timestamp" {
		return scalar{text: f.val.Value, line: f.val.Line, path: f.path}, true
	}
	return p.text(f)
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

// wholeNumber reports whether f's value is written as a whole number; its
// range is checked by inRange.
func (p *parser) wholeNumber(f field) bool {
	if f.val.Kind != yaml.ScalarNode || f.val.ShortTag() != "!!int" {
		p.add(f.val.Line, f.path, nil, "must be a whole number, not %s", describe(f.val))
		return false
	}
	return true
}

// inRange returns the whole number f (as wholeNumber accepted it) if it
// is lo to hi.
func (p *parser) inRange(f field, lo, hi int64) (int64, bool) {
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

// texts returns the strings of a list, leaving out (and reporting) items
// that are not strings. An item's index counts the items list returned.
func (p *parser) texts(f field) []item {
	var out []item
	for i, it := range p.list(f) {
		ip := index(f.path, i)
		if s, ok := p.str(it, ip); ok {
			out = append(out, item{scalar: scalar{text: s, line: it.Line, path: ip}, idx: i})
		}
	}
	return out
}
