package mtasts

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/ststack/ststack/internal/dnsname"
)

// Host name limits (RFC 1035 §2.3.4, RFC 5321 §4.5.3.1.2).
const (
	maxNameLen  = 253 // characters of a host name, without the trailing dot
	maxLabelLen = 63
)

// MX is one "mx" pattern of a policy (RFC 8461 §3.2, §4.1): a host name, or,
// with Wildcard set, "*." and a domain, which matches any host exactly one
// label below that domain.
//
// Domain is an A-label host name without the "*." prefix. ParseMX returns it
// in lower case without a trailing dot; String writes that form whatever case
// or trailing dot Domain holds.
type MX struct {
	Wildcard bool
	Domain   string
}

// String returns the pattern as written in a policy: "*.example.com" or
// "mx.example.com".
func (m MX) String() string {
	d := normaliseDomain(m.Domain)
	if m.Wildcard {
		return "*." + d
	}
	return d
}

// Match reports whether host, an MX host name, matches the pattern (RFC 8461
// §4.1). The comparison ignores ASCII case and a trailing dot on either side.
// A wildcard matches exactly one left-most label: "*.example.com" matches
// "mx.example.com" but neither "example.com" nor "a.b.example.com".
func (m MX) Match(host string) bool {
	host = strings.TrimSuffix(host, ".")
	d := strings.TrimSuffix(m.Domain, ".")
	if d == "" || host == "" {
		return false
	}
	if !m.Wildcard {
		return asciiEqualFold(host, d)
	}
	// §4.1: "the wildcard [...] matches only the left-most label".
	i := strings.IndexByte(host, '.')
	if i <= 0 {
		return false
	}
	return asciiEqualFold(host[i+1:], d)
}

// ParseMX parses one mx pattern (RFC 8461 §3.2 sts-policy-mx-value:
// ["*."] Domain, with Domain as in RFC 5321 §4.1.2). It accepts a trailing
// dot and any case, and returns the domain in lower case without the dot.
// Errors wrap ErrPolicyMX.
func ParseMX(s string) (MX, error) {
	m, msg := parseMX(s)
	if msg != "" {
		return MX{}, fmt.Errorf("%w: %q: %s", ErrPolicyMX, s, msg)
	}
	return m, nil
}

// parseMX is ParseMX with the reason for a failure returned as a message, so
// callers can put the line or field in front of it.
func parseMX(s string) (MX, string) {
	if s == "" {
		return MX{}, "empty pattern"
	}
	// Bound the input before looking at it: the longest valid pattern is a
	// 253-character name with a trailing dot.
	if len(s) > maxNameLen+1 {
		return MX{}, fmt.Sprintf("%d characters, more than the %d a host name may have", len(s), maxNameLen)
	}
	var m MX
	d := s
	if strings.HasPrefix(d, "*.") {
		m.Wildcard = true
		d = d[2:]
	}
	if msg := checkDomain(d, m.Wildcard); msg != "" {
		return MX{}, msg
	}
	m.Domain = normaliseDomain(d)
	return m, ""
}

// checkDomain checks the domain part of a pattern (after any "*.") and
// returns why it is not valid, or "". A trailing dot and upper case are
// allowed.
func checkDomain(d string, wildcard bool) string {
	if !utf8.ValidString(d) {
		return "not valid UTF-8"
	}
	// §3.2: "*." is allowed only as the whole left-most label; a "*" anywhere
	// else is not in the Domain syntax.
	if strings.IndexByte(d, '*') >= 0 {
		return `a wildcard must be the whole left-most label, as in "*.example.com"`
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= utf8.RuneSelf {
			return uLabelMessage(d, wildcard)
		}
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		if wildcard {
			return `a domain must follow "*."`
		}
		return "empty host name"
	}
	n := len(d)
	if wildcard {
		n += 2
	}
	if n > maxNameLen {
		return fmt.Sprintf("%d characters, more than the %d a host name may have", n, maxNameLen)
	}
	for label := range strings.SplitSeq(d, ".") {
		if msg := checkLabel(label); msg != "" {
			return msg
		}
	}
	// The labels above give the precise reason; the name must also pass
	// the rules every package applies to domain names, so that no mx
	// pattern is accepted here that dnsname refuses elsewhere.
	if _, err := dnsname.Parse(d); err != nil {
		return err.Error()
	}
	return ""
}

// checkLabel checks one label against RFC 5321 §4.1.2 sub-domain
// (Let-dig [Ldh-str]) and the 63-character limit of RFC 1035 §2.3.4.
func checkLabel(l string) string {
	if l == "" {
		return "empty label (a leading dot or two dots in a row)"
	}
	if len(l) > maxLabelLen {
		return fmt.Sprintf("label %q has %d characters, more than %d", l, len(l), maxLabelLen)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !isLetDig(c) && c != '-' {
			return fmt.Sprintf("label %q contains %q; host names have only letters, digits and hyphens", l, c)
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Sprintf("label %q starts or ends with a hyphen", l)
	}
	// RFC 5890 §2.3.2.1: an "xn--" label must be valid Punycode to be an
	// A-label.
	if len(l) > 4 && asciiEqualFold(l[:4], "xn--") {
		if _, err := idna.Punycode.ToUnicode(strings.ToLower(l)); err != nil {
			return fmt.Sprintf("label %q starts with \"xn--\" but is not a valid A-label", l)
		}
	}
	return ""
}

// uLabelMessage explains that d (the part after any "*.") holds Unicode
// (U-labels), which RFC 8461 §3.2 forbids ("MUST be A-labels"), and gives the
// A-label form when there is one.
func uLabelMessage(d string, wildcard bool) string {
	n, err := dnsname.Parse(d)
	if err != nil {
		return "contains non-ASCII characters; mx patterns must be written as A-labels (xn--…)"
	}
	a := n.String()
	if wildcard {
		a = "*." + a
	}
	return fmt.Sprintf("contains non-ASCII characters (U-labels); write the A-label form %q", a)
}

// normaliseDomain returns d in lower case without a trailing dot. It does
// not allocate when d is already in that form.
func normaliseDomain(d string) string {
	d = strings.TrimSuffix(d, ".")
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

// asciiEqualFold is strings.EqualFold restricted to ASCII, so that no
// Unicode case folding (such as U+212A KELVIN SIGN to "k") makes a non-ASCII
// host name equal to an ASCII pattern.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca >= 'A' && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if cb >= 'A' && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

func isLetDig(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
