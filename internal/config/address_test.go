package config

import (
	"net/mail"
	"strconv"
	"strings"
	"testing"
)

// netMailAddress is what parseAddress returned when it was built on
// net/mail.ParseAddress, kept as the reference its own grammar must agree
// with.
func netMailAddress(s string) (string, bool) {
	a, err := mail.ParseAddress(s)
	if err != nil || strings.HasPrefix(s, `"`) || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	for _, r := range local {
		if r > 0x7e {
			return "", false
		}
	}
	d, err := parseDomainName(domain)
	if err != nil {
		return "", false
	}
	return local + "@" + d, true
}

// FuzzParseAddress: parseAddress accepts exactly the bare addresses
// net/mail's parser accepted, and returns the same form.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ops@example.com", "Ops.Team@Example.COM", "a!b#c$d%e&f'g*h+i/j=k?l^m_n`o{p|q}r~s@example.com",
		"x@bücher.example", "öps@example.com", "a..b@example.com", ".a@example.com", "a.@example.com", "a@example.com.",
		"a@.example.com", "a@exa..mple.com", "a@[192.0.2.1]", "a b@example.com", "a@b@example.com", "(c)a@example.com",
		"a@example.com (c)", "=?utf-8?q?a?=@example.com", "a@exa_mple.com", "a@-example.com", "a\xff@example.com",
		"a@ex\xffample.com", "a@xn--bcher-kva.example", "a@EXAMPLE.com", "\"a\"@example.com", "a,b@example.com", "a;b@example.com",
		"a\\b@example.com", "a@example.com\n", "\ta@example.com", "a@example.c\u00f6m", "a@123.example", "a@example.123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseAddress(s)
		want, ok := netMailAddress(s)
		if (err == nil) != ok || got != want {
			t.Errorf("parseAddress(%q) = %q, %v; net/mail's reading: %q, %v", s, got, err, want, ok)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("parseAddress(%q): error %q does not quote the input", s, err)
		}
	})
}
