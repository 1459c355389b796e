package checker

import (
	"cmp"
	"context"
	"crypto/tls"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/mtasts"
)

// TestCheck runs each case against its own domain <name>.test in one
// loopback world: the domain starts healthy (as ststack deploys it, mode
// enforce unless the case says otherwise), before edits what is published,
// after breaks the servers, and the findings must be exactly want.
func TestCheck(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	type tc struct {
		name         string
		mode         mtasts.Mode // default enforce
		unconfigured bool        // check as an arbitrary domain
		before       func(d *checktest.Domain, p *mtasts.Policy)
		after        func(t *testing.T, w *checktest.World, d string, p mtasts.Policy)
		want         []string // "severity code subject"
		noMode       bool     // no mode known
	}
	host := func(d string) string { return "mta-sts." + d }
	good := func(w *checktest.World, names ...string) tls.Certificate {
		return w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 2, 0), names...)
	}
	cases := []tc{
		{name: "healthy", want: nil},
		{name: "healthy-testing", mode: mtasts.ModeTesting, want: nil},
		{name: "healthy-unconfigured", unconfigured: true, want: nil},
		{name: "cname", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// Both the record and the policy host may be CNAMEs to a provider.
			w.DNS.Remove("_mta-sts."+d, dns.TypeANY)
			w.DNS.Remove(host(d), dns.TypeANY)
			w.DNS.Add("_mta-sts."+d+". CNAME _mta-sts.provider.test.",
				"_mta-sts.provider.test. TXT \"v=STSv1; id="+p.ID()+"\"",
				host(d)+". CNAME policy.provider.test.", "policy.provider.test. A 127.0.0.1")
		}},
		{name: "tlsrpt-over-tcp", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// Unrelated TXT records push the answer past 1232 bytes: the
			// UDP answer is truncated and the resolver must retry over TCP.
			for i := range 30 {
				w.DNS.Add("_smtp._tls." + d + ". TXT \"unrelated-verification-token-" + strings.Repeat("x", 40) + strconv.Itoa(i) + "\"")
			}
		}},
		{name: "sts-missing", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Remove("_mta-sts."+d, dns.TypeTXT)
		}, want: []string{"error sts-record-missing"}},
		{name: "sts-missing-unconfigured", unconfigured: true, after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// No record: senders never fetch the policy, nor does the checker.
			w.DNS.Remove("_mta-sts."+d, dns.TypeTXT)
		}, want: []string{"error sts-record-missing"}, noMode: true},
		{name: "policy-short-max-age", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			served := p
			served.MaxAge = 3600
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.Policy(served.String()))
		}, want: []string{"error policy-mismatch", "warning policy-warning max_age"}},
		{name: "sts-multiple", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Add("_mta-sts." + d + ". TXT \"v=STSv1; id=other\"")
		}, want: []string{"error sts-record-multiple"}},
		{name: "sts-multiple-with-unrelated", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// Records not starting with v=STSv1 are ignored (RFC 8461 §3.1).
			w.DNS.Add("_mta-sts." + d + ". TXT \"google-site-verification=abc\"")
		}},
		{name: "sts-split-strings", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// One record in two character-strings is concatenated.
			w.DNS.Remove("_mta-sts."+d, dns.TypeTXT)
			w.DNS.Add("_mta-sts." + d + ". TXT \"v=STSv1; \" \"id=" + p.ID() + "\"")
		}},
		{name: "sts-invalid", before: func(d *checktest.Domain, p *mtasts.Policy) { d.ID = "not-valid!" },
			want: []string{"error sts-record-invalid"}},
		{name: "sts-id-mismatch", before: func(d *checktest.Domain, p *mtasts.Policy) { d.ID = "20240101" },
			want: []string{"error sts-id-mismatch"}},
		{name: "id-ignored-unconfigured", unconfigured: true, before: func(d *checktest.Domain, p *mtasts.Policy) { d.ID = "20240101" }},
		{name: "policy-redirect", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.Redirect("https://www."+d+"/mta-sts.txt"))
		}, want: []string{"error policy-redirect"}},
		{name: "policy-404", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), good(w, host(d)), http.NotFoundHandler())
		}, want: []string{"error policy-status"}},
		{name: "policy-html", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.PolicyWith(200, "text/html; charset=utf-8", p.String()))
		}, want: []string{"error policy-content-type"}},
		{name: "policy-no-content-type", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), good(w, host(d)), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header()["Content-Type"] = nil // no sniffing either
				_, _ = rw.Write([]byte(p.String()))
			}))
		}, want: []string{"error policy-content-type"}},
		{name: "policy-oversize", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			big := p.String() + strings.Repeat("x: y\r\n", 12000)
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.Policy(big))
		}, want: []string{"error policy-too-large"}},
		{name: "policy-oversize-chunked", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// No Content-Length: the limit applies while reading.
			w.HTTPS.Handle(host(d), good(w, host(d)), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/plain")
				for range 20 {
					_, _ = rw.Write([]byte(strings.Repeat("x", 4096)))
					rw.(http.Flusher).Flush()
				}
			}))
		}, want: []string{"error policy-too-large"}},
		{name: "policy-invalid", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.Policy("version: STSv1\r\nmode: sometimes\r\nmax_age: 86400\r\n"))
		}, want: []string{"error policy-invalid"}},
		{name: "policy-mismatch", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			served := p
			served.Mode = mtasts.ModeTesting
			w.HTTPS.Handle(host(d), good(w, host(d)), checktest.Policy(served.String()))
		}, want: []string{"error policy-mismatch"}},
		{name: "policy-host-missing", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Remove(host(d), dns.TypeA)
		}, want: []string{"error policy-fetch-failed"}},
		{name: "cert-expired", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			cert := w.CA.Issue(t, testNow.AddDate(0, -3, 0), testNow.AddDate(0, 0, -2), host(d))
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, want: []string{"error cert-expired mta-sts.cert-expired.test"}},
		{name: "cert-expiring-soon", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			cert := w.CA.Issue(t, testNow.AddDate(0, -3, 0), testNow.AddDate(0, 0, 10), host(d))
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, want: []string{"warning cert-expiring mta-sts.cert-expiring-soon.test"}},
		{name: "cert-expiring-very-soon", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			cert := w.CA.Issue(t, testNow.AddDate(0, -3, 0), testNow.AddDate(0, 0, 3), host(d))
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, want: []string{"error cert-expiring mta-sts.cert-expiring-very-soon.test"}},
		{name: "cert-wrong-name", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// A certificate for the domain, not for mta-sts.<domain>.
			cert := w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 2, 0), d, "www."+d)
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, want: []string{"error cert-name-mismatch mta-sts.cert-wrong-name.test"}},
		{name: "cert-self-signed", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			cert := checktest.SelfSigned(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 2, 0), host(d))
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, want: []string{"error cert-untrusted mta-sts.cert-self-signed.test"}},
		{name: "mx-not-covered", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Add(d+". MX 30 mail.hoster.test.", "mail.hoster.test. A 127.0.0.1")
		}, want: []string{"error mx-not-covered mail.hoster.test"}},
		{name: "mx-not-covered-testing", mode: mtasts.ModeTesting, after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Add(d + ". MX 30 mail.hoster.test.")
		}, want: []string{"warning mx-not-covered mail.hoster.test"}},
		{name: "mx-wildcard-one-label", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			// *.backup.<d> matches one label only (RFC 8461 §4.1).
			w.DNS.Add(d + ". MX 40 a.b2.backup." + d + ".")
		}, want: []string{"error mx-not-covered a.b2.backup.mx-wildcard-one-label.test"}},
		{name: "mx-pattern-stale", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Remove(d, dns.TypeMX)
			w.DNS.Add(d + ". MX 10 mx1." + d + ".")
		}, want: []string{"warning mx-pattern-stale *.backup.mx-pattern-stale.test"}},
		{name: "mx-null", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Remove(d, dns.TypeMX)
			w.DNS.Add(d + ". MX 0 .")
		}, want: []string{"warning mx-null"}},
		{name: "mx-none", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Remove(d, dns.TypeMX)
			w.DNS.Add(d + ". A 127.0.0.1")
		}, want: []string{"warning mx-none", "error mx-not-covered mx-none.test",
			"warning mx-pattern-stale mx1.mx-none.test", "warning mx-pattern-stale *.backup.mx-none.test"}},
		{name: "tlsrpt-missing", before: func(d *checktest.Domain, p *mtasts.Policy) { d.TLSRPT = "" },
			want: []string{"error tlsrpt-record-missing"}},
		{name: "tlsrpt-missing-unconfigured", unconfigured: true, before: func(d *checktest.Domain, p *mtasts.Policy) { d.TLSRPT = "" },
			want: []string{"warning tlsrpt-record-missing"}},
		{name: "tlsrpt-multiple", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.Add("_smtp._tls." + d + ". TXT \"v=TLSRPTv1; rua=mailto:other@example.net\"")
		}, want: []string{"error tlsrpt-record-multiple"}},
		{name: "tlsrpt-invalid", before: func(d *checktest.Domain, p *mtasts.Policy) { d.TLSRPT = "v=TLSRPTv1; rua=http://insecure.example/" },
			want: []string{"error tlsrpt-record-invalid"}},
		{name: "tlsrpt-elsewhere", before: func(d *checktest.Domain, p *mtasts.Policy) { d.TLSRPT = "v=TLSRPTv1; rua=mailto:someone@else.example" },
			want: []string{"error tlsrpt-rua-missing-endpoint " + testRUA}},
		{name: "tlsrpt-extra-rua", before: func(d *checktest.Domain, p *mtasts.Policy) {
			d.TLSRPT = "v=TLSRPTv1; rua=mailto:someone@else.example," + strings.ToUpper(testRUA[:7]) + testRUA[7:]
		}},
		{name: "nxdomain", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.SetRcode(d, dns.RcodeNameError)
		}, want: []string{"error domain-nxdomain"}, noMode: true},
		{name: "servfail", after: func(t *testing.T, w *checktest.World, d string, p mtasts.Policy) {
			w.DNS.SetRcode("_mta-sts."+d, dns.RcodeServerFailure)
		}, want: []string{"error dns-error _mta-sts.servfail.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".test"
			mode := cmp.Or(tc.mode, mtasts.ModeEnforce)
			d, p := healthyDomain(t, name, mode)
			if tc.before != nil {
				tc.before(&d, &p)
			}
			w.Serve(t, d)
			if tc.after != nil {
				tc.after(t, w, name, p)
			}
			target := testTarget(t, name, p)
			if tc.unconfigured {
				target = Target{Domain: name}
			}
			r := c.Check(context.Background(), target)
			if got, want := summary(r.Findings), sorted(tc.want...); !slices.Equal(got, want) {
				t.Errorf("findings\n got %q\nwant %q\n%+v", got, want, r.Findings)
			}
			checkFindings(t, r.Findings)
			if r.Domain != name || !r.CheckedAt.Equal(testNow) {
				t.Errorf("result for %q at %v, want %q at %v", r.Domain, r.CheckedAt, name, testNow)
			}
			wantMode := mode
			if tc.noMode {
				wantMode = ""
			}
			if r.Mode != wantMode {
				t.Errorf("mode %q, want %q", r.Mode, wantMode)
			}
		})
	}
}
