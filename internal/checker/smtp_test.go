package checker

import (
	"context"
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
)

// TestSMTPProbe probes MX hosts on the loopback SMTP server: each case's
// domain has one MX host, mx.<case>.test, whose certificate, TLS version or
// address the case sets.
func TestSMTPProbe(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	cfg := testConfig(w)
	cfg.SMTPProbe = true
	c := newChecker(t, cfg)
	ago, later := testNow.AddDate(0, -2, 0), testNow.AddDate(0, 3, 0)
	cases := []struct {
		name  string
		setup func(t *testing.T, mx string)
		want  []string
	}{
		{"good", nil, nil},
		{"expired", func(t *testing.T, mx string) {
			w.SMTP.SetCert(mx, w.CA.Issue(t, ago, testNow.Add(-time.Hour), mx), 0)
		}, []string{"error smtp-cert-expired mx.expired.test"}},
		{"expiring", func(t *testing.T, mx string) {
			w.SMTP.SetCert(mx, w.CA.Issue(t, ago, testNow.AddDate(0, 0, 20), mx), 0)
		}, []string{"warning smtp-cert-expiring mx.expiring.test"}},
		{"wrong-name", func(t *testing.T, mx string) {
			w.SMTP.SetCert(mx, w.CA.Issue(t, ago, later, "mail.other.test"), 0)
		}, []string{"error smtp-cert-name-mismatch mx.wrong-name.test"}},
		{"self-signed", func(t *testing.T, mx string) {
			w.SMTP.SetCert(mx, checktest.SelfSigned(t, ago, later, mx), 0)
		}, []string{"error smtp-cert-untrusted mx.self-signed.test"}},
		{"self-signed-expired-wrong-name", func(t *testing.T, mx string) {
			// Every problem is reported, not only the first.
			w.SMTP.SetCert(mx, checktest.SelfSigned(t, ago, testNow.AddDate(0, 0, -1), "localhost"), 0)
		}, []string{"error smtp-cert-untrusted mx.self-signed-expired-wrong-name.test",
			"error smtp-cert-expired mx.self-signed-expired-wrong-name.test",
			"error smtp-cert-name-mismatch mx.self-signed-expired-wrong-name.test"}},
		{"tls11", func(t *testing.T, mx string) {
			w.SMTP.SetCert(mx, w.CA.Issue(t, ago, later, mx), tls.VersionTLS11)
		}, []string{"error smtp-tls-version mx.tls11.test"}},
		{"no-starttls", func(t *testing.T, mx string) {
			w.SMTP.DisableSTARTTLS("127.0.0.2")
			w.DNS.Remove(mx, dns.TypeA)
			w.DNS.Add(mx + ". A 127.0.0.2")
		}, []string{"error smtp-starttls-missing mx.no-starttls.test"}},
		{"refused", func(t *testing.T, mx string) {
			w.DNS.Remove(mx, dns.TypeA)
			w.DNS.Add(mx + ". A 127.0.0.3")
		}, []string{"error smtp-connect-failed mx.refused.test"}},
		{"no-address", func(t *testing.T, mx string) {
			w.DNS.Remove(mx, dns.TypeA)
		}, []string{"error smtp-connect-failed mx.no-address.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".test"
			mx := "mx." + name
			p := mustPolicy(t, "version: STSv1\nmode: enforce\nmx: "+mx+"\nmax_age: 604800\n")
			w.Serve(t, checktest.Domain{Name: name, Policy: p.String(), ID: p.ID(), MX: []string{mx}, TLSRPT: "v=TLSRPTv1; rua=" + testRUA})
			if tc.setup != nil {
				tc.setup(t, mx)
			}
			r := c.Check(context.Background(), testTarget(t, name, p))
			if got, want := summary(r.Findings), sorted(tc.want...); !slices.Equal(got, want) {
				t.Errorf("findings\n got %q\nwant %q\n%+v", got, want, r.Findings)
			}
			checkFindings(t, r.Findings)
		})
	}
}

// TestSMTPProbeOff checks that without SMTPProbe no MX host is contacted.
func TestSMTPProbeOff(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	d, p := healthyDomain(t, "probe-off.test", "enforce")
	w.Serve(t, d)
	w.SMTP.DisableSTARTTLS("127.0.0.1") // would be an error if probed
	r := c.Check(context.Background(), testTarget(t, d.Name, p))
	if len(r.Findings) != 0 {
		t.Errorf("findings %+v, want none", r.Findings)
	}
}

// TestTimeouts checks that a server that never answers costs one timeout,
// reported as such, not a hang.
func TestTimeouts(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	cfg := testConfig(w)
	cfg.Timeout = 300 * time.Millisecond
	c := newChecker(t, cfg)
	d, p := healthyDomain(t, "slow.test", "enforce")
	w.Serve(t, d)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	w.HTTPS.Handle("mta-sts.slow.test", w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 2, 0), "mta-sts.slow.test"),
		httpHandlerFunc(func() { <-block }))
	start := time.Now()
	r := c.Check(context.Background(), testTarget(t, d.Name, p))
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("check took %v with a 300ms timeout", el)
	}
	if got, want := summary(r.Findings), sorted("error policy-fetch-failed"); !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
	if msg := r.Findings[0].Message; !containsAll(msg, "timed out", "https://mta-sts.slow.test/.well-known/mta-sts.txt") {
		t.Errorf("message %q does not say the fetch of the URL timed out", msg)
	}
}
