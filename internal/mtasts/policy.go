package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Policy limits.
const (
	// MaxMaxAge is the largest max_age a policy may have, in seconds
	// (RFC 8461 §3.2: "maximum value of 31557600", one year).
	MaxMaxAge = 31557600
	// MaxPolicySize is the largest policy file, in bytes, that ParsePolicy
	// reads and that Validate allows String to produce (RFC 8461 §3.3:
	// senders may limit policy bodies to 64 KiB).
	MaxPolicySize = 64 * 1024
)

// Version is the only policy and record version RFC 8461 defines.
const Version = "STSv1"

// Errors of this package. Each error returned wraps exactly one of them, with
// the line (for policy text) and field at fault.
var (
	ErrNoRecord        = errors.New("mtasts: no MTA-STS TXT record")
	ErrMultipleRecords = errors.New("mtasts: more than one MTA-STS TXT record")
	ErrRecordSyntax    = errors.New("mtasts: invalid MTA-STS TXT record")
	ErrPolicySyntax    = errors.New("mtasts: policy syntax error")
	ErrPolicyVersion   = errors.New("mtasts: invalid policy version")
	ErrPolicyMode      = errors.New("mtasts: invalid policy mode")
	ErrPolicyMaxAge    = errors.New("mtasts: invalid policy max_age")
	ErrPolicyMX        = errors.New("mtasts: invalid policy mx")
	ErrPolicyTooLarge  = errors.New("mtasts: policy too large")
)

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// The modes of RFC 8461 §5.
const (
	// ModeEnforce: senders must not deliver to an MX host that fails
	// validation.
	ModeEnforce Mode = "enforce"
	// ModeTesting: senders deliver anyway and report failures (RFC 8460).
	ModeTesting Mode = "testing"
	// ModeNone: the domain no longer has an active policy.
	ModeNone Mode = "none"
)

// Valid reports whether m is one of the three modes.
func (m Mode) Valid() bool {
	return m == ModeEnforce || m == ModeTesting || m == ModeNone
}

// Extension is an extension field of a policy or record that this package
// does not interpret (RFC 8461 §3.1, §3.2: unknown fields are kept, in
// order, and ignored by senders).
type Extension struct {
	Key, Value string
}

// Policy is an MTA-STS policy (RFC 8461 §3.2), as served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt.
type Policy struct {
	Version    string // always "STSv1"
	Mode       Mode
	MaxAge     int // seconds, 0..MaxMaxAge
	MX         []MX
	Extensions []Extension
}

// Field names of RFC 8461 §3.2. They are case-sensitive (the ABNF uses %s).
const (
	fieldVersion = "version"
	fieldMode    = "mode"
	fieldMaxAge  = "max_age"
	fieldMX      = "mx"
)

// String returns the policy file exactly as it is to be served: one
// "key: value" line per field, each ended by CRLF (RFC 8461 §3.2), in the
// order version, mode, mx (in order), max_age, extensions (in order).
func (p Policy) String() string {
	var b strings.Builder
	b.Grow(p.wireLen())
	// One call per line, not the builder's methods inlined at every field:
	// this is linked into the policy bootstrap, whose size is measured
	// (docs/performance.md).
	line := func(k, prefix, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(prefix)
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	line(fieldVersion, "", p.Version)
	line(fieldMode, "", string(p.Mode))
	for _, m := range p.MX {
		prefix := ""
		if m.Wildcard {
			prefix = "*."
		}
		line(fieldMX, prefix, normaliseDomain(m.Domain))
	}
	var num [20]byte
	line(fieldMaxAge, "", string(strconv.AppendInt(num[:0], int64(p.MaxAge), 10)))
	for _, e := range p.Extensions {
		line(e.Key, "", e.Value)
	}
	return b.String()
}

// wireLen returns len(p.String()) without building it (exact whenever the
// mx domains are ASCII, as they are in any valid policy).
func (p Policy) wireLen() int {
	const sep = len(": \r\n")
	n := len(fieldVersion) + sep + len(p.Version)
	n += len(fieldMode) + sep + len(p.Mode)
	for _, m := range p.MX {
		n += len(fieldMX) + sep + len(strings.TrimSuffix(m.Domain, "."))
		if m.Wildcard {
			n += 2
		}
	}
	n += len(fieldMaxAge) + sep + decimalLen(p.MaxAge)
	for _, e := range p.Extensions {
		n += len(e.Key) + sep + len(e.Value)
	}
	return n
}

// decimalLen returns len(strconv.Itoa(n)) without allocating.
func decimalLen(n int) int {
	l := 1
	if n < 0 {
		l++ // the sign
	}
	for n /= 10; n != 0; n /= 10 {
		l++
	}
	return l
}

// ID returns an identifier derived from the policy's content, for the "id"
// of the _mta-sts TXT record: the first 16 bytes of the SHA-256 digest of
// String(), in lower-case hexadecimal (32 letters and digits, as RFC 8461
// §3.1 allows). It is the same on every machine and changes exactly when
// String() changes (barring a SHA-256 collision).
func (p Policy) ID() string {
	sum := sha256.Sum256([]byte(p.String()))
	return hex.EncodeToString(sum[:16])
}

// Match reports whether the MX host name host matches any of the policy's mx
// patterns (RFC 8461 §4.1); see MX.Match. It does not look at the mode.
func (p Policy) Match(host string) bool {
	for _, m := range p.MX {
		if m.Match(host) {
			return true
		}
	}
	return false
}

// ParsePolicy parses a policy file (RFC 8461 §3.2). Lines end in LF or CRLF;
// fields may come in any order; field names are case-sensitive. Of a
// repeated field other than mx the first counts (the repeats must still be
// valid); every mx is kept, in order; unknown fields are kept as extensions.
// Input longer than MaxPolicySize is refused before parsing.
//
// A policy that ParsePolicy returns passes Validate, and ParsePolicy of its
// String() returns an equal policy.
func ParsePolicy(b []byte) (Policy, error) {
	if len(b) > MaxPolicySize {
		return Policy{}, fmt.Errorf("%w: %d bytes, more than %d", ErrPolicyTooLarge, len(b), MaxPolicySize)
	}
	if len(b) == 0 {
		return Policy{}, fmt.Errorf("%w: empty policy", ErrPolicySyntax)
	}
	var (
		p                              Policy
		seenVersion, seenMode, seenAge bool
	)
	rest := string(b)
	// Room for every mx line: no more than the lines, nor the "mx:"s.
	if n := min(strings.Count(rest, "mx:"), strings.Count(rest, "\n")+1); n > 0 {
		p.MX = make([]MX, 0, n)
	}
	for lineNo := 1; rest != ""; lineNo++ {
		var line string
		terminated := false
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest, terminated = rest[:i], rest[i+1:], true
		} else {
			line, rest = rest, ""
		}
		// §3.2 ABNF: sts-policy-term-delim = CRLF / LF.
		line = strings.TrimSuffix(line, "\r")
		if strings.IndexByte(line, '\r') >= 0 {
			return Policy{}, fmt.Errorf("%w: line %d: carriage return not followed by line feed", ErrPolicySyntax, lineNo)
		}
		if trimWSP(line) == "" {
			// §3.2 ABNF: only white space may follow the last line
			// ending ([sts-policy-term-delim *WSP]); there are no
			// empty lines between fields.
			if !terminated && lineNo > 1 {
				break
			}
			return Policy{}, fmt.Errorf("%w: line %d: empty line; RFC 8461 §3.2 allows none and some senders then reject the policy", ErrPolicySyntax, lineNo)
		}
		if lineNo == 1 {
			if strings.HasPrefix(line, "\uFEFF") {
				return Policy{}, fmt.Errorf("%w: line 1: starts with a byte order mark (U+FEFF); remove it", ErrPolicySyntax)
			}
			// §3.2 ABNF: sts-policy-record starts with a field; white
			// space is allowed only after a line ending.
			if line[0] == ' ' || line[0] == '\t' {
				return Policy{}, fmt.Errorf("%w: line 1: starts with white space", ErrPolicySyntax)
			}
		}
		key, value, msg := splitPolicyLine(line)
		if msg != "" {
			return Policy{}, fmt.Errorf("%w: line %d: %s", ErrPolicySyntax, lineNo, msg)
		}
		// §3.2: "If any non-repeated field -- i.e., all fields excepting
		// "mx" -- is duplicated, all entries except for the first SHOULD
		// be ignored." Each entry must still match the ABNF.
		switch key {
		case fieldVersion:
			if msg := checkVersion(value); msg != "" {
				return Policy{}, lineError(ErrPolicyVersion, lineNo, key, msg)
			}
			if !seenVersion {
				p.Version, seenVersion = Version, true
			}
		case fieldMode:
			if msg := checkMode(Mode(value)); msg != "" {
				return Policy{}, lineError(ErrPolicyMode, lineNo, key, msg)
			}
			if !seenMode {
				p.Mode, seenMode = canonicalMode(Mode(value)), true
			}
		case fieldMaxAge:
			age, msg := parseMaxAge(value)
			if msg != "" {
				return Policy{}, lineError(ErrPolicyMaxAge, lineNo, key, msg)
			}
			if !seenAge {
				p.MaxAge, seenAge = age, true
			}
		case fieldMX:
			m, msg := parseMX(value)
			if msg != "" {
				return Policy{}, lineError(ErrPolicyMX, lineNo, key, fmt.Sprintf("%q: %s", value, msg))
			}
			p.MX = append(p.MX, m)
		default:
			if msg := checkPolicyExtension(key, value); msg != "" {
				return Policy{}, lineError(ErrPolicySyntax, lineNo, key, msg)
			}
			p.Extensions = append(p.Extensions, Extension{key, value})
		}
	}
	if len(p.MX) == 0 {
		p.MX = nil // "mx:" was counted in some other field
	}
	switch {
	case !seenVersion:
		return Policy{}, fmt.Errorf(`%w: version: missing; the policy must have "version: STSv1"`, ErrPolicyVersion)
	case !seenMode:
		return Policy{}, fmt.Errorf("%w: mode: missing; the policy must have one of enforce, testing, none", ErrPolicyMode)
	case !seenAge:
		return Policy{}, fmt.Errorf("%w: max_age: missing", ErrPolicyMaxAge)
	}
	// Rules across fields, and the size of the served form.
	if msg := checkMXPresent(p); msg != "" {
		return Policy{}, fmt.Errorf("%w: mx: %s", ErrPolicyMX, msg)
	}
	if msg := checkWireLen(p); msg != "" {
		return Policy{}, fmt.Errorf("%w: %s", ErrPolicyTooLarge, msg)
	}
	return p, nil
}

// lineError returns the error for field key on line lineNo of a policy.
func lineError(sentinel error, lineNo int, key, msg string) error {
	return fmt.Errorf("%w: line %d: %s: %s", sentinel, lineNo, key, msg)
}

// splitPolicyLine splits a non-empty line into field name and value (RFC
// 8461 §3.2: *WSP name ":" *WSP value *WSP). On failure it returns a
// message, without the line number, saying why.
func splitPolicyLine(line string) (key, value, msg string) {
	l := strings.TrimLeft(line, " \t")
	i := 0
	for i < len(l) && isNameChar(l[i]) {
		i++
	}
	key = l[:i]
	switch {
	case i == 0:
		return "", "", fmt.Sprintf("expected a field name such as \"mode\", found %q", l)
	case i == len(l):
		return "", "", fmt.Sprintf("%q: missing \":\" after the field name", l)
	case l[i] == ' ' || l[i] == '\t':
		return "", "", fmt.Sprintf("%s: no white space is allowed before \":\"", key)
	case l[i] != ':':
		return "", "", fmt.Sprintf("field name %q followed by %q; expected \":\"", key, l[i])
	}
	if m := checkExtName(key); m != "" {
		return "", "", fmt.Sprintf("field name %q: %s", key, m)
	}
	return key, trimWSP(l[i+1:]), ""
}

func checkVersion(v string) string {
	switch v {
	case Version:
		return ""
	case "":
		return `missing; must be "STSv1"`
	}
	return fmt.Sprintf("%q is not supported; must be \"STSv1\"", v)
}

// canonicalMode returns the constant equal to the valid mode m, so that a
// parsed policy does not keep its input alive through it.
func canonicalMode(m Mode) Mode {
	switch m {
	case ModeEnforce:
		return ModeEnforce
	case ModeTesting:
		return ModeTesting
	}
	return ModeNone
}

func checkMode(m Mode) string {
	switch {
	case m.Valid():
		return ""
	case m == "":
		return "missing; must be one of enforce, testing, none"
	}
	return fmt.Sprintf("%q is not one of enforce, testing, none", string(m))
}

// parseMaxAge parses a max_age value (RFC 8461 §3.2:
// sts-policy-max-age-value = 1*10(DIGIT), at most MaxMaxAge).
func parseMaxAge(v string) (int, string) {
	if v == "" {
		return 0, fmt.Sprintf("missing; must be a number of seconds from 0 to %d", MaxMaxAge)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Sprintf("%q is not a plain decimal number of seconds", v)
		}
	}
	if len(v) > 10 {
		return 0, fmt.Sprintf("%q has more than 10 digits", v)
	}
	n, err := strconv.Atoi(v) // cannot fail: at most 10 digits
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number", v)
	}
	if n > MaxMaxAge {
		return 0, fmt.Sprintf("%d exceeds the maximum of %d (one year)", n, MaxMaxAge)
	}
	return n, ""
}

func checkMXPresent(p Policy) string {
	// §3.2: mx "MUST be present" unless the mode is "none".
	if len(p.MX) == 0 && p.Mode != ModeNone {
		return "missing; at least one mx is required unless mode is none"
	}
	return ""
}

func checkWireLen(p Policy) string {
	if n := p.wireLen(); n > MaxPolicySize {
		return fmt.Sprintf("served form is %d bytes, more than %d", n, MaxPolicySize)
	}
	return ""
}

// checkPolicyExtension checks an extension field of a policy (RFC 8461 §3.2
// sts-policy-extension).
func checkPolicyExtension(key, value string) string {
	if msg := checkExtName(key); msg != "" {
		return fmt.Sprintf("field name %q: %s", key, msg)
	}
	for _, known := range [...]string{fieldVersion, fieldMode, fieldMaxAge, fieldMX} {
		if asciiEqualFold(key, known) {
			if key == known {
				return fmt.Sprintf("%q is a policy field, not an extension", key)
			}
			// §3.2: field names are case-sensitive (%s in the ABNF),
			// so senders would treat this as an unknown field.
			return fmt.Sprintf("field names are case-sensitive; write %q", known)
		}
	}
	return checkPolicyExtValue(value)
}

// checkPolicyExtValue checks an extension value (RFC 8461 §3.2
// sts-policy-ext-value: VCHAR or UTF-8 characters and inner spaces, without
// surrounding white space).
func checkPolicyExtValue(v string) string {
	if v == "" {
		return "empty value"
	}
	if !utf8.ValidString(v) {
		return "value is not valid UTF-8"
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return "value has leading or trailing white space"
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return fmt.Sprintf("value contains the control character %q", r)
		}
	}
	return ""
}

// checkExtName checks a field name (RFC 8461 §3.1 sts-ext-name, §3.2
// sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")).
func checkExtName(k string) string {
	switch {
	case k == "":
		return "empty"
	case len(k) > 32:
		return fmt.Sprintf("%d characters, more than 32", len(k))
	case !isLetDig(k[0]):
		return "must start with a letter or digit"
	}
	for i := 1; i < len(k); i++ {
		if !isNameChar(k[i]) {
			return fmt.Sprintf("contains %q; allowed are letters, digits, \"_\", \"-\" and \".\"", k[i])
		}
	}
	return ""
}

func isNameChar(c byte) bool {
	return isLetDig(c) || c == '_' || c == '-' || c == '.'
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// trimWSP removes RFC 5234 WSP (space and tab) from both ends of s.
func trimWSP(s string) string {
	for s != "" && isWSP(s[0]) {
		s = s[1:]
	}
	for s != "" && isWSP(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
