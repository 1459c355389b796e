package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxErrors bounds the errors reported for one file; a file that bad is
// better fixed from the top.
const maxErrors = 100

// parser walks the YAML node tree, collecting errors and warnings with
// their line and field path. Each section of the file has a file of its
// own (parse.go for the top level, domains.go, policy.go, reporting.go,
// email.go, checker_section.go), and each reads the section's structure
// first, with the helpers of structure.go (which keys, which YAML kinds),
// and checks its values second.
type parser struct {
	file      string
	errs      []*Error
	warnings  []Warning
	warned    map[Warning]bool
	truncated bool
	// delegated are the domains with dns: delegated, where each says so.
	delegated []scalar
}

func (p *parser) add(line int, path string, cause error, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.truncated = true
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: path,
		Msg: fmt.Sprintf(format, args...), Err: cause, class: ErrInvalid})
}

// addAt is add for a problem with a scalar's value.
func (p *parser) addAt(s scalar, cause error, format string, args ...any) {
	p.add(s.line, s.path, cause, format, args...)
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
	sortByLine(len(p.errs), func(i int) int { return p.errs[i].Line }, func(i, j int) { p.errs[i], p.errs[j] = p.errs[j], p.errs[i] })
	ws := p.warnings
	sortByLine(len(ws), func(i int) int { return ws[i].Line }, func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
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

// sortByLine sorts n entries by line, keeping the order of entries on one
// line: line(i) is entry i's line, swap(i, j) swaps two entries. It is an
// insertion sort: the entries come mostly in line order and errors are at
// most maxErrors+1, and slices.SortStableFunc would link a merge sort for
// each element type into every function that loads the organisation file
// (about 7 KB of code in the policy bootstrap, docs/performance.md).
func sortByLine(n int, line func(i int) int, swap func(i, j int)) {
	for i := 1; i < n; i++ {
		for j := i; j > 0 && line(j) < line(j-1); j-- {
			swap(j, j-1)
		}
	}
}

// yamlLine splits the YAML library's syntax error text "yaml: line N: msg"
// (msg on one line) into N and msg: ^yaml: line (\d+): (.*)$.
func yamlLine(text string) (line, msg string, ok bool) {
	rest, ok := strings.CutPrefix(text, "yaml: line ")
	if !ok {
		return "", "", false
	}
	n := 0
	for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	msg, ok = strings.CutPrefix(rest[n:], ": ")
	if n == 0 || !ok || strings.Contains(msg, "\n") {
		return "", "", false
	}
	return rest[:n], msg, true
}

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
	if line, msg, ok := yamlLine(text); ok {
		e.Line, _ = strconv.Atoi(line)
		e.Msg = msg
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
