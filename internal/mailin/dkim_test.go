package mailin

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/store"
)

// TestVerify: DKIM pass, fail and absent, with keys made here and served by
// a loopback DNS server; the key's service type and the submitter decide
// as RFC 8460 §5.3 says.
func TestVerify(t *testing.T) {
	d := checktest.NewDNS(t)
	var (
		plain   = newSigner(t, d, "rsa", "google.com", "rsa1", "k=rsa")
		tlsOnly = newSigner(t, d, "ed25519", "google.com", "tls", "s=tlsrpt")
		star    = newSigner(t, d, "ed25519", "google.com", "star", "s=*")
		email   = newSigner(t, d, "ed25519", "google.com", "mail", "s=email")
		both    = newSigner(t, d, "ed25519", "google.com", "both", "s = email : TLSRPT")
		other   = newSigner(t, d, "ed25519", "other.example", "o1", "s=tlsrpt")
		sub     = newSigner(t, d, "ed25519", "mail.google.com", "s1", "")
		tld     = newSigner(t, d, "ed25519", "com", "t1", "")
		gone    = newSigner(t, nil, "ed25519", "google.com", "gone", "")
		broken  = newSigner(t, nil, "ed25519", "google.com", "broken", "")
	)
	d.SetRcode("broken._domainkey.google.com", dns.RcodeServerFailure)
	report := sample(t, googleJSON)
	msg := func(h map[string]string) []byte { return reportMessage(t, report, h) }
	base := msg(nil)
	tampered := func(b []byte) []byte {
		return bytes.Replace(b, []byte("This is an aggregate TLS report."), []byte("This is an aggregate TLS report!"), 1)
	}

	tests := []struct {
		name      string
		msg       []byte
		result    string
		domain    string
		reason    string // substring of the reason
		temporary bool
	}{
		{"rsa key without s=", plain.sign(t, base), store.DKIMPass, "google.com", "", false},
		{"key for tlsrpt", tlsOnly.sign(t, base), store.DKIMPass, "google.com", "", false},
		{"key for every service", star.sign(t, base), store.DKIMPass, "google.com", "", false},
		{"key for email and tlsrpt", both.sign(t, base), store.DKIMPass, "google.com", "", false},
		{"key for email only", email.sign(t, base), store.DKIMFail, "google.com", "not tlsrpt", false},
		{"unsigned", base, store.DKIMNone, "", "no DKIM-Signature", false},
		{"body changed after signing", tampered(plain.sign(t, base)), store.DKIMFail, "google.com", "body hash did not verify", false},
		{"header changed after signing", bytes.Replace(tlsOnly.sign(t, base), []byte("<test-1@"), []byte("<test-2@"), 1),
			store.DKIMFail, "google.com", "signature did not verify", false},
		{"signed by another domain", other.sign(t, base), store.DKIMFail, "other.example", "not by the submitter google.com", false},
		{"submitter from From when no header", plain.sign(t, msg(map[string]string{"TLS-Report-Submitter": ""})),
			store.DKIMPass, "google.com", "", false},
		{"From of another domain, no submitter header", plain.sign(t, msg(map[string]string{"TLS-Report-Submitter": "", "From": "a@evil.example"})),
			store.DKIMFail, "google.com", "not by the submitter evil.example", false},
		{"signing domain below the submitter", sub.sign(t, base), store.DKIMPass, "mail.google.com", "", false},
		{"submitter below the signing domain", plain.sign(t, msg(map[string]string{"TLS-Report-Submitter": "Reports.Google.COM."})),
			store.DKIMPass, "google.com", "", false},
		{"one-label signing domain", tld.sign(t, base), store.DKIMFail, "com", "not by the submitter", false},
		{"no key published", gone.sign(t, base), store.DKIMFail, "google.com", "no key", false},
		{"key lookup fails (SERVFAIL)", broken.sign(t, base), "", "", "", true},
		{"another domain's failure, the submitter's pass", other.sign(t, tampered(plain.sign(t, base))),
			store.DKIMFail, "google.com", "body hash", false},
		{"submitter's signature passes beside another", other.sign(t, plain.sign(t, base)), store.DKIMPass, "google.com", "", false},
		{"lookup failure of another domain is no reason to retry", newSigner(t, nil, "ed25519", "x.example", "s", "").sign(t, base),
			store.DKIMFail, "x.example", "", false},
		{"not an e-mail", []byte("no header at all"), store.DKIMFail, "", "header", false},
	}
	v := NewVerifier(lookupOf(t, d))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tc.msg)
			if tc.temporary {
				if !errors.Is(err, ErrTemporary) {
					t.Fatalf("Verify = %+v, %v; want ErrTemporary", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Result != tc.result || got.Domain != tc.domain || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("Verify = %+v; want result %s, domain %q, reason containing %q", got, tc.result, tc.domain, tc.reason)
			}
			if got.Result == store.DKIMPass && got.Reason != "" {
				t.Errorf("pass with a reason: %q", got.Reason)
			}
		})
	}
}

// TestVerifyRealSamples: the real report e-mails are signed (Google's with
// an expiry long past, Microsoft's with a key this DNS does not have): they
// fail, naming their signing domain, and never reach the internet.
func TestVerifyRealSamples(t *testing.T) {
	d := checktest.NewDNS(t)
	v := NewVerifier(lookupOf(t, d))
	for _, tc := range []struct{ file, domain, reason string }{
		{googleEML, "google.com", "expired"},
		{microsoftEML, "microsoft.com", "no key"},
	} {
		got, err := v.Verify(context.Background(), sample(t, tc.file))
		if err != nil || got.Result != store.DKIMFail || got.Domain != tc.domain || !strings.Contains(got.Reason, tc.reason) {
			t.Errorf("%s: Verify = %+v, %v; want fail by %s (%s)", tc.file, got, err, tc.domain, tc.reason)
		}
	}
	if d.Queries() == 0 {
		t.Error("no key was looked up in the loopback DNS")
	}
}

func TestWithoutServices(t *testing.T) {
	tests := []struct {
		in, out  string
		services []string
		had      bool
	}{
		{"v=DKIM1; p=abc", "v=DKIM1; p=abc", nil, false},
		{"v=DKIM1; s=tlsrpt; p=abc", "v=DKIM1; p=abc", []string{"tlsrpt"}, true},
		{"v=DKIM1; s = Email : * ; p=abc", "v=DKIM1; p=abc", []string{"email", "*"}, true},
		{"s=tlsrpt", "", []string{"tlsrpt"}, true},
		{"v=DKIM1; p=abc; s=", "v=DKIM1; p=abc", []string{""}, true},
		{"v=DKIM1; sx=tlsrpt; p=a=b", "v=DKIM1; sx=tlsrpt; p=a=b", nil, false},
		{"", "", nil, false},
	}
	for _, tc := range tests {
		out, services, had := withoutServices(tc.in)
		if out != tc.out || !slices.Equal(services, tc.services) || had != tc.had {
			t.Errorf("withoutServices(%q) = %q, %q, %v; want %q, %q, %v", tc.in, out, services, had, tc.out, tc.services, tc.had)
		}
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		d, submitter string
		want         bool
	}{
		{"google.com", "google.com", true},
		{"google.com", "reports.google.com", true},
		{"mail.google.com", "google.com", true},
		{"google.com", "notgoogle.com", false},
		{"oogle.com", "google.com", false},
		{"com", "google.com", false},
		{"google.com", "", false},
		{"", "google.com", false},
		{"microsoft.com", "google.com", false},
		// The public suffix list decides (issue 14 §2): a public suffix
		// aligns with nothing, names under one organisational domain align.
		{"example.com", "com", false},
		{"com", "com", false},
		{"attacker.co.uk", "co.uk", false},
		{"evil.github.io", "github.io", false},
		{"evil.github.io", "victim.github.io", false},
		{"mail.google.com", "reports.google.com", true},
		{"google.co.uk", "smtp.google.co.uk", true},
		{"example", "example", false},
	}
	for _, tc := range tests {
		if got := aligned(tc.d, tc.submitter); got != tc.want {
			t.Errorf("aligned(%q, %q) = %v, want %v", tc.d, tc.submitter, got, tc.want)
		}
	}
}

func TestSubmitterOf(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"TLS-Report-Submitter: Google.com.\r\nFrom: a@b.example\r\n\r\nbody", "google.com"},
		{"From: Reporter <noreply@Microsoft.com>\r\n\r\nbody", "microsoft.com"},
		{"TLS-Report-Submitter: not a domain\r\nFrom: a@b.example\r\n\r\n", "b.example"},
		{"TLS-Report-Submitter: x@y.example\r\nFrom: a@b.example\r\n\r\n", "b.example"},
		{"Subject: none\r\n\r\n", ""},
		{"From: not an address\r\n\r\n", ""},
		{"garbage", ""},
	}
	for _, tc := range tests {
		if got := submitterOf([]byte(tc.msg)); got != tc.want {
			t.Errorf("submitterOf(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestReason(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct{ in, want string }{
		{"a\nb\tc", "a b c"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{long, long[:254]},
	}
	for _, tc := range tests {
		if got := reason(tc.in); got != tc.want {
			t.Errorf("reason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolverLookup(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "dns.example"} {
		if _, err := dnsresolve.NewStd(addr); err == nil {
			t.Errorf("NewStd(%q): no error", addr)
		}
	}
	d := checktest.NewDNS(t)
	d.Add(`k._domainkey.example.com. TXT "v=DKIM1; " "p=abc"`)
	txt, err := lookupOf(t, d).LookupTXT(context.Background(), "k._domainkey.example.com")
	if got := txt.Joined(); err != nil || !slices.Equal(got, []string{"v=DKIM1; p=abc"}) {
		t.Errorf("lookup = %q, %v; want the strings of the record joined", got, err)
	}
}

// TestOrganizationAligned: a signing domain speaks for a report's
// organisation only when the organization-name names that domain's
// organisational domain (issue 14 §2).
func TestOrganizationAligned(t *testing.T) {
	tests := []struct {
		d, org string
		want   bool
	}{
		{"google.com", "Google Inc.", true},
		{"google.com", "Google LLC", true},
		{"mail.google.com", "google llc", true},
		{"microsoft.com", "Microsoft Corporation", true},
		{"mail.ru", "Mail.ru", true},
		{"corp.mail.ru", "Mail.Ru", true},
		{"company-x.example", "Company-X", true},
		{"attacker.example", "Google LLC", false},
		{"attacker.example", "attacker", true},
		{"googl.com", "Google LLC", false},
		{"google.com", "Googleplex", false},
		{"com", "com", false},
		{"google.com", "", false},
		{"", "Google LLC", false},
		{"mail.ru", "gmail.ru", false},
	}
	for _, tc := range tests {
		if got := organizationAligned(tc.d, tc.org); got != tc.want {
			t.Errorf("organizationAligned(%q, %q) = %v, want %v", tc.d, tc.org, got, tc.want)
		}
	}
}
