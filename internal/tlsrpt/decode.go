package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The report is decoded in a single pass over the bytes: jsontext (the
// tokenizer of encoding/json/v2, maintained by the Go team) checks the JSON
// syntax and hands over tokens and raw scalar values; the walker below knows
// the RFC 8460 §4.4 shape. No reflection, no intermediate tree: strings are
// allocated only for the values kept, nesting depth, element counts and
// string lengths are checked before what they bound is allocated. Unknown
// members are skipped token by token (their syntax still checked, their
// depth bounded). Every leniency the decoder allows is in quirks.go.
//
// Design decision (issue 13 §3): jsontext replaced a hand-written tokenizer
// of about 340 lines, on the condition that report parsing stays at least 3×
// as fast as encoding/json into RFC-shaped structs (the design of mox's
// tlsrpt.Parse) on the real samples. Measured (BenchmarkParse/samples-mox,
// CPU time): 3.1–3.8× with jsontext, 4.3–4.6× with the hand-written
// tokenizer; jsontext stays. docs/performance.md has the numbers.

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

// decodeOptions: duplicate member names are a quirk (the last one wins, see
// quirks.go), not an error; invalid UTF-8 in strings becomes U+FFFD, as with
// encoding/json.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

type decoder struct {
	dec  jsontext.Decoder
	in   bytes.Buffer // a JSON input; jsontext reads a bytes.Buffer in place
	base int          // bytes before the JSON (a byte order mark)
	// A gzip input: inflated by zr from br, read by dec through src.
	br   bytes.Reader
	zr   gzip.Reader
	src  inflater
	head [3]byte
	lim  Limits
	// Counts over the whole report, checked against lim.
	nPolicies, nDetails, nEntries int
	pi, fi                        int // index of the current policy and failure detail, for paths
	scratch                       []byte
	quirks                        []quirk
	// Values that failure details repeat, normalized and allocated once.
	hosts, ips, texts memo
}

// decoders keeps decoders (and their token stacks and scratch space)
// between reports; putDecoder drops every reference to a report first.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

func putDecoder(d *decoder) {
	// No reference to the input is kept; the gzip decompressor and the
	// decoder's buffer for streams are.
	d.in = bytes.Buffer{}
	d.br.Reset(nil)
	d.src = inflater{}
	d.dec.Reset(noInput{})
	d.hosts, d.ips, d.texts = memo{}, memo{}, memo{}
	clear(d.quirks)
	d.quirks = d.quirks[:0]
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil
	}
	decoders.Put(d)
}

// noInput is what a pooled decoder reads: nothing.
type noInput struct{}

func (noInput) Read([]byte) (int, error) { return 0, io.EOF }

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

// getDecoder returns a decoder ready for a report, from the pool.
func getDecoder(lim Limits) *decoder {
	d := decoders.Get().(*decoder)
	d.base, d.lim = 0, lim
	d.nPolicies, d.nDetails, d.nEntries, d.pi, d.fi = 0, 0, 0, 0, 0
	d.scratch, d.quirks = d.scratch[:0], d.quirks[:0]
	return d
}

// decodeReport decodes the JSON report in data.
func decodeReport(data []byte, lim Limits) (*Report, error) {
	d := getDecoder(lim)
	defer putDecoder(d)
	return d.decodeJSON(data)
}

// decodeGzip decodes the report in data, gzip, inflated as it is decoded
// (compress/gzip; a series of members is one stream, RFC 1952 §2.2), never
// beyond lim.MaxDecompressed.
func decodeGzip(data []byte, lim Limits) (*Report, error) {
	d := getDecoder(lim)
	defer putDecoder(d)
	d.br.Reset(data)
	if err := d.zr.Reset(&d.br); err != nil {
		return nil, &ReportError{Err: ErrMalformed, Offset: -1, Msg: "gzip: " + err.Error()}
	}
	d.src = inflater{r: &d.zr, max: lim.MaxDecompressed}
	r, err := d.decodeStream(&d.src)
	if err != nil {
		// What the whole input is decides first: too large, or broken
		// gzip (as if it had been inflated before decoding).
		if serr := d.src.drain(); serr != nil {
			return nil, serr
		}
	}
	return r, err
}

func (d *decoder) decodeJSON(data []byte) (*Report, error) {
	d.skipBOM(data)
	d.in = *bytes.NewBuffer(data[d.base:])
	d.dec.Reset(&d.in, decodeOptions...)
	rest := data[d.base:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n') {
		rest = rest[1:]
	}
	switch {
	case len(rest) == 0:
		return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "empty input, want a JSON object"}
	case rest[0] == '{':
	case kindName(kindOf(rest[0])) != "" && jsontext.Value(rest).IsValid(decodeOptions...):
		// Say what the document is only when it is JSON: "notgzip" is
		// not null.
		return nil, &ReportError{Err: ErrMalformed, Offset: len(data) - len(rest),
			Msg: "not a JSON object: the document is " + kindName(kindOf(rest[0]))}
	default:
		return nil, &ReportError{Err: ErrMalformed, Offset: len(data) - len(rest),
			Msg: "not JSON (or gzip): starts with " + strconv.QuoteRune(rune(rest[0]))}
	}
	return d.decode()
}

func (d *decoder) decodeStream(src *inflater) (*Report, error) {
	n, _ := io.ReadFull(src, d.head[:]) // an error shows again on the next read
	d.skipBOM(d.head[:n])
	src.head = d.head[d.base:n]
	src.dec = &d.dec
	// One string as long as allowed, its quotes, and room for the
	// decoder's reading ahead.
	src.pending = int64(d.lim.MaxString) + 64<<10
	d.dec.Reset(src, decodeOptions...)
	switch k := d.peek(); {
	case k == '{':
	case k == 0:
		if _, err := d.dec.ReadToken(); err == io.EOF {
			return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "empty input, want a JSON object"}
		} else if err != nil {
			return nil, d.syntax(err, locTop, "")
		}
		return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "not JSON"}
	case kindName(k) != "":
		// Say what the document is only when it is JSON.
		if d.skip(locTop, "") == nil {
			if _, err := d.dec.ReadToken(); err == io.EOF {
				return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "not a JSON object: the document is " + kindName(k)}
			}
		}
		return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "not JSON: the inflated document starts with " + kindName(k) + " but is not valid JSON"}
	default:
		return nil, &ReportError{Err: ErrMalformed, Offset: d.base, Msg: "not JSON: the inflated document starts with " + strconv.QuoteRune(rune(k))}
	}
	return d.decode()
}

// decode decodes the report object that is next, and checks that nothing
// follows it.
func (d *decoder) decode() (*Report, error) {
	r := &Report{}
	if err := d.report(r); err != nil {
		return nil, err
	}
	// RFC 8259 §2: a JSON text is one value, white space around it. What
	// follows the object (a second copy, a signature, zero padding, bytes
	// after the gzip member) is not read: the report is complete without
	// it. Only the limits still decide.
	if err := d.trailing(); err != nil {
		return nil, err
	}
	r.Quirks = d.quirkList()
	return r, nil
}

// offset is the input offset of the end of the last token read.
func (d *decoder) offset() int { return d.base + int(d.dec.InputOffset()) }

// path returns the JSON path of field at l, e.g.
// "policies[0].summary.total-failure-session-count".
func (d *decoder) path(l loc, field string) string {
	b := make([]byte, 0, 64)
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

// syntax turns an error of jsontext into a ReportError about field at l.
func (d *decoder) syntax(err error, l loc, field string) error {
	off, msg := d.offset(), err.Error()
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		off = d.base + int(se.ByteOffset)
		if se.Err != nil {
			msg = se.Err.Error()
		}
	}
	switch {
	case errors.Is(err, errTokenTooLong):
		return &ReportError{Err: ErrTooLarge, Path: d.path(l, field), Offset: off,
			Msg: "a JSON token (string, number or white space) longer than " + strconv.Itoa(d.lim.MaxString) + " bytes"}
	case errors.Is(err, errInflatedTooLarge):
		return &ReportError{Err: ErrTooLarge, Offset: -1, Msg: "gzip input inflates to more than " + sizeString(d.lim.MaxDecompressed)}
	case errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF:
		msg = "unexpected end of input"
	}
	return &ReportError{Err: ErrMalformed, Path: d.path(l, field), Offset: off, Msg: msg}
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

// kindName names the JSON value starting with kind k, "" if none does.
func kindName(k jsontext.Kind) string {
	switch k {
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
	case '0':
		return "a number"
	}
	return ""
}

// kindOf returns the kind of the value starting with c.
func kindOf(c byte) jsontext.Kind {
	if c == '-' || isDigit(c) {
		return '0'
	}
	return jsontext.Kind(c)
}

// peek returns the kind of the next token, 0 when there is none or it is
// not valid JSON (the next read then returns the error).
func (d *decoder) peek() jsontext.Kind { return d.dec.PeekKind() }

// fail returns the syntax error at the next token, which peek found
// invalid.
func (d *decoder) fail(l loc, field string) error {
	_, err := d.dec.ReadToken()
	if err == nil {
		err = errors.New("unexpected token")
	}
	return d.syntax(err, l, field)
}

// typeErr reports a value of the wrong type (kind k), or the syntax error
// when there is no valid value.
func (d *decoder) typeErr(k jsontext.Kind, l loc, field, want string) error {
	switch k {
	case 'n', 't', 'f', '0':
		if _, err := d.dec.ReadValue(); err != nil {
			return d.syntax(err, l, field) // not a valid literal or number
		}
	}
	if kindName(k) == "" {
		return d.fail(l, field)
	}
	return d.invalid(l, field, "expected "+want+", got "+kindName(k))
}

// enter reads the "{" or "[" that peek returned, one level deeper; the depth
// is checked before.
func (d *decoder) enter(l loc, field string) error {
	if d.dec.StackDepth() >= d.lim.MaxDepth {
		return &ReportError{Err: ErrTooDeep, Path: d.path(l, field), Offset: d.offset(),
			Msg: "JSON nested more than " + strconv.Itoa(d.lim.MaxDepth) + " levels deep"}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return d.syntax(err, l, field)
	}
	return nil
}

// member moves to the next member of an object: it returns the member's name
// (valid until the next string is read), or ok false when the object ends.
func (d *decoder) member(_ bool, l loc, field string) (key []byte, ok bool, err error) {
	switch d.peek() {
	case '}':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false, d.syntax(err, l, field)
		}
		return nil, false, nil
	case '"':
		key, err := d.str(l, field)
		if err != nil {
			return nil, false, err
		}
		// A missing ":" is the object's fault, not the member's; the end
		// of the input after the name is reported with the member.
		if c, ok := nextByte(d.dec.UnreadBuffer()); ok && c != ':' {
			return nil, false, d.fail(l, field)
		}
		return key, true, nil
	default:
		return nil, false, d.fail(l, field)
	}
}

// nextByte returns the first byte of b after white space (RFC 8259 §2).
func nextByte(b []byte) (byte, bool) {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, true
		}
	}
	return 0, false
}

// elem moves to the next element of an array; ok is false when it ends.
// A syntax error shows when the element is read.
func (d *decoder) elem(_ bool, l loc, field string) (ok bool, err error) {
	if d.peek() == ']' {
		if _, err := d.dec.ReadToken(); err != nil {
			return false, d.syntax(err, l, field)
		}
		return false, nil
	}
	return true, nil
}

// str reads the string (a value or a member name) that peek found and
// returns its decoded bytes, valid until the next string is read. Its length
// as sent is checked against lim.MaxString before anything is allocated.
// Invalid UTF-8 and lone surrogates become U+FFFD, as with encoding/json.
func (d *decoder) str(l loc, field string) ([]byte, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, d.syntax(err, l, field)
	}
	if len(v)-2 > d.lim.MaxString {
		return nil, &ReportError{Err: ErrTooLarge, Path: d.path(l, field), Offset: d.offset(),
			Msg: "string longer than " + strconv.Itoa(d.lim.MaxString) + " bytes"}
	}
	// jsontext has checked the syntax: without an escape, and in valid
	// UTF-8, the string is its bytes as sent.
	if raw := v[1 : len(v)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw, nil
	}
	// The decoder has checked the syntax; an error here only says that
	// invalid UTF-8 was replaced.
	d.scratch, _ = jsontext.AppendUnquote(d.scratch[:0], v)
	return d.scratch, nil
}

// null consumes a null value if there is one.
func (d *decoder) null(l loc, field string) (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	if _, err := d.dec.ReadValue(); err != nil {
		return false, d.syntax(err, l, field)
	}
	d.quirkNull(l, field)
	return true, nil
}

// skip consumes one value of any kind, checking its syntax and, token by
// token, its depth.
func (d *decoder) skip(l loc, field string) error {
	depth := d.dec.StackDepth()
	for {
		switch d.peek() {
		case '{', '[':
			if err := d.enter(l, field); err != nil {
				return err
			}
		case '}', ']':
			if _, err := d.dec.ReadToken(); err != nil {
				return d.syntax(err, l, field)
			}
		case 0:
			return d.fail(l, field)
		case '"':
			// A member name or a string: not kept, but bounded as
			// every string is.
			if _, err := d.str(l, field); err != nil {
				return err
			}
		default:
			if _, err := d.dec.ReadValue(); err != nil {
				return d.syntax(err, l, field)
			}
		}
		if d.dec.StackDepth() == depth {
			return nil
		}
	}
}

// text reads a string value.
func (d *decoder) text(l loc, field string) ([]byte, error) {
	if k := d.peek(); k != '"' {
		return nil, d.typeErr(k, l, field, "a string")
	}
	return d.str(l, field)
}

// optText reads an optional string value: null is taken as absent.
func (d *decoder) optText(l loc, field string) (string, error) {
	b, ok, err := d.looseText(l, field)
	if !ok || err != nil {
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
	if k := d.peek(); k != '0' {
		return 0, d.typeErr(k, l, field, "a number")
	}
	t, err := d.dec.ReadValue()
	if err != nil {
		return 0, d.syntax(err, l, field)
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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
		d.addQuirk("date-range-reversed", locTop, "date-range", "start-datetime "+r.Start.Format(timeLayout)+
			" is after end-datetime "+r.End.Format(timeLayout)+"; both kept, the report's day is its start's")
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
		// Counted over the whole report, a repeated "policies" too:
		// what the limit bounds is the work and memory of one parse.
		if d.nPolicies >= d.lim.MaxPolicies {
			return &ReportError{Err: ErrTooMany, Path: "policies", Offset: d.offset(),
				Msg: "more than " + strconv.Itoa(d.lim.MaxPolicies) + " policies"}
		}
		d.nPolicies++
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
	failureGiven := false
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
			failureGiven, err = d.summary(p)
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
	if !failureGiven {
		d.deriveFailure(p)
		return nil
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
			b, ok, err := d.looseText(locPolicy, k)
			if err != nil {
				return err
			}
			if ok {
				p.Type = d.policyType(b)
			}
		case "policy-string":
			d.seen(&seen, bStrings, locPolicy, k)
			if p.PolicyStrings, err = d.stringList(locPolicy, k); err != nil {
				return err
			}
		case "policy-domain":
			d.seen(&seen, bDomain, locPolicy, k)
			b, ok, err := d.looseText(locPolicy, k)
			if err != nil {
				return err
			}
			if p.Domain = ""; ok && len(b) > 0 {
				p.Domain = d.host(b, false, locPolicy, k)
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
	// RFC 8460 §4.4: policy-type and policy-domain are required. No count
	// depends on them: without a type the policy is kept untyped; without a
	// domain it is kept unattributed (Report.Unattributed), and the
	// receiver may attribute it (Report.Attribute).
	if p.Type == "" {
		d.addQuirk("policy-type-missing", locPolicy, "policy-type", "missing or not a string; the policy is kept without a type")
	}
	if p.Domain == "" {
		d.addQuirk("policy-domain-missing", locPolicy, "policy-domain", "missing or empty; the policy is kept unattributed")
	}
	return nil
}

// stringList reads an array of strings; null is taken as absent, an empty
// array gives nil.
func (d *decoder) stringList(l loc, field string) ([]string, error) {
	if isNull, err := d.null(l, field); isNull || err != nil {
		return nil, err
	}
	if c := d.peek(); c != '[' {
		// One string (or another scalar) is kept as the one entry.
		if err := d.entry(l, field); err != nil {
			return nil, err
		}
		b, ok, err := d.looseText(l, field)
		if !ok || err != nil {
			return nil, err
		}
		d.addQuirk("not-array", l, field, "a single value, not an array; kept as its one entry")
		return []string{string(b)}, nil
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
		if err := d.entry(l, field); err != nil {
			return nil, withIndex(err, j)
		}
		b, ok, err := d.looseText(l, field)
		if err != nil {
			return nil, withIndex(err, j)
		}
		if ok {
			out = append(out, string(b))
		}
	}
}

// summary reads a policy's summary; failureGiven says whether it had a
// total-failure-session-count (policyResult derives a missing one).
func (d *decoder) summary(p *PolicyResult) (failureGiven bool, err error) {
	if c := d.peek(); c != '{' {
		return false, d.typeErr(c, locResult, "summary", "an object")
	}
	if err := d.enter(locResult, "summary"); err != nil {
		return false, err
	}
	var seen uint16
	const (
		bSuccess uint16 = 1 << iota
		bFailure
	)
	for first := true; ; first = false {
		kb, ok, err := d.member(first, locSummary, "")
		if err != nil {
			return false, err
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
			return false, err
		}
	}
	// RFC 8460 §4.4 requires both totals. Without the successful one
	// the policy's sessions cannot be known; a missing failure total is
	// what its failure details add up to (policyResult, deriveFailure).
	if seen&bSuccess == 0 {
		return false, d.invalid(locSummary, "total-successful-session-count", "missing")
	}
	return seen&bFailure != 0, nil
}

func (d *decoder) failureDetails(p *PolicyResult) error {
	p.Failures = nil
	if isNull, err := d.null(locResult, "failure-details"); isNull || err != nil {
		return err
	}
	if c := d.peek(); c != '[' {
		// The summary holds the counts; details of another shape are
		// dropped, not guessed at.
		return d.dropValue(locResult, "failure-details", "an array")
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
			return &ReportError{Err: ErrTooMany, Path: d.path(locResult, "failure-details"), Offset: d.offset(),
				Msg: "more than " + strconv.Itoa(d.lim.MaxFailureDetails) + " failure details in the report"}
		}
		d.nDetails++
		d.fi = j
		if d.peek() != '{' {
			if err := d.dropValue(locDetail, "", "an object"); err != nil {
				return err
			}
			continue
		}
		p.Failures = append(p.Failures, FailureDetail{})
		if err := d.failureDetail(&p.Failures[len(p.Failures)-1]); err != nil {
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
			b, ok, err := d.looseText(locDetail, k)
			if err != nil {
				return err
			}
			f.ResultType = ""
			if ok {
				f.ResultType = d.resultType(b)
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
			var isNull bool
			if isNull, err = d.null(locDetail, k); isNull || err != nil {
				break
			}
			var b []byte
			var ok bool
			if b, ok, err = d.looseText(locDetail, k); err == nil && ok && len(b) > 0 {
				f.ReceivingMXHostname = d.host(b, false, locDetail, k)
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
	if seen&bCount == 0 {
		return d.invalid(locDetail, "failed-session-count", "missing")
	}
	if f.ResultType == "" {
		d.addQuirk("result-type-missing", locDetail, "result-type", "missing, empty or not a string; the failure is kept without a type")
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
	b, ok, err := d.looseText(locDetail, field)
	if !ok || err != nil || len(b) == 0 {
		return "", err
	}
	if v, ok := d.ips.get(b); ok {
		return v, nil
	}
	s := string(b)
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		d.addQuirk("ip-invalid", locDetail, field, fmt.Sprintf("%q is not an IP address; kept as written", s))
		return s, nil
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

// host normalizes a domain name to lower case, without a trailing dot, as
// A-labels; with wildcard, a leading "*." is allowed (an mx pattern, RFC 8461
// §3.2). A name that is not a host name is kept as written, with a quirk:
// no count depends on it, and a policy-domain that is not a host name is
// served by no one (the report then is about no served domain).
func (d *decoder) host(b []byte, wildcard bool, l loc, field string) string {
	if v, ok := d.hosts.get(b); ok {
		return v
	}
	orig := b
	if len(b) > maxHostInput {
		// Kept before the IDNA conversion, whose work and output grow
		// with the input: no valid name is this long.
		return d.badHost(orig, l, field, "longer than 253 characters")
	}
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return d.badHost(orig, l, field, "empty domain name")
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
		var ok bool
		if s, ok = d.aLabels(b, wildcard, l, field); !ok {
			return string(orig)
		}
	case !lower:
		s = strings.ToLower(string(b))
	default:
		s = string(b)
	}
	if msg := checkHostname(s, wildcard); msg != "" {
		return d.badHost(orig, l, field, msg)
	}
	// Remember only what is valid in any field, and not U-labels, whose
	// quirk is counted each time.
	if ascii && !strings.HasPrefix(s, "*.") {
		d.hosts.put(orig, s)
	}
	return s
}

// badHost records that b, in field at l, is not a host name, and returns it
// as written.
func (d *decoder) badHost(b []byte, l loc, field, why string) string {
	if len(b) > maxHostInput {
		d.addQuirk("host-invalid", l, field, fmt.Sprintf("%.40q…: not a host name (%s); kept as written", b, why))
	} else {
		d.addQuirk("host-invalid", l, field, fmt.Sprintf("%q: not a host name (%s); kept as written", b, why))
	}
	return string(b)
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

// maxHostInput bounds a domain name as sent: 253 characters as A-labels
// (RFC 1035 §2.3.4), and a U-label character takes at most 4 bytes of
// UTF-8 where its A-label form takes at least 1.
const maxHostInput = 4*253 + 1

// entry counts one more element of a policy-string or mx-host array
// against lim.MaxListEntries, before it is read.
func (d *decoder) entry(l loc, field string) error {
	if d.nEntries >= d.lim.MaxListEntries {
		return &ReportError{Err: ErrTooMany, Path: d.path(l, field), Offset: d.offset(),
			Msg: "more than " + strconv.Itoa(d.lim.MaxListEntries) + " policy-string and mx-host entries in the report"}
	}
	d.nEntries++
	return nil
}
