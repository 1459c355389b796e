package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/ststack/ststack/internal/mtasts"
)

// ErrEdit is returned (wrapped) by Edit when it cannot change a file
// safely: the layout is one it does not edit, or the result would not say
// what was asked.
var ErrEdit = errors.New("config: cannot edit the file safely")

// DomainEdit is what `ststack plan --apply` changes of one domain: its
// policy's mode and max_age and its stage_since. Zero fields are left as
// they are.
type DomainEdit struct {
	Domain     string      // A-label, as Config names it
	Mode       mtasts.Mode // "": unchanged
	MaxAge     int         // 0: unchanged
	StageSince time.Time   // zero: unchanged; a day (00:00 UTC)
}

// Edit applies edits to the organisation file data and returns the new
// file. Everything else stays byte for byte: the YAML node API finds where
// each value is, and only those bytes are replaced, or a key is inserted
// (into the domain's own policy, which is created as a flow mapping when
// the domain has none). The result is parsed again and must hold exactly
// the edited values with every other domain's policy unchanged; otherwise
// Edit returns an error wrapping ErrEdit and no file.
func Edit(data []byte, filename string, edits []DomainEdit) ([]byte, error) {
	before, err := Parse(data, filename)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: %s does not parse as one YAML document", ErrEdit, filename)
	}
	e := &editor{src: data, lines: lineStarts(data)}
	domains := mappingValue(doc.Content[0], "domains")
	if domains == nil || domains.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: %s has no domains list", ErrEdit, filename)
	}
	for _, de := range edits {
		item := findDomain(domains, de.Domain)
		if item == nil {
			return nil, fmt.Errorf("%w: %s has no domain %s", ErrEdit, filename, de.Domain)
		}
		if err := e.domain(item, de); err != nil {
			return nil, fmt.Errorf("%w: %s, domain %s: %v", ErrEdit, filename, de.Domain, err)
		}
	}
	out := e.apply()
	after, err := Parse(out, filename)
	if err != nil {
		return nil, fmt.Errorf("%w: the edited file does not validate: %v", ErrEdit, err)
	}
	if err := verifyEdit(before, after, edits); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrEdit, filename, err)
	}
	return out, nil
}

// verifyEdit checks that after differs from before in exactly the edits.
func verifyEdit(before, after *Config, edits []DomainEdit) error {
	if !slices.Equal(before.DomainNames(), after.DomainNames()) {
		return errors.New("the domains changed")
	}
	for _, b := range before.Domains {
		a, _ := after.Domain(b.Name)
		want, since := b.Policy, b.StageSince
		i := slices.IndexFunc(edits, func(e DomainEdit) bool { return e.Domain == b.Name })
		if i >= 0 {
			if b.Retiring() {
				return fmt.Errorf("%s is retiring: its policy is not edited", b.Name)
			}
			if edits[i].Mode != "" {
				want.Mode = edits[i].Mode
			}
			if edits[i].MaxAge != 0 {
				want.MaxAge = edits[i].MaxAge
			}
			if !edits[i].StageSince.IsZero() {
				since = edits[i].StageSince
			}
		}
		if a.Policy.String() != want.String() || !a.StageSince.Equal(since) {
			return fmt.Errorf("%s: the edited file gives policy %q since %v, want %q since %v",
				b.Name, a.Policy.String(), a.StageSince, want.String(), since)
		}
	}
	return nil
}

// splice replaces src[off:off+del] with ins.
type splice struct {
	off, del int
	ins      string
}

type editor struct {
	src     []byte
	lines   []int // byte offset of the start of each line (0-based index)
	splices []splice
}

func lineStarts(b []byte) []int {
	starts := []int{0}
	for i, c := range b {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset is the byte offset of a node's line and column (1-based; the
// column counts characters).
func (e *editor) offset(line, col int) (int, error) {
	if line < 1 || line > len(e.lines) {
		return 0, fmt.Errorf("line %d out of range", line)
	}
	off := e.lines[line-1]
	for c := 1; c < col; c++ {
		if off >= len(e.src) || e.src[off] == '\n' {
			return 0, fmt.Errorf("column %d of line %d out of range", col, line)
		}
		_, n := utf8.DecodeRune(e.src[off:])
		off += n
	}
	return off, nil
}

// domain plans the splices of one domain entry.
func (e *editor) domain(item *yaml.Node, de DomainEdit) error {
	var inserts []string // keys of the domain mapping to add
	policy := mappingValue(item, "policy")
	var polAdd []string
	for _, kv := range []struct{ key, val string }{
		{"mode", string(de.Mode)},
		{"max_age", strconv.Itoa(de.MaxAge)},
	} {
		if kv.val == "" || kv.val == "0" {
			continue
		}
		if policy != nil {
			if v := mappingValue(policy, kv.key); v != nil {
				if err := e.replace(v, kv.val); err != nil {
					return fmt.Errorf("policy.%s: %v", kv.key, err)
				}
				continue
			}
		}
		polAdd = append(polAdd, kv.key+": "+kv.val)
	}
	if len(polAdd) > 0 {
		if policy != nil {
			if err := e.insert(policy, polAdd); err != nil {
				return fmt.Errorf("policy: %v", err)
			}
		} else {
			inserts = append(inserts, "policy: { "+strings.Join(polAdd, ", ")+" }")
		}
	}
	if !de.StageSince.IsZero() {
		day := de.StageSince.UTC().Format(DateLayout)
		if v := mappingValue(item, "stage_since"); v != nil {
			if err := e.replace(v, day); err != nil {
				return fmt.Errorf("stage_since: %v", err)
			}
		} else {
			inserts = append(inserts, "stage_since: "+day)
		}
	}
	if len(inserts) > 0 {
		return e.insert(item, inserts)
	}
	return nil
}

// replace plans the replacement of scalar node v's text by val, keeping
// its quotes.
func (e *editor) replace(v *yaml.Node, val string) error {
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: not a single value", v.Line)
	}
	off, err := e.offset(v.Line, v.Column)
	if err != nil {
		return err
	}
	var n int
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0, v.Style&yaml.SingleQuotedStyle != 0:
		q := e.src[off]
		end := bytes.IndexByte(e.src[off+1:], q)
		if end < 0 || bytes.ContainsAny(e.src[off+1:off+1+end], "\\\n") {
			return fmt.Errorf("line %d: a quoted value this editor does not change", v.Line)
		}
		n = end + 2
		val = string(q) + val + string(q)
	case v.Style == 0 || v.Style == yaml.TaggedStyle:
		if !bytes.HasPrefix(e.src[off:], []byte(v.Value)) {
			return fmt.Errorf("line %d: the value is not written as %q", v.Line, v.Value)
		}
		n = len(v.Value)
	default:
		return fmt.Errorf("line %d: a block value this editor does not change", v.Line)
	}
	e.splices = append(e.splices, splice{off: off, del: n, ins: val})
	return nil
}

// insert plans the insertion of "key: value" fields into mapping m: in a
// flow mapping after its "{", in a block mapping before its first key when
// that key starts its line, else on new lines after the mapping's last
// line, at the indentation of its keys.
func (e *editor) insert(m *yaml.Node, fields []string) error {
	if m.Kind != yaml.MappingNode || len(m.Content) == 0 {
		return fmt.Errorf("line %d: not a mapping with keys", m.Line)
	}
	if m.Style&yaml.FlowStyle != 0 {
		off, err := e.offset(m.Line, m.Column)
		if err != nil {
			return err
		}
		if off >= len(e.src) || e.src[off] != '{' {
			return fmt.Errorf("line %d: no { where the mapping starts", m.Line)
		}
		off++
		for off < len(e.src) && e.src[off] == ' ' {
			off++
		}
		e.splices = append(e.splices, splice{off: off, ins: strings.Join(fields, ", ") + ", "})
		return nil
	}
	first := m.Content[0]
	keyOff, err := e.offset(first.Line, first.Column)
	if err != nil {
		return err
	}
	indent := strings.Repeat(" ", first.Column-1)
	lineStart := e.lines[first.Line-1]
	if strings.TrimLeft(string(e.src[lineStart:keyOff]), " ") == "" {
		var b strings.Builder
		for _, f := range fields {
			b.WriteString(indent + f + "\n")
		}
		e.splices = append(e.splices, splice{off: lineStart, ins: b.String()})
		return nil
	}
	last := lastLine(m)
	if last >= len(e.lines) {
		return fmt.Errorf("line %d: the mapping ends the file without a newline", last)
	}
	end := e.lines[last] // start of the line after the mapping's last line
	if flowOpen(m) {
		return fmt.Errorf("line %d: a flow collection over several lines ends the mapping", last)
	}
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(indent + f + "\n")
	}
	e.splices = append(e.splices, splice{off: end, ins: b.String()})
	return nil
}

// lastLine is the last line of any node below n.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// flowOpen reports whether the last value of mapping m is a flow
// collection, whose closing bracket lastLine does not see.
func flowOpen(m *yaml.Node) bool {
	v := m.Content[len(m.Content)-1]
	for v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode {
		if v.Style&yaml.FlowStyle != 0 {
			return lastLine(v) > v.Line
		}
		if len(v.Content) == 0 {
			return false
		}
		v = v.Content[len(v.Content)-1]
	}
	return false
}

// apply returns src with the splices applied.
func (e *editor) apply() []byte {
	sp := slices.Clone(e.splices)
	slices.SortStableFunc(sp, func(a, b splice) int { return b.off - a.off })
	out := slices.Clone(e.src)
	for _, s := range sp {
		out = slices.Concat(out[:s.off], []byte(s.ins), out[s.off+s.del:])
	}
	return out
}

// mappingValue returns the value of key in mapping m; nil if m is not a
// mapping or has no such key.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// findDomain returns the entry of the domains list named domain (A-label).
func findDomain(domains *yaml.Node, domain string) *yaml.Node {
	for _, it := range domains.Content {
		n := mappingValue(it, "name")
		if n == nil || n.Kind != yaml.ScalarNode {
			continue
		}
		if a, err := toALabel(n.Value); err == nil && a == domain {
			return it
		}
	}
	return nil
}
