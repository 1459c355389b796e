package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ststack/ststack/internal/dnsname"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// maxNameLen: _smtp._tls.<name> must fit in 253 octets (RFC 1035 §2.3.4).
const maxNameLen = 253 - len("_smtp._tls.")

// toALabel converts a domain name (A-labels or U-labels, any case, one
// optional trailing dot) to lower-case A-labels: dnsname.Parse, the rules
// every package applies.
func toALabel(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty domain name")
	}
	n, err := dnsname.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid domain name (%v)", s, err)
	}
	return n.String(), nil
}

// parseDomainName is toALabel for the names of mail domains and zones: also
// at least two labels and short enough for _smtp._tls.<name>.
func parseDomainName(s string) (string, error) {
	a, err := toALabel(s)
	if err != nil {
		return "", err
	}
	if !strings.Contains(a, ".") {
		return "", fmt.Errorf("%q is not a fully qualified domain name (needs at least two labels)", s)
	}
	if len(a) > maxNameLen {
		return "", fmt.Errorf("%q is longer than %d characters, too long for _smtp._tls.%s", s, maxNameLen, "<name>")
	}
	return a, nil
}

// parseAddress accepts a bare ASCII e-mail address and returns it with the
// domain in lower-case A-labels: a dot-atom local part, "@" and a domain
// name (the addr-spec of RFC 5322 §3.4.1 without quoted local parts,
// comments, folding white space or domain literals), as a rua mailto URI
// carries it (RFC 6068 §2). No display name, no angle brackets.
//
// It checks the grammar itself rather than with net/mail, whose parser of
// whole address headers (display names, RFC 2047 words, groups) would be
// linked into every function that loads the organisation file, about 14 KB
// of the policy bootstrap (docs/performance.md).
func parseAddress(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		return "", fmt.Errorf("%q: quoted local parts are not supported", s)
	case strings.ContainsAny(s, "<>"):
		return "", fmt.Errorf("%q: give a bare address such as ops@example.com, without a name or <>", s)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return "", fmt.Errorf("%q is not an e-mail address: no @", s)
	}
	if err := checkDotAtom(local, "local part"); err != nil {
		return "", fmt.Errorf("%q is not an e-mail address: %v", s, err)
	}
	for i := 0; i < len(local); i++ {
		if local[i] > 0x7e {
			return "", fmt.Errorf("%q: the local part must be ASCII", s)
		}
	}
	if domain == "" || domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%q is not an e-mail address: no domain, or a dot first, last or twice in a row", s)
	}
	d, err := parseDomainName(domain) // which allows no other characters than those of a dot-atom
	if err != nil {
		return "", fmt.Errorf("%q: %v", s, err)
	}
	return local + "@" + d, nil
}

// checkDotAtom checks that s is a dot-atom (RFC 5322 §3.2.3): atext
// separated by single dots, none first or last. Bytes beyond ASCII are
// left to the caller (RFC 6532 §3.2 allows UTF-8 in atext).
func checkDotAtom(s, what string) error {
	if s == "" {
		return fmt.Errorf("no %s", what)
	}
	if s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return fmt.Errorf("the %s has a dot first, last or twice in a row", what)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		atext := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' ||
			c >= 0x80 || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
		if !atext {
			return fmt.Errorf("%q is not allowed in the %s", rune(c), what)
		}
	}
	return nil
}

// mailtoRUA builds the rua URI for an address from parseAddress. RFC 8460
// §3 requires commas and semicolons in a rua URI to be percent-encoded; the
// local part keeps only unreserved characters and a few safe sub-delims
// (RFC 6068 §2) and percent-encodes the rest.
func mailtoRUA(addr string) tlsrpt.RUA {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("mailto:")
	at := strings.LastIndexByte(addr, '@')
	for i := 0; i < at; i++ {
		c := addr[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			strings.IndexByte("-._~+'*$()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	b.WriteString(addr[at:])
	return tlsrpt.RUA{Scheme: "mailto", URI: b.String()}
}

// The syntax checks below are written out rather than as regular
// expressions: compiled at package initialisation they cost every process
// that loads the package 0.9 ms and 747 allocations (GODEBUG=inittrace=1),
// and compiled on first use, the lazy wrappers cost the policy bootstrap
// its 6.50 MiB (docs/performance.md). FuzzSyntaxChecks holds each to the
// regular expression its comment gives.

// isRegion reports whether s looks like an AWS region name: two to four
// letters, one or two words, a number (eu-west-1, us-gov-west-1,
// eusc-de-east-1), ^[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}$. Syntax only: a
// region launched after this code is still accepted.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) != 3 && len(parts) != 4 || len(parts[0]) < 2 || len(parts[0]) > 4 {
		return false
	}
	for _, w := range parts[:len(parts)-1] {
		if w == "" || !allBytes(w, func(c byte) bool { return 'a' <= c && c <= 'z' }) {
			return false
		}
	}
	n := parts[len(parts)-1]
	return n != "" && len(n) <= 2 && allBytes(n, func(c byte) bool { return '0' <= c && c <= '9' })
}

// isZoneID reports whether s looks like a Route53 hosted zone id: "Z" and
// upper-case letters and digits, ^Z[A-Z0-9]{1,31}$.
func isZoneID(s string) bool {
	return len(s) >= 2 && len(s) <= 32 && s[0] == 'Z' &&
		allBytes(s[1:], func(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' })
}

// isRuleSet reports whether s is an SES receipt rule set name: letters,
// digits, ".", "_" and "-", starting and ending with a letter or digit, at
// most 64, ^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$.
func isRuleSet(s string) bool {
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
	return s != "" && len(s) <= 64 && alnum(s[0]) && alnum(s[len(s)-1]) &&
		allBytes(s, func(c byte) bool { return alnum(c) || c == '.' || c == '_' || c == '-' })
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// checkSchedule validates an EventBridge schedule expression: rate(N unit)
// or cron(min hour day-of-month month day-of-week year).
func checkSchedule(s string) error {
	switch {
	case strings.HasPrefix(s, "rate(") && strings.HasSuffix(s, ")"):
		return checkRate(s[len("rate(") : len(s)-1])
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		return checkCron(s[len("cron(") : len(s)-1])
	}
	return fmt.Errorf("%q is not rate(N unit) or cron(min hour day month weekday year)", s)
}

// checkRate: a positive integer and minute(s), hour(s) or day(s), the unit
// singular for 1 and plural otherwise, as EventBridge requires.
func checkRate(s string) error {
	num, unit, ok := strings.Cut(s, " ")
	if !ok {
		return fmt.Errorf("rate(%s): want rate(N unit), such as rate(1 hour)", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || num[0] == '0' || num[0] == '+' {
		return fmt.Errorf("rate(%s): %q is not a positive whole number", s, num)
	}
	switch unit {
	case "minute", "hour", "day":
		if n != 1 {
			return fmt.Errorf("rate(%s): the unit is plural (%ss) when the value is not 1", s, unit)
		}
	case "minutes", "hours", "days":
		if n == 1 {
			return fmt.Errorf("rate(%s): the unit is singular (%s) when the value is 1", s, strings.TrimSuffix(unit, "s"))
		}
	default:
		return fmt.Errorf("rate(%s): unit %q is not minute(s), hour(s) or day(s)", s, unit)
	}
	return nil
}

// cronField describes one field of an EventBridge cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names for min, min+1, … (JAN…, SUN…)
	day      bool     // day-of-month or day-of-week: "?" and L/W/# allowed
}

var cronFields = [6]cronField{
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, day: true},
	{name: "month", min: 1, max: 12, names: strings.Fields("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC")},
	{name: "day-of-week", min: 1, max: 7, names: strings.Fields("SUN MON TUE WED THU FRI SAT"), day: true},
	{name: "year", min: 1970, max: 2199},
}

// checkCron validates the six fields of an EventBridge cron expression;
// exactly one of day-of-month and day-of-week is "?".
func checkCron(s string) error {
	parts := strings.Fields(s)
	if len(parts) != len(cronFields) {
		return fmt.Errorf("cron(%s): want 6 fields (minutes hours day-of-month month day-of-week year), got %d", s, len(parts))
	}
	for i, f := range cronFields {
		if err := f.check(parts[i]); err != nil {
			return fmt.Errorf("cron(%s): %s field %q: %v", s, f.name, parts[i], err)
		}
	}
	if (parts[2] == "?") == (parts[4] == "?") {
		return fmt.Errorf("cron(%s): exactly one of day-of-month and day-of-week must be ?", s)
	}
	return nil
}

func (f cronField) check(s string) error {
	if s == "?" {
		if !f.day {
			return errors.New("? is only allowed in day-of-month and day-of-week")
		}
		return nil
	}
	for item := range strings.SplitSeq(s, ",") {
		if err := f.checkItem(item); err != nil {
			return err
		}
	}
	return nil
}

// checkItem validates one comma-separated item: *, v, v-v, each with an
// optional /step, or the day specials L, LW, nW (day-of-month) and L, nL,
// n#k (day-of-week).
func (f cronField) checkItem(item string) error {
	if f.day {
		if f.names == nil { // day-of-month
			switch {
			case item == "L", item == "LW":
				return nil
			case strings.HasSuffix(item, "W"):
				_, err := f.value(strings.TrimSuffix(item, "W"))
				return err
			}
		} else { // day-of-week
			if item == "L" {
				return nil
			}
			if d, ok := strings.CutSuffix(item, "L"); ok {
				_, err := f.value(d)
				return err
			}
			if d, k, ok := strings.Cut(item, "#"); ok {
				if _, err := f.value(d); err != nil {
					return err
				}
				if n, err := strconv.Atoi(k); err != nil || n < 1 || n > 5 {
					return fmt.Errorf("%q after # is not 1 to 5", k)
				}
				return nil
			}
		}
	}
	base, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		if n, err := strconv.Atoi(step); err != nil || n < 1 || n > f.max {
			return fmt.Errorf("step %q is not 1 to %d", step, f.max)
		}
	}
	if base == "*" {
		return nil
	}
	lo, hi, isRange := strings.Cut(base, "-")
	a, err := f.value(lo)
	if err != nil {
		return err
	}
	if isRange {
		b, err := f.value(hi)
		if err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("range %s is backwards", base)
		}
	}
	return nil
}

// value parses a number in [min, max] or a name.
func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d is not %d to %d", n, f.min, f.max)
	}
	return n, nil
}
