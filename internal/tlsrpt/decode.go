package tlsrpt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The report is decoded in a single pass over the bytes by a small JSON
// scanner that knows the RFC 8460 §4.4 shape: no reflection, no intermediate
// tree, strings allocated only for the values kept, nesting depth and element
// counts checked as they are met. Unknown members are skipped (their syntax
// still checked). Every leniency the decoder allows is in quirks.go.

// loc says where in a report a field is, for error and quirk paths.
type loc uint8

const (
	locTop       loc = iota // the report object
	locDateRange            // date-range
	locResult               // policies[i]
	locPolicy               // policies[i].policy
	locSummary              // policies[i].summary
	locDetail               // policies[i].failure-details[j]
)

// Member names of each object, RFC 8460 §4.4.
var (
	reportKeys  = [...]string{"organization-name", "date-range", "contact-info", "report-id", "policies"}
	rangeKeys   = [...]string{"start-datetime", "end-datetime"}
	resultKeys  = [...]string{"policy", "summary", "failure-details"}
	policyKeys  = [...]string{"policy-type", "policy-string", "policy-domain", "mx-host"}
	summaryKeys = [...]string{"total-successful-session-count", "total-failure-session-count"}
	detailKeys  = [...]string{"result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
		"receiving-ip", "failed-session-count", "additional-information", "failure-reason-code", keyAdditionalInfoURI}
)

type decoder struct {
	data     []byte
	pos      int
	depth    int
	lim      Limits
	nDetails int // failure details so far, over all policies
	pi, fi   int // index of the current policy and failure detail, for paths
	scratch  []byte
	quirks   []quirk
	// Values that failure details repeat, normalised and allocated once.
	hosts, ips, texts memo
}

// memo remembers the strings last made from some bytes.
type memo struct {
	raw, val [8]string
	n        int
}

func (m *memo) get(b []byte) (string, bool) {
	for i := range min(m.n, len(m.raw)) {
		if m.raw[i] == string(b) {
			return m.val[i], true
		}
	}
	return "", false
}

func (m *memo) put(b []byte, val string) {
	raw := val
	if val != string(b) {
		raw = string(b)
	}
	i := m.n % len(m.raw)
	m.raw[i], m.val[i] = raw, val
	m.n++
}

func decodeReport(data []byte, lim Limits) (*Report, error) {
	d := decoder{data: data, lim: lim}
	d.skipBOM()
	switch c := d.peek(); {
	case d.pos >= len(d.data):
		return nil, d.syntax(locTop, "", "empty input, want a JSON object")
	case c == '{':
	case kindName(c) != "" && json.Valid(d.data[d.pos:]):
		// Say what the document is only when it is JSON: "notgzip" is
		// not null.
		return nil, d.syntax(locTop, "", "not a JSON object: the document is "+kindName(c))
	default:
		return nil, d.syntax(locTop, "", "not JSON (or gzip): starts with "+strconv.QuoteRune(rune(c)))
	}
	r := &Report{}
	if err := d.report(r); err != nil {
		return nil, err
	}
	d.ws()
	if d.pos < len(d.data) {
		return nil, d.syntax(locTop, "", "trailing data after the report object")
	}
	r.Quirks = d.quirkList()
	return r, nil
}

// path returns the JSON path of field at l, e.g.
// "policies[0].summary.total-failure-session-count".
func (d *decoder) path(l loc, field string) string {
	var b []byte
	switch l {
	case locDateRange:
		b = append(b, "date-range"...)
	case locResult, locPolicy, locSummary, locDetail:
		b = append(b, "policies["...)
		b = strconv.AppendInt(b, int64(d.pi), 10)
		b = append(b, ']')
		switch l {
		case locPolicy:
			b = append(b, ".policy"...)
		case locSummary:
			b = append(b, ".summary"...)
		case locDetail:
			b = append(b, ".failure-details["...)
			b = strconv.AppendInt(b, int64(d.fi), 10)
			b = append(b, ']')
		}
	}
	if field != "" {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, field...)
	}
	return string(b)
}

func (d *decoder) syntax(l loc, field, msg string) error {
	return &ReportError{Err: ErrMalformed, Path: d.path(l, field), Offset: d.pos, Msg: msg}
}

func (d *decoder) invalid(l loc, field, msg string) error {
	return &ReportError{Err: ErrInvalid, Path: d.path(l, field), Offset: -1, Msg: msg}
}

// withIndex appends "[i]" to the path of a ReportError: for elements of
// string arrays, whose path is only built when there is an error.
func withIndex(err error, i int) error {
	if e, ok := err.(*ReportError); ok {
		e.Path += "[" + strconv.Itoa(i) + "]"
	}
	return err
}

// kindName names the JSON value starting with c, "" if none does.
func kindName(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return ""
}

// typeErr reports a value of the wrong type, or a syntax error if no value
// starts at c.
func (d *decoder) typeErr(c byte, l loc, field, want string) error {
	k := kindName(c)
	switch {
	case c == 0 && d.pos >= len(d.data):
		return d.syntax(l, field, "unexpected end of input")
	case k == "":
		return d.syntax(l, field, "invalid character "+strconv.QuoteRune(rune(c))+" looking for a value")
	case c == 't' || c == 'f' || c == 'n':
		if err := d.skip(l, field); err != nil {
			return err // not a valid literal
		}
	}
	return d.invalid(l, field, "expected "+want+", got "+k)
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// enter consumes the "{" or "[" at pos, one level deeper.
func (d *decoder) enter(l loc, field string) error {
	d.depth++
	if d.depth > d.lim.MaxDepth {
		return &ReportError{Err: ErrTooDeep, Path: d.path(l, field), Offset: d.pos,
			Msg: "JSON nested more than " + strconv.Itoa(d.lim.MaxDepth) + " levels deep"}
	}
	d.pos++
	return nil
}

// member moves to the next member of an object: it returns the member's name
// (valid until the next string is read) with the ":" consumed, or ok false
// when the object ends.
func (d *decoder) member(first bool, l loc, field string) (key []byte, ok bool, err error) {
	c := d.peek()
	if c == '}' {
		d.pos++
		d.depth--
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, d.syntax(l, field, "expected \",\" or \"}\" after object member")
		}
		d.pos++
		c = d.peek()
	}
	if c != '"' {
		return nil, false, d.syntax(l, field, "expected a member name (a string)")
	}
	key, err = d.str(l, field)
	if err != nil {
		return nil, false, err
	}
	if d.peek() != ':' {
		return nil, false, d.syntax(l, field, "expected \":\" after member name")
	}
	d.pos++
	return key, true, nil
}

// elem moves to the next element of an array; ok is false when it ends.
func (d *decoder) elem(first bool, l loc, field string) (ok bool, err error) {
	c := d.peek()
	if c == ']' {
		d.pos++
		d.depth--
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, d.syntax(l, field, "expected \",\" or \"]\" after array element")
		}
		d.pos++
	}
	return true, nil
}

// plainByte tells the bytes a string can hold as they are: printable ASCII
// other than the quote and the backslash (RFC 8259 §7).
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes the string at pos and returns its decoded bytes, which stay
// valid until the next string is read. Invalid UTF-8 and lone surrogates
// become U+FFFD, as with encoding/json.
func (d *decoder) str(l loc, field string) ([]byte, error) {
	data := d.data
	start := d.pos + 1
	i := start
	for i < len(data) && plainByte[data[i]] {
		i++
	}
	if i < len(data) && data[i] == '"' {
		d.pos = i + 1
		return data[start:i], nil
	}
	escaped, nonASCII := false, false
	for {
		if i >= len(data) {
			d.pos = len(data)
			return nil, d.syntax(l, field, "unterminated string")
		}
		c := data[i]
		switch {
		case c == '"':
		case c == '\\':
			escaped = true
			i += 2
			continue
		case c < 0x20:
			d.pos = i
			return nil, d.syntax(l, field, "control character in string")
		case c >= 0x80:
			nonASCII = true
			fallthrough
		default:
			i++
			continue
		}
		break
	}
	seg := data[start:i]
	if !escaped && (!nonASCII || utf8.Valid(seg)) {
		d.pos = i + 1
		return seg, nil
	}
	return d.unescape(start, l, field)
}

// unescape decodes the string starting at start (after the quote) into
// d.scratch. str has made sure it ends.
func (d *decoder) unescape(start int, l loc, field string) ([]byte, error) {
	b := d.scratch[:0]
	i := start
	for {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = b
			return b, nil
		case c == '\\':
			i++
			switch e := d.data[i]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d.data[i+1:])
				if !ok {
					d.pos = i - 1
					return nil, d.syntax(l, field, "invalid \\u escape in string")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := u4(d.data[i+1:])
					if dec := utf16.DecodeRune(r, r2); ok && dec != unicode.ReplacementChar {
						r = dec
						i += 6
					} else {
						r = unicode.ReplacementChar
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i - 1
				return nil, d.syntax(l, field, "invalid escape "+strconv.Quote(string([]byte{'\\', e}))+" in string")
			}
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, d.data[i:i+n]...)
			}
			i += n
		}
	}
}

// u4 decodes a "\uXXXX" escape.
func u4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	return hex4(b[2:])
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num consumes the number at pos (RFC 8259 §6 grammar) and returns its text.
func (d *decoder) num(l loc, field string) ([]byte, error) {
	start, i, n := d.pos, d.pos, len(d.data)
	if i < n && d.data[i] == '-' {
		i++
	}
	switch {
	case i < n && d.data[i] == '0':
		i++
	case i < n && d.data[i] >= '1' && d.data[i] <= '9':
		for i < n && isDigit(d.data[i]) {
			i++
		}
	default:
		d.pos = i
		return nil, d.syntax(l, field, "invalid number")
	}
	if i < n && d.data[i] == '.' {
		i++
		if i >= n || !isDigit(d.data[i]) {
			d.pos = i
			return nil, d.syntax(l, field, "invalid number: no digit after \".\"")
		}
		for i < n && isDigit(d.data[i]) {
			i++
		}
	}
	if i < n && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < n && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if i >= n || !isDigit(d.data[i]) {
			d.pos = i
			return nil, d.syntax(l, field, "invalid number: no digit in exponent")
		}
		for i < n && isDigit(d.data[i]) {
			i++
		}
	}
	d.pos = i
	return d.data[start:i], nil
}

// literal consumes true, false or null.
func (d *decoder) literal(word string, l loc, field string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		return d.syntax(l, field, "invalid literal, want "+word)
	}
	d.pos += len(word)
	return nil
}

// null consumes a null value if there is one.
func (d *decoder) null() bool {
	if d.peek() == 'n' && bytes.HasPrefix(d.data[d.pos:], []byte("null")) {
		d.pos += 4
		return true
	}
	return false
}

// skip consumes one value of any kind, checking its syntax and depth.
func (d *decoder) skip(l loc, field string) error {
	switch c := d.peek(); c {
	case '{':
		if err := d.enter(l, field); err != nil {
			return err
		}
		for first := true; ; first = false {
			_, ok, err := d.member(first, l, field)
			if err != nil || !ok {
				return err
			}
			if err := d.skip(l, field); err != nil {
				return err
			}
		}
	case '[':
		if err := d.enter(l, field); err != nil {
			return err
		}
		for first := true; ; first = false {
			ok, err := d.elem(first, l, field)
			if err != nil || !ok {
				return err
			}
			if err := d.skip(l, field); err != nil {
				return err
			}
		}
	case '"':
		_, err := d.str(l, field)
		return err
	case 't':
		return d.literal("true", l, field)
	case 'f':
		return d.literal("false", l, field)
	case 'n':
		return d.literal("null", l, field)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, err := d.num(l, field)
		return err
	default:
		return d.typeErr(c, l, field, "a value")
	}
}

// text reads a string value.
func (d *decoder) text(l loc, field string) ([]byte, error) {
	if c := d.peek(); c != '"' {
		return nil, d.typeErr(c, l, field, "a string")
	}
	return d.str(l, field)
}

// optText reads an optional string value: null is taken as absent.
func (d *decoder) optText(l loc, field string) (string, error) {
	if d.null() {
		d.quirkNull(l, field)
		return "", nil
	}
	b, err := d.text(l, field)
	if err != nil {
		return "", err
	}
	v, ok := d.texts.get(b)
	if !ok {
		v = string(b)
		d.texts.put(b, v)
	}
	return v, nil
}

// count reads a session count: a non-negative integer of at most 2^53
// (RFC 8460 §4.4 counts; I-JSON, RFC 7493 §2.2, for the bound).
func (d *decoder) count(l loc, field string) (int64, error) {
	if c := d.peek(); c != '-' && !isDigit(c) {
		return 0, d.typeErr(c, l, field, "a number")
	}
	t, err := d.num(l, field)
	if err != nil {
		return 0, err
	}
	v, notation, msg := countValue(t)
	if msg != "" {
		return 0, d.invalid(l, field, msg)
	}
	if notation {
		d.quirkNumber(l, field, t)
	}
	return v, nil
}

// seen marks a member as seen in mask and records a quirk when it was seen
// before (the later one wins).
func (d *decoder) seen(mask *uint16, bit uint16, l loc, field string) {
	if *mask&bit != 0 {
		d.quirkDuplicate(l, field)
	}
	*mask |= bit
}

func (d *decoder) report(r *Report) error {
	if err := d.enter(locTop, ""); err != nil {
		return err
	}
	var seen uint16
	const (
		bOrg uint16 = 1 << iota
		bRange
		bContact
		bID
		bPolicies
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locTop, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k := d.key(kb, reportKeys[:], locTop); k {
		case "organization-name":
			d.seen(&seen, bOrg, locTop, k)
			b, err := d.text(locTop, k)
			if err != nil {
				return err
			}
			r.OrganizationName = string(b)
		case "date-range":
			d.seen(&seen, bRange, locTop, k)
			if err := d.dateRange(r); err != nil {
				return err
			}
		case "contact-info":
			d.seen(&seen, bContact, locTop, k)
			if r.ContactInfo, err = d.optText(locTop, k); err != nil {
				return err
			}
		case "report-id":
			d.seen(&seen, bID, locTop, k)
			b, err := d.text(locTop, k)
			if err != nil {
				return err
			}
			r.ReportID = string(b)
		case "policies":
			d.seen(&seen, bPolicies, locTop, k)
			if err := d.policies(r); err != nil {
				return err
			}
		default:
			if err := d.skip(locTop, string(kb)); err != nil {
				return err
			}
		}
	}
	// RFC 8460 §4.4: organization-name, date-range, report-id and policies
	// are required; contact-info too, but its absence loses nothing.
	switch {
	case seen&bOrg == 0:
		return d.invalid(locTop, "organization-name", "missing")
	case strings.TrimSpace(r.OrganizationName) == "":
		return d.invalid(locTop, "organization-name", "empty")
	case seen&bRange == 0:
		return d.invalid(locTop, "date-range", "missing")
	case seen&bID == 0:
		return d.invalid(locTop, "report-id", "missing")
	case strings.TrimSpace(r.ReportID) == "":
		return d.invalid(locTop, "report-id", "empty")
	case seen&bPolicies == 0:
		return d.invalid(locTop, "policies", "missing")
	}
	if seen&bContact == 0 {
		d.quirkMissing(locTop, "contact-info")
	}
	return nil
}

func (d *decoder) dateRange(r *Report) error {
	if c := d.peek(); c != '{' {
		return d.typeErr(c, locTop, "date-range", "an object")
	}
	if err := d.enter(locTop, "date-range"); err != nil {
		return err
	}
	var seen uint16
	const (
		bStart uint16 = 1 << iota
		bEnd
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locDateRange, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k := d.key(kb, rangeKeys[:], locDateRange)
		switch k {
		case "start-datetime", "end-datetime":
			bit, dst := bStart, &r.Start
			if k == "end-datetime" {
				bit, dst = bEnd, &r.End
			}
			d.seen(&seen, bit, locDateRange, k)
			b, err := d.text(locDateRange, k)
			if err != nil {
				return err
			}
			if *dst, err = d.dateTime(b, k); err != nil {
				return err
			}
		default:
			if err := d.skip(locDateRange, string(kb)); err != nil {
				return err
			}
		}
	}
	// RFC 8460 §4.4: both ends of the range are required.
	switch {
	case seen&bStart == 0:
		return d.invalid(locDateRange, "start-datetime", "missing")
	case seen&bEnd == 0:
		return d.invalid(locDateRange, "end-datetime", "missing")
	case r.Start.After(r.End):
		return d.invalid(locTop, "date-range", "start-datetime "+r.Start.Format(timeLayout)+" is after end-datetime "+r.End.Format(timeLayout))
	}
	return nil
}

func (d *decoder) policies(r *Report) error {
	if c := d.peek(); c != '[' {
		return d.typeErr(c, locTop, "policies", "an array")
	}
	if err := d.enter(locTop, "policies"); err != nil {
		return err
	}
	r.Policies = nil
	for i := 0; ; i++ {
		ok, err := d.elem(i == 0, locTop, "policies")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if len(r.Policies) >= d.lim.MaxPolicies {
			return &ReportError{Err: ErrTooMany, Path: "policies", Offset: d.pos,
				Msg: "more than " + strconv.Itoa(d.lim.MaxPolicies) + " policies"}
		}
		d.pi = i
		r.Policies = append(r.Policies, PolicyResult{})
		if err := d.policyResult(&r.Policies[i]); err != nil {
			return err
		}
	}
	if len(r.Policies) == 0 {
		return d.invalid(locTop, "policies", "empty; a report has at least one policy (RFC 8460 §4.4)")
	}
	return nil
}

func (d *decoder) policyResult(p *PolicyResult) error {
	if c := d.peek(); c != '{' {
		return d.typeErr(c, locResult, "", "an object")
	}
	if err := d.enter(locResult, ""); err != nil {
		return err
	}
	var seen uint16
	const (
		bPolicy uint16 = 1 << iota
		bSummary
		bDetails
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locResult, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k := d.key(kb, resultKeys[:], locResult); k {
		case "policy":
			d.seen(&seen, bPolicy, locResult, k)
			err = d.policy(p)
		case "summary":
			d.seen(&seen, bSummary, locResult, k)
			err = d.summary(p)
		case "failure-details":
			d.seen(&seen, bDetails, locResult, k)
			err = d.failureDetails(p)
		default:
			err = d.skip(locResult, string(kb))
		}
		if err != nil {
			return err
		}
	}
	// RFC 8460 §4.4: policy and summary are required, failure-details
	// optional.
	switch {
	case seen&bPolicy == 0:
		return d.invalid(locResult, "policy", "missing")
	case seen&bSummary == 0:
		return d.invalid(locResult, "summary", "missing")
	}
	d.checkFailureSum(p)
	return nil
}

func (d *decoder) policy(p *PolicyResult) error {
	if c := d.peek(); c != '{' {
		return d.typeErr(c, locResult, "policy", "an object")
	}
	if err := d.enter(locResult, "policy"); err != nil {
		return err
	}
	p.Type, p.Domain, p.PolicyStrings, p.MXHosts = "", "", nil, nil
	var seen uint16
	const (
		bType uint16 = 1 << iota
		bStrings
		bDomain
		bMX
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locPolicy, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k := d.key(kb, policyKeys[:], locPolicy); k {
		case "policy-type":
			d.seen(&seen, bType, locPolicy, k)
			b, err := d.text(locPolicy, k)
			if err != nil {
				return err
			}
			if p.Type, err = d.policyType(b); err != nil {
				return err
			}
		case "policy-string":
			d.seen(&seen, bStrings, locPolicy, k)
			if p.PolicyStrings, err = d.stringList(locPolicy, k); err != nil {
				return err
			}
		case "policy-domain":
			d.seen(&seen, bDomain, locPolicy, k)
			b, err := d.text(locPolicy, k)
			if err != nil {
				return err
			}
			if p.Domain, err = d.host(b, false, locPolicy, k); err != nil {
				return err
			}
		case "mx-host":
			d.seen(&seen, bMX, locPolicy, k)
			if p.MXHosts, err = d.mxHost(); err != nil {
				return err
			}
		default:
			if err := d.skip(locPolicy, string(kb)); err != nil {
				return err
			}
		}
	}
	// RFC 8460 §4.4: policy-type and policy-domain are required.
	switch {
	case seen&bType == 0:
		return d.invalid(locPolicy, "policy-type", "missing")
	case seen&bDomain == 0:
		return d.invalid(locPolicy, "policy-domain", "missing")
	}
	return nil
}

// stringList reads an array of strings; null is taken as absent, an empty
// array gives nil.
func (d *decoder) stringList(l loc, field string) ([]string, error) {
	if d.null() {
		d.quirkNull(l, field)
		return nil, nil
	}
	if c := d.peek(); c != '[' {
		return nil, d.typeErr(c, l, field, "an array of strings")
	}
	if err := d.enter(l, field); err != nil {
		return nil, err
	}
	var out []string
	for j := 0; ; j++ {
		ok, err := d.elem(j == 0, l, field)
		if err != nil {
			return nil, withIndex(err, j)
		}
		if !ok {
			return out, nil
		}
		b, err := d.text(l, field)
		if err != nil {
			return nil, withIndex(err, j)
		}
		out = append(out, string(b))
	}
}

func (d *decoder) summary(p *PolicyResult) error {
	if c := d.peek(); c != '{' {
		return d.typeErr(c, locResult, "summary", "an object")
	}
	if err := d.enter(locResult, "summary"); err != nil {
		return err
	}
	var seen uint16
	const (
		bSuccess uint16 = 1 << iota
		bFailure
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locSummary, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k := d.key(kb, summaryKeys[:], locSummary); k {
		case "total-successful-session-count":
			d.seen(&seen, bSuccess, locSummary, k)
			p.Success, err = d.count(locSummary, k)
		case "total-failure-session-count":
			d.seen(&seen, bFailure, locSummary, k)
			p.Failure, err = d.count(locSummary, k)
		default:
			err = d.skip(locSummary, string(kb))
		}
		if err != nil {
			return err
		}
	}
	// RFC 8460 §4.4: both totals are required.
	switch {
	case seen&bSuccess == 0:
		return d.invalid(locSummary, "total-successful-session-count", "missing")
	case seen&bFailure == 0:
		return d.invalid(locSummary, "total-failure-session-count", "missing")
	}
	return nil
}

func (d *decoder) failureDetails(p *PolicyResult) error {
	p.Failures = nil
	if d.null() {
		d.quirkNull(locResult, "failure-details")
		return nil
	}
	if c := d.peek(); c != '[' {
		return d.typeErr(c, locResult, "failure-details", "an array")
	}
	if err := d.enter(locResult, "failure-details"); err != nil {
		return err
	}
	for j := 0; ; j++ {
		ok, err := d.elem(j == 0, locResult, "failure-details")
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if d.nDetails >= d.lim.MaxFailureDetails {
			return &ReportError{Err: ErrTooMany, Path: d.path(locResult, "failure-details"), Offset: d.pos,
				Msg: "more than " + strconv.Itoa(d.lim.MaxFailureDetails) + " failure details in the report"}
		}
		d.nDetails++
		d.fi = j
		p.Failures = append(p.Failures, FailureDetail{})
		if err := d.failureDetail(&p.Failures[j]); err != nil {
			return err
		}
	}
}

func (d *decoder) failureDetail(f *FailureDetail) error {
	if c := d.peek(); c != '{' {
		return d.typeErr(c, locDetail, "", "an object")
	}
	if err := d.enter(locDetail, ""); err != nil {
		return err
	}
	var seen uint16
	const (
		bType uint16 = 1 << iota
		bSending
		bMXName
		bHelo
		bReceiving
		bCount
		bInfo
		bReason
		bInfoURI
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locDetail, "")
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k := d.key(kb, detailKeys[:], locDetail); k {
		case "result-type":
			d.seen(&seen, bType, locDetail, k)
			b, err := d.text(locDetail, k)
			if err != nil {
				return err
			}
			if f.ResultType, err = d.resultType(b); err != nil {
				return err
			}
		case "sending-mta-ip":
			d.seen(&seen, bSending, locDetail, k)
			f.SendingMTAIP, err = d.ip(k)
		case "receiving-ip":
			d.seen(&seen, bReceiving, locDetail, k)
			f.ReceivingIP, err = d.ip(k)
		case "receiving-mx-hostname":
			d.seen(&seen, bMXName, locDetail, k)
			f.ReceivingMXHostname = ""
			if d.null() {
				d.quirkNull(locDetail, k)
				break
			}
			var b []byte
			if b, err = d.text(locDetail, k); err == nil && len(b) > 0 {
				f.ReceivingMXHostname, err = d.host(b, false, locDetail, k)
			}
		case "receiving-mx-helo":
			d.seen(&seen, bHelo, locDetail, k)
			f.ReceivingMXHelo, err = d.optText(locDetail, k)
		case "failed-session-count":
			d.seen(&seen, bCount, locDetail, k)
			f.Count, err = d.count(locDetail, k)
		case "additional-information":
			d.seen(&seen, bInfo, locDetail, k)
			f.AdditionalInfo, err = d.optText(locDetail, k)
		case keyAdditionalInfoURI:
			d.seen(&seen, bInfoURI, locDetail, k)
			err = d.additionalInfoURI(f, seen&bInfo != 0)
		case "failure-reason-code":
			d.seen(&seen, bReason, locDetail, k)
			f.ReasonCode, err = d.optText(locDetail, k)
		default:
			err = d.skip(locDetail, string(kb))
		}
		if err != nil {
			return err
		}
	}
	// RFC 8460 §4.4: result-type and failed-session-count are what a
	// failure detail means; the addresses are tolerated missing.
	switch {
	case seen&bType == 0:
		return d.invalid(locDetail, "result-type", "missing")
	case seen&bCount == 0:
		return d.invalid(locDetail, "failed-session-count", "missing")
	}
	if f.SendingMTAIP == "" {
		d.quirkMissing(locDetail, "sending-mta-ip")
	}
	// A policy that could not be fetched or used (RFC 8460 §4.3.2) means
	// no connection to an MX host was attempted.
	if !f.ResultType.IsSTS() {
		if f.ReceivingIP == "" {
			d.quirkMissing(locDetail, "receiving-ip")
		}
		if f.ReceivingMXHostname == "" {
			d.quirkMissing(locDetail, "receiving-mx-hostname")
		}
	}
	return nil
}

// ip reads an optional IP address field and returns its canonical form.
func (d *decoder) ip(field string) (string, error) {
	if d.null() {
		d.quirkNull(locDetail, field)
		return "", nil
	}
	b, err := d.text(locDetail, field)
	if err != nil || len(b) == 0 {
		return "", err
	}
	if v, ok := d.ips.get(b); ok {
		return v, nil
	}
	s := string(b)
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", d.invalid(locDetail, field, fmt.Sprintf("invalid IP address %q", s))
	}
	// ParseAddr takes IPv4 only in canonical form (no leading zeros).
	if !a.Is4() {
		var buf [48]byte
		if c := a.Unmap().AppendTo(buf[:0]); string(c) != s {
			s = string(c)
		}
	}
	d.ips.put(b, s)
	return s, nil
}

// host normalises a domain name to lower case, without a trailing dot, as
// A-labels; with wildcard, a leading "*." is allowed (an mx pattern, RFC 8461
// §3.2).
func (d *decoder) host(b []byte, wildcard bool, l loc, field string) (string, error) {
	if v, ok := d.hosts.get(b); ok {
		return v, nil
	}
	orig := b
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", d.invalid(l, field, "empty domain name")
	}
	ascii, lower := true, true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
		} else if c >= 'A' && c <= 'Z' {
			lower = false
		}
	}
	var s string
	switch {
	case !ascii:
		var err error
		if s, err = d.aLabels(b, wildcard, l, field); err != nil {
			return "", err
		}
	case !lower:
		s = strings.ToLower(string(b))
	default:
		s = string(b)
	}
	if msg := checkHostname(s, wildcard); msg != "" {
		return "", d.invalid(l, field, fmt.Sprintf("%q: %s", orig, msg))
	}
	// Remember only what is valid in any field, and not U-labels, whose
	// quirk is counted each time.
	if ascii && !strings.HasPrefix(s, "*.") {
		d.hosts.put(orig, s)
	}
	return s, nil
}

// checkHostname checks a lower-case ASCII domain name (RFC 1035 §2.3.4
// lengths; letters, digits, "-" and "_" in labels), with an optional "*."
// first when wildcard.
func checkHostname(s string, wildcard bool) string {
	if len(s) > 253 {
		return "longer than 253 characters"
	}
	if wildcard && len(s) > 2 && s[0] == '*' && s[1] == '.' {
		s = s[2:]
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; !(c >= 'a' && c <= 'z' || isDigit(c) || c == '-' || c == '_') {
				return "invalid character " + strconv.QuoteRune(rune(c))
			}
			continue
		}
		switch label := s[start:i]; {
		case label == "":
			return "empty label"
		case len(label) > 63:
			return "label longer than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "label starts or ends with \"-\""
		}
		start = i + 1
	}
	return ""
}
