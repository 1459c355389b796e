package checker

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
)

// spkiSHA256 is the data of a "3 1 1" TLSA record for cert (RFC 6698 §2.1:
// selector 1 = SubjectPublicKeyInfo, matching type 1 = SHA-256), computed
// here independently of the code under test.
func spkiSHA256(t testing.TB, cert tls.Certificate) string {
	t.Helper()
	c, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// daneSummary is summary restricted to the probe's and DANE's findings.
func daneSummary(fs []health.Finding) []string {
	var out []string
	for _, s := range summary(fs) {
		if strings.Contains(s, " dane-") || strings.Contains(s, " smtp-") {
			out = append(out, s)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// TestDANEState: the loopback resolver holds TLSA records for MX hosts,
// with the AD bit set (SetSecure: a validating resolver vouches for them)
// or not; each case's domain has one MX host, mx.<case>.test. Cases named
// "nopolicy-…" publish no MTA-STS policy. The probe runs in every case.
func TestDANEState(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	cfg := testConfig(w)
	cfg.SMTPProbe = true
	c := newChecker(t, cfg)
	ago, later := testNow.AddDate(0, -2, 0), testNow.AddDate(0, 3, 0)
	type setup struct {
		cert    tls.Certificate
		records []string // TLSA "usage selector type data"
		secure  bool
		policy  bool
	}
	good := func(t *testing.T, mx string) tls.Certificate { return w.CA.Issue(t, ago, later, mx) }
	bad := func(t *testing.T, mx string) tls.Certificate {
		// Self-signed, expired and for another name: every WebPKI check fails.
		return checktest.SelfSigned(t, ago, testNow.AddDate(0, 0, -1), "localhost")
	}
	cases := []struct {
		name      string
		setup     func(t *testing.T, mx string) setup
		want      []string
		validated bool
		match     string
	}{
		{"ee-secure", func(t *testing.T, mx string) setup {
			cert := good(t, mx)
			return setup{cert, []string{"3 1 1 " + spkiSHA256(t, cert)}, true, true}
		}, []string{"info dane-valid mx.ee-secure.test"}, true, "match"},
		{"ee-sha512-full-cert", func(t *testing.T, mx string) setup {
			cert := good(t, mx)
			sum := sha512.Sum512(cert.Certificate[0])
			return setup{cert, []string{"3 0 2 " + hex.EncodeToString(sum[:])}, true, true}
		}, []string{"info dane-valid mx.ee-sha512-full-cert.test"}, true, "match"},
		{"ee-insecure", func(t *testing.T, mx string) setup {
			cert := good(t, mx)
			return setup{cert, []string{"3 1 1 " + spkiSHA256(t, cert)}, false, true}
		}, []string{"warning dane-insecure mx.ee-insecure.test"}, false, ""},
		{"ee-mismatch", func(t *testing.T, mx string) setup {
			other := good(t, mx) // a new key: the records name the old one
			return setup{good(t, mx), []string{"3 1 1 " + spkiSHA256(t, other)}, true, true}
		}, []string{"info dane-valid mx.ee-mismatch.test", "error dane-mismatch mx.ee-mismatch.test"}, true, "mismatch"},
		{"pkix-only", func(t *testing.T, mx string) setup {
			cert := good(t, mx)
			return setup{cert, []string{"1 1 1 " + spkiSHA256(t, cert)}, true, true}
		}, []string{"warning dane-unusable mx.pkix-only.test"}, true, ""},
		{"ta-secure", func(t *testing.T, mx string) setup {
			cert := good(t, mx)
			cert.Certificate = append(cert.Certificate, w.CA.Cert.Raw) // the server sends its trust anchor
			sum := sha256.Sum256(w.CA.Cert.Raw)
			return setup{cert, []string{"2 0 1 " + hex.EncodeToString(sum[:])}, true, true}
		}, []string{"info dane-valid mx.ta-secure.test"}, true, "match"},
		{"ta-not-sent", func(t *testing.T, mx string) setup {
			sum := sha256.Sum256(w.CA.Cert.Raw)
			return setup{good(t, mx), []string{"2 0 1 " + hex.EncodeToString(sum[:])}, true, true}
		}, []string{"info dane-valid mx.ta-not-sent.test", "error dane-mismatch mx.ta-not-sent.test"}, true, "mismatch"},
		// No MTA-STS policy and a DANE-EE match: the WebPKI findings are
		// not what any sender checks, so they are info, not alarms.
		{"nopolicy-ee-covers", func(t *testing.T, mx string) setup {
			cert := bad(t, mx)
			return setup{cert, []string{"3 1 1 " + spkiSHA256(t, cert)}, true, false}
		}, []string{"info dane-valid mx.nopolicy-ee-covers.test",
			"info smtp-cert-untrusted mx.nopolicy-ee-covers.test",
			"info smtp-cert-expired mx.nopolicy-ee-covers.test",
			"info smtp-cert-name-mismatch mx.nopolicy-ee-covers.test"}, true, "match"},
		// The same host under an MTA-STS policy: senders without DANE still
		// check the certificate the WebPKI way, so the errors stay.
		{"policy-ee-still-alarms", func(t *testing.T, mx string) setup {
			cert := bad(t, mx)
			return setup{cert, []string{"3 1 1 " + spkiSHA256(t, cert)}, true, true}
		}, []string{"info dane-valid mx.policy-ee-still-alarms.test",
			"error smtp-cert-untrusted mx.policy-ee-still-alarms.test",
			"error smtp-cert-expired mx.policy-ee-still-alarms.test",
			"error smtp-cert-name-mismatch mx.policy-ee-still-alarms.test"}, true, "match"},
		// Records that are not validated cover nothing.
		{"nopolicy-insecure-no-cover", func(t *testing.T, mx string) setup {
			cert := bad(t, mx)
			return setup{cert, []string{"3 1 1 " + spkiSHA256(t, cert)}, false, false}
		}, []string{"warning dane-insecure mx.nopolicy-insecure-no-cover.test",
			"error smtp-cert-untrusted mx.nopolicy-insecure-no-cover.test",
			"error smtp-cert-expired mx.nopolicy-insecure-no-cover.test",
			"error smtp-cert-name-mismatch mx.nopolicy-insecure-no-cover.test"}, false, ""},
		// A DANE-TA match covers trust only: the name is still checked.
		{"nopolicy-ta-wrong-name", func(t *testing.T, mx string) setup {
			cert := w.CA.Issue(t, ago, later, "other.test")
			cert.Certificate = append(cert.Certificate, w.CA.Cert.Raw)
			sum := sha256.Sum256(w.CA.Cert.Raw)
			return setup{cert, []string{"2 0 1 " + hex.EncodeToString(sum[:])}, true, false}
		}, []string{"info dane-valid mx.nopolicy-ta-wrong-name.test",
			"error dane-mismatch mx.nopolicy-ta-wrong-name.test",
			"error smtp-cert-name-mismatch mx.nopolicy-ta-wrong-name.test"}, true, "mismatch"},
		{"no-tlsa", func(t *testing.T, mx string) setup {
			return setup{good(t, mx), nil, true, true}
		}, nil, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".test"
			mx := "mx." + name
			s := tc.setup(t, mx)
			p := mustPolicy(t, "version: STSv1\nmode: enforce\nmx: "+mx+"\nmax_age: 604800\n")
			tgt := Target{Domain: name}
			if s.policy {
				w.Serve(t, checktest.Domain{Name: name, Policy: p.String(), ID: p.ID(), MX: []string{mx}, TLSRPT: "v=TLSRPTv1; rua=" + testRUA})
				tgt = testTarget(t, name, p)
			} else {
				w.DNS.Add(name+". MX 10 "+mx+".", mx+". A 127.0.0.1")
			}
			w.SMTP.SetCert(mx, s.cert, 0)
			for _, rec := range s.records {
				w.DNS.Add("_25._tcp." + mx + ". TLSA " + rec)
			}
			if s.secure {
				w.DNS.SetSecure("_25._tcp." + mx)
			}
			r := c.Check(context.Background(), tgt)
			if got, want := daneSummary(r.Findings), sorted(tc.want...); !slices.Equal(got, want) {
				t.Errorf("findings\n got %q\nwant %q\n%+v", got, want, r.Findings)
			}
			checkFindings(t, r.Findings)
			if len(s.records) == 0 {
				if len(r.DANE) != 0 {
					t.Errorf("DANE %+v for a host without TLSA records", r.DANE)
				}
				return
			}
			if len(r.DANE) != 1 {
				t.Fatalf("DANE %+v, want the state of %s", r.DANE, mx)
			}
			d := r.DANE[0]
			if d.Host != mx || d.Validated != tc.validated || d.Match != tc.match || !slices.Equal(d.Records, s.records) {
				t.Errorf("DANE state %+v, want host %s validated %v match %q records %q", d, mx, tc.validated, tc.match, s.records)
			}
		})
	}
}

// TestDANEWithoutProbe: without --smtp, the state says whether the records
// are present and validated, and nothing about the certificate.
func TestDANEWithoutProbe(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	d, p := healthyDomain(t, "dane.example", "enforce")
	w.Serve(t, d)
	w.DNS.Add(
		"_25._tcp.mx1.dane.example. TLSA 3 1 1 "+strings.Repeat("ab", 32),
		"_25._tcp.b1.backup.dane.example. TLSA 3 1 1 "+strings.Repeat("cd", 32),
	)
	w.DNS.SetSecure("_25._tcp.mx1.dane.example") // b1's zone is not signed
	r := c.Check(context.Background(), testTarget(t, "dane.example", p))
	want := sorted("info dane-valid mx1.dane.example", "warning dane-insecure b1.backup.dane.example")
	if got := summary(r.Findings); !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if len(r.DANE) != 2 || r.DANE[0].Host != "mx1.dane.example" || !r.DANE[0].Validated || r.DANE[0].Usable != 1 ||
		r.DANE[1].Host != "b1.backup.dane.example" || r.DANE[1].Validated || r.DANE[0].Match != "" {
		t.Errorf("DANE %+v", r.DANE)
	}
}

// TestDANELookupFailed: a TLSA lookup that fails (SERVFAIL, which is what a
// validating resolver answers for records that fail validation) is a
// warning: DANE senders defer mail to the host meanwhile.
func TestDANELookupFailed(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	d, p := healthyDomain(t, "bogus.example", "enforce")
	w.Serve(t, d)
	w.DNS.SetRcode("_25._tcp.mx1.bogus.example", dns.RcodeServerFailure)
	r := c.Check(context.Background(), testTarget(t, "bogus.example", p))
	if got, want := summary(r.Findings), []string{"warning dane-lookup-failed mx1.bogus.example"}; !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	checkFindings(t, r.Findings)
}

// TestDNSFixtureAD: the fixture sets AD only for secure names and only
// when the query asks (AD or DO), as a validating resolver does.
func TestDNSFixtureAD(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	w.DNS.Add("_25._tcp.mx.a.test. TLSA 3 1 1 "+strings.Repeat("ab", 32), "_25._tcp.mx.b.test. TLSA 3 1 1 "+strings.Repeat("ab", 32))
	w.DNS.SetSecure("_25._tcp.mx.a.test")
	ask := func(name string, ad bool) bool {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeTLSA)
		q.AuthenticatedData = ad
		m, err := dns.ExchangeContext(context.Background(), q, w.DNS.Addr)
		if err != nil {
			t.Fatal(err)
		}
		return m.AuthenticatedData
	}
	if !ask("_25._tcp.mx.a.test.", true) || ask("_25._tcp.mx.a.test.", false) || ask("_25._tcp.mx.b.test.", true) {
		t.Error("AD bit not as a validating resolver sets it")
	}
}
