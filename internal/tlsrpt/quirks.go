package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/dnsname"
)

// This file is the one place where the decoder tolerates what real senders
// send but RFC 8460 does not allow, when the meaning is still clear. Each
// tolerated deviation is recorded in Report.Quirks, once per kind and field
// (with a count), so a report with thousands of alike failure details gives
// one line:
//
//   - a UTF-8 byte order mark before the JSON;
//   - member names in another case ("Organization-Name");
//   - a member given twice (RFC 8259 §4 says names SHOULD be unique): the
//     last one wins, as with encoding/json;
//   - date-times without a time zone (Microsoft), taken as UTC; a space or
//     lower-case "t"/"z" in them;
//   - counts written as 5.0 or 5e2, when their value is an integer;
//   - mx-host as one string (the example of RFC 8460 §4.4, fixed by erratum
//     6241 to an array);
//   - contact-info null or missing;
//   - null for an optional member, taken as absent;
//   - failure details without sending-mta-ip, or without receiving-ip or
//     receiving-mx-hostname (not recorded for the sts-* result types, where
//     no MX host was contacted), or with an empty string there (Mail.ru);
//   - additional-info-uri instead of additional-information;
//   - policy-type and result-type in another case, lower-cased;
//   - domain names as U-labels, converted to A-labels;
//   - failed-session-counts of the failure details that do not add up to the
//     total-failure-session-count: both are kept as sent;
//   - no total-failure-session-count: taken as what the failure details add
//     up to (0 without any), the total the report's own counts give.
//
// Beyond these, the rule of docs/reports.md ("Lenience"): a report is
// refused only when it cannot yield an identity, a date range, a policy
// and its counts. Whatever else is malformed is kept as written with a
// quirk: host names and IPs that are not, an unknown policy-type, a
// missing policy-type, policy-domain or result-type, a number or boolean
// where a string is wanted (kept as its JSON text), an object or array
// there (dropped), one string for a list, data after the report object or
// after the gzip member, an end before the start.
//
// Not quirks, as RFC 8460 allows them: report-ids of any form ("123+",
// "…@mail.ru"), fractional seconds and time zone offsets in date-times, a
// date-range ending at 00:00 of the next day, missing mx-host and
// policy-string.

// keyAdditionalInfoURI is what some senders write for
// additional-information.
const keyAdditionalInfoURI = "additional-info-uri"

// timeLayout is the date-time format of RFC 8460 §4.4 (RFC 3339 §5.6).
const timeLayout = time.RFC3339

type quirk struct {
	kind, field string // identify the quirk for deduplication
	path, msg   string // of the first occurrence
	n           int
}

// addQuirk records a deviation of kind about field at l; msg is only used
// for the first of a kind and field.
func (d *decoder) addQuirk(kind string, l loc, field, msg string) {
	for i := range d.quirks {
		if q := &d.quirks[i]; q.kind == kind && q.field == field {
			q.n++
			return
		}
	}
	d.quirks = append(d.quirks, quirk{kind: kind, field: field, path: d.path(l, field), msg: msg, n: 1})
}

func (d *decoder) quirkList() []string {
	if len(d.quirks) == 0 {
		return nil
	}
	l := make([]string, len(d.quirks))
	for i, q := range d.quirks {
		s := q.msg
		if q.path != "" {
			s = q.path + ": " + s
		}
		if q.n > 1 {
			s += " (" + strconv.Itoa(q.n) + " times)"
		}
		l[i] = s
	}
	return l
}

func (d *decoder) skipBOM(data []byte) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		d.base = 3
		d.addQuirk("bom", locTop, "", "UTF-8 byte order mark before the JSON, ignored")
	}
}

// key returns which of names kb is, "" for none. A name that differs only in
// ASCII case is accepted as a quirk.
func (d *decoder) key(kb []byte, names []string, l loc) string {
	for _, n := range names {
		if string(kb) == n {
			return n
		}
	}
	for _, n := range names {
		if asciiEqualFold(kb, n) {
			d.addQuirk("key-case", l, n, fmt.Sprintf("member name written as %q", kb))
			return n
		}
	}
	return ""
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (d *decoder) quirkDuplicate(l loc, field string) {
	d.addQuirk("duplicate", l, field, "given more than once; the last one is used")
}

func (d *decoder) quirkNull(l loc, field string) {
	d.addQuirk("null", l, field, "null, taken as absent")
}

func (d *decoder) quirkMissing(l loc, field string) {
	d.addQuirk("missing", l, field, "missing (RFC 8460 §4.4 requires it)")
}

func (d *decoder) quirkNumber(l loc, field string, text []byte) {
	d.addQuirk("number", l, field, fmt.Sprintf("integer written as %s", text))
}

// dateTime parses an RFC 3339 date-time (RFC 8460 §4.4) and returns it in
// UTC; without a time zone it is taken as UTC.
func (d *decoder) dateTime(b []byte, field string) (time.Time, error) {
	if t, zone, ok := fastDateTime(b); ok {
		if !zone {
			d.addQuirk("datetime-zone", locDateRange, field, fmt.Sprintf("%q has no time zone, taken as UTC", b))
		}
		return t, nil
	}
	t, err := d.slowDateTime(b, field)
	if err == nil && (t.Year() < 1 || t.Year() > 9999) {
		return time.Time{}, d.invalid(locDateRange, field, fmt.Sprintf("%q is out of range in UTC", b))
	}
	return t, err
}

func (d *decoder) slowDateTime(b []byte, field string) (time.Time, error) {
	s := string(b)
	if t, err := time.Parse(timeLayout, s); err == nil {
		return t.UTC(), nil
	}
	// A space for "T" and lower case are RFC 3339 §5.6 NOTEs, not its
	// grammar; Go's parser wants the grammar.
	u := strings.ToUpper(s)
	if len(u) > 10 && u[10] == ' ' {
		u = u[:10] + "T" + u[11:]
	}
	if t, err := time.Parse(timeLayout, u); err == nil {
		d.addQuirk("datetime-form", locDateRange, field, fmt.Sprintf("%q is not in RFC 3339 form", s))
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", u, time.UTC); err == nil {
		d.addQuirk("datetime-zone", locDateRange, field, fmt.Sprintf("%q has no time zone, taken as UTC", s))
		return t, nil
	}
	return time.Time{}, d.invalid(locDateRange, field, fmt.Sprintf("%q is not an RFC 3339 date-time such as 2016-04-01T00:00:00Z", s))
}

// fastDateTime parses the common forms "2016-04-01T00:00:00Z" and, without
// a zone, "2016-04-01T00:00:00" without allocating.
func fastDateTime(b []byte) (t time.Time, zone, ok bool) {
	switch {
	case len(b) == 20 && b[19] == 'Z':
		zone = true
	case len(b) == 19:
	default:
		return time.Time{}, false, false
	}
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if !isDigit(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false, false // such as February 30; time.Parse gives the error
	}
	return t, zone, true
}

// maxCount is the largest count accepted: 2^53, the largest integer that
// every JSON implementation represents exactly (RFC 7493 §2.2).
const maxCount = 1 << 53

// countValue returns the value of a JSON number (syntax already checked) as
// a count. notation is true when it was not written as a plain integer but
// its value is one, such as 5.0 or 5e2. msg says why it is not a count.
func countValue(t []byte) (v int64, notation bool, msg string) {
	if t[0] == '-' {
		return 0, false, fmt.Sprintf("%s: must not be negative", t)
	}
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	intPart, frac := t[:i], []byte(nil)
	if i < len(t) && t[i] == '.' {
		j := i + 1
		for j < len(t) && isDigit(t[j]) {
			j++
		}
		frac, i = t[i+1:j], j
	}
	exp := 0
	if i < len(t) { // e or E
		i++
		neg := t[i] == '-'
		if t[i] == '+' || t[i] == '-' {
			i++
		}
		for ; i < len(t); i++ {
			if exp < 1e6 {
				exp = exp*10 + int(t[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	notation = len(t) > len(intPart)
	// The value is digits × 10^scale, digits = intPart frac.
	n := len(intPart) + len(frac)
	at := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return frac[k-len(intPart)]
	}
	first, last := 0, n-1
	for first < n && at(first) == '0' {
		first++
	}
	if first == n {
		return 0, notation, ""
	}
	for at(last) == '0' {
		last--
	}
	scale := exp - len(frac) + (n - 1 - last)
	if scale < 0 {
		return 0, false, fmt.Sprintf("%s: not an integer", t)
	}
	if last-first+1+scale > 16 {
		return 0, false, fmt.Sprintf("%s: larger than 2^53", t)
	}
	for k := first; k <= last; k++ {
		v = v*10 + int64(at(k)-'0')
	}
	for range scale {
		v *= 10
	}
	if v > maxCount {
		return 0, false, fmt.Sprintf("%s: larger than 2^53", t)
	}
	return v, notation, ""
}

// policyType returns the policy-type (RFC 8460 §4.4), accepting other case;
// another type is kept as written (its sessions then count under no known
// type).
func (d *decoder) policyType(b []byte) PolicyType {
	for _, t := range [...]PolicyType{PolicyTypeSTS, PolicyTypeTLSA, PolicyTypeNoPolicyFound} {
		if string(b) == string(t) {
			return t
		}
	}
	for _, t := range [...]PolicyType{PolicyTypeSTS, PolicyTypeTLSA, PolicyTypeNoPolicyFound} {
		if asciiEqualFold(b, string(t)) {
			d.addQuirk("policy-type-case", locPolicy, "policy-type", fmt.Sprintf("%q, taken as %q", b, t))
			return t
		}
	}
	d.addQuirk("policy-type-unknown", locPolicy, "policy-type", fmt.Sprintf("%q is not sts, tlsa or no-policy-found; kept as written", b))
	return PolicyType(b)
}

// resultType returns the result-type (RFC 8460 §4.3) in lower case; types
// outside the registry are kept.
func (d *decoder) resultType(b []byte) ResultType {
	for _, t := range knownResultTypes {
		if string(b) == string(t) {
			return t
		}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "" // recorded as missing
	}
	s := string(b)
	lower := strings.ToLower(s)
	if lower != s {
		d.addQuirk("result-type-case", locDetail, "result-type", fmt.Sprintf("%q, taken as %q", s, lower))
	}
	for _, t := range knownResultTypes {
		if lower == string(t) {
			return t
		}
	}
	return ResultType(lower)
}

// mxHost reads mx-host: an array of host names or patterns (RFC 8460 §4.4
// with erratum 6241), or a single string as in the RFC's example. Empty
// entries are dropped; entries that are not host names are kept as written.
func (d *decoder) mxHost() ([]string, error) {
	const field = "mx-host"
	switch c := d.peek(); c {
	case 'n':
		_, err := d.null(locPolicy, field)
		return nil, err
	case '[':
		if err := d.enter(locPolicy, field); err != nil {
			return nil, err
		}
		var out []string
		for j := 0; ; j++ {
			ok, err := d.elem(j == 0, locPolicy, field)
			if err != nil {
				return nil, withIndex(err, j)
			}
			if !ok {
				return out, nil
			}
			if err := d.entry(locPolicy, field); err != nil {
				return nil, withIndex(err, j)
			}
			b, ok, err := d.looseText(locPolicy, field)
			if err != nil {
				return nil, withIndex(err, j)
			}
			if !ok {
				continue
			}
			if len(b) == 0 {
				d.addQuirk("mx-host-empty", locPolicy, field, "empty entry, ignored")
				continue
			}
			out = append(out, d.host(b, true, locPolicy, field))
		}
	default:
		if err := d.entry(locPolicy, field); err != nil {
			return nil, err
		}
		b, ok, err := d.looseText(locPolicy, field)
		if !ok || err != nil {
			return nil, err
		}
		if c == '"' {
			d.addQuirk("mx-host-string", locPolicy, field, "a string, not an array (RFC 8460 erratum 6241)")
		}
		if len(b) == 0 {
			return nil, nil
		}
		return []string{d.host(b, true, locPolicy, field)}, nil
	}
}

// looseText reads a value where a string is expected and no count depends
// on it: a string is returned (ok); null is taken as absent; a number, true
// or false is kept as its JSON text, with a quirk; an object or array is
// dropped, with a quirk (ok false). Only syntax errors and limits fail.
func (d *decoder) looseText(l loc, field string) (b []byte, ok bool, err error) {
	switch k := d.peek(); k {
	case '"':
		b, err := d.str(l, field)
		return b, err == nil, err
	case 'n':
		_, err := d.null(l, field)
		return nil, false, err
	case 't', 'f', '0':
		v, err := d.dec.ReadValue()
		if err != nil {
			return nil, false, d.syntax(err, l, field)
		}
		d.addQuirk("type", l, field, fmt.Sprintf("%s %s, not a string; kept as written", kindName(k), v))
		return v, true, nil
	default:
		return nil, false, d.dropValue(l, field, "a string")
	}
}

// dropValue skips a value of the wrong type (an object or array where want
// is expected), with a quirk, when no count depends on it.
func (d *decoder) dropValue(l loc, field, want string) error {
	k := d.peek()
	if kindName(k) == "" {
		return d.fail(l, field)
	}
	if err := d.skip(l, field); err != nil {
		return err
	}
	d.addQuirk("type", l, field, fmt.Sprintf("%s, not %s; ignored", kindName(k), want))
	return nil
}

// trailing checks what follows the report object: nothing but white space,
// else a quirk. Exceeding a limit while looking still fails, as does a
// gzip stream whose checksum is wrong (its bytes are not what was sent).
func (d *decoder) trailing() error {
	off := d.offset()
	_, err := d.dec.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case errors.Is(err, errInflatedTooLarge), errors.Is(err, errTokenTooLong):
		return d.syntax(err, locTop, "")
	case errors.Is(err, gzip.ErrChecksum):
		return &ReportError{Err: ErrMalformed, Offset: -1, Msg: "gzip: " + err.Error()}
	}
	if d.src.r != nil && d.src.err != nil && d.src.err != io.EOF {
		d.addQuirk("trailing-data", locTop, "", fmt.Sprintf("bytes after the gzip member or after the report's JSON (%v); ignored", d.src.err))
	} else {
		d.addQuirk("trailing-data", locTop, "", fmt.Sprintf("data after the report's JSON object (at byte %d); ignored", off))
	}
	return nil
}

// additionalInfoURI reads additional-info-uri, used by some senders for
// additional-information; the latter wins when both are given.
func (d *decoder) additionalInfoURI(f *FailureDetail, haveInfo bool) error {
	s, err := d.optText(locDetail, keyAdditionalInfoURI)
	if err != nil {
		return err
	}
	d.addQuirk("info-uri", locDetail, keyAdditionalInfoURI, "used for additional-information")
	if !haveInfo {
		f.AdditionalInfo = s
	}
	return nil
}

// aLabels converts a domain name with U-labels to A-labels (RFC 5891 §5,
// UTS #46 lookup processing) by dnsname.Parse, the rules every package
// applies; the wildcard "*." of an mx pattern is handled here, outside it.
func (d *decoder) aLabels(b []byte, wildcard bool, l loc, field string) (string, bool) {
	s, prefix := string(b), ""
	if wildcard && strings.HasPrefix(s, "*.") {
		s, prefix = s[2:], "*."
	}
	n, err := dnsname.Parse(s)
	a := n.String()
	if err != nil {
		d.badHost(b, l, field, fmt.Sprintf("not a valid internationalised domain name: %v", err))
		return "", false
	}
	d.addQuirk("u-label", l, field, fmt.Sprintf("%q given as U-labels, taken as %q (RFC 8460 §4.4 wants A-labels)", b, prefix+a))
	return prefix + a, true
}

// deriveFailure sets the total-failure-session-count that a policy's
// summary left out (RFC 8460 §4.4 requires it; a report seen in Stalwart's
// test data omits it) to what its failure details add up to, 0 without
// any: the one total the report's own counts allow, recorded as a quirk.
func (d *decoder) deriveFailure(p *PolicyResult) {
	var sum int64
	for _, f := range p.Failures {
		sum = min(sum+f.Count, maxCount) // counts are at most 2^53: no overflow
	}
	p.Failure = sum
	d.addQuirk("failure-total-missing", locSummary, "total-failure-session-count",
		fmt.Sprintf("missing (RFC 8460 §4.4 requires it); taken as %d, what the failed-session-counts of failure-details add up to", sum))
}

// checkFailureSum records a quirk when the failure details do not add up to
// the policy's total-failure-session-count. Both are kept as sent: which of
// them is right cannot be known.
func (d *decoder) checkFailureSum(p *PolicyResult) {
	if len(p.Failures) == 0 {
		return
	}
	var sum int64
	for _, f := range p.Failures {
		sum = min(sum+f.Count, maxCount*4) // counts are at most 2^53: no overflow
	}
	if sum != p.Failure {
		d.addQuirk("failure-sum", locSummary, "total-failure-session-count",
			fmt.Sprintf("%d, but the failed-session-counts of failure-details add up to %d; both kept", p.Failure, sum))
	}
}
