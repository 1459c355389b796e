package checker

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// TestCheckCertificate: the result records the validity period of the
// certificate the policy host presented, whether or not a sender would
// accept it, and nothing when no certificate was presented.
func TestCheckCertificate(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	host := func(d string) string { return "mta-sts." + d }
	issue := func(from, until time.Time) func(t *testing.T, d string, p mtasts.Policy) {
		return func(t *testing.T, d string, p mtasts.Policy) {
			w.HTTPS.Handle(host(d), w.CA.Issue(t, from, until, host(d)), checktest.Policy(p.String()))
		}
	}
	for _, tc := range []struct {
		name       string
		after      func(t *testing.T, d string, p mtasts.Policy)
		from, till time.Time // zero: no certificate recorded
		days       int
		code       health.Code // the finding whose message gives days, if any
	}{
		// checktest.World.Serve issues for 90 days from a month ago.
		{name: "healthy", from: testNow.AddDate(0, -1, 0), till: testNow.AddDate(0, 0, 90), days: 90},
		{name: "expiring", after: issue(testNow.AddDate(0, -3, 0), testNow.AddDate(0, 0, 10).Add(time.Hour)),
			from: testNow.AddDate(0, -3, 0), till: testNow.AddDate(0, 0, 10).Add(time.Hour), days: 10, code: health.CodeCertExpiring},
		{name: "last-day", after: issue(testNow.AddDate(0, -3, 0), testNow.Add(5*time.Hour)),
			from: testNow.AddDate(0, -3, 0), till: testNow.Add(5 * time.Hour), days: 0, code: health.CodeCertExpiring},
		{name: "expired", after: issue(testNow.AddDate(0, -3, 0), testNow.AddDate(0, 0, -2)),
			from: testNow.AddDate(0, -3, 0), till: testNow.AddDate(0, 0, -2), days: -2},
		{name: "not-yet-valid", after: issue(testNow.AddDate(0, 0, 1), testNow.AddDate(0, 3, 0)),
			from: testNow.AddDate(0, 0, 1), till: testNow.AddDate(0, 3, 0), days: 92},
		{name: "wrong-name", after: func(t *testing.T, d string, p mtasts.Policy) {
			cert := w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 2, 0), d)
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, from: testNow.AddDate(0, -1, 0), till: testNow.AddDate(0, 2, 0), days: 61},
		{name: "self-signed", after: func(t *testing.T, d string, p mtasts.Policy) {
			cert := checktest.SelfSigned(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 0, 30), host(d))
			w.HTTPS.Handle(host(d), cert, checktest.Policy(p.String()))
		}, from: testNow.AddDate(0, -1, 0), till: testNow.AddDate(0, 0, 30), days: 30},
		{name: "policy-404", after: func(t *testing.T, d string, p mtasts.Policy) {
			// A certificate is presented before the status is known.
			w.HTTPS.Handle(host(d), w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 0, 40), host(d)), checktest.PolicyWith(404, "text/plain", ""))
		}, from: testNow.AddDate(0, -1, 0), till: testNow.AddDate(0, 0, 40), days: 40},
		{name: "host-missing", after: func(t *testing.T, d string, p mtasts.Policy) {
			w.DNS.Remove(host(d), dns.TypeA)
		}},
		{name: "nxdomain", after: func(t *testing.T, d string, p mtasts.Policy) {
			w.DNS.SetRcode(d, dns.RcodeNameError)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "cert-" + tc.name + ".test"
			d, p := healthyDomain(t, name, mtasts.ModeEnforce)
			w.Serve(t, d)
			if tc.after != nil {
				tc.after(t, name, p)
			}
			r := c.Check(context.Background(), testTarget(t, name, p))
			got := r.Certificate
			if tc.till.IsZero() {
				if got != nil {
					t.Fatalf("certificate %+v, want none", *got)
				}
				return
			}
			want := health.CertInfo{Host: host(name), NotBefore: tc.from.UTC(), NotAfter: tc.till.UTC()}
			if got == nil || *got != want {
				t.Fatalf("certificate %+v, want %+v", got, want)
			}
			if n := got.DaysLeft(testNow); n != tc.days {
				t.Errorf("DaysLeft = %d, want %d", n, tc.days)
			}
			if tc.code == "" {
				return
			}
			for _, f := range r.Findings {
				if f.Code == tc.code {
					if s := fmt.Sprintf("expires in %d days", tc.days); !strings.Contains(f.Message, s) {
						t.Errorf("finding %q does not say %q", f.Message, s)
					}
					return
				}
			}
			t.Errorf("no %s finding in %+v", tc.code, r.Findings)
		})
	}
}

func TestCertInfoDaysLeft(t *testing.T) {
	exp := time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC)
	c := health.CertInfo{Host: "mta-sts.example.com", NotAfter: exp}
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{exp.AddDate(0, 0, -10), 10},
		{exp.AddDate(0, 0, -10).Add(-time.Nanosecond), 10},
		{exp.AddDate(0, 0, -10).Add(time.Nanosecond), 9},
		{exp.Add(-time.Nanosecond), 0},
		{exp, 0},
		{exp.Add(time.Nanosecond), -1},
		{exp.AddDate(0, 0, 1), -1},
		{exp.AddDate(0, 0, 1).Add(time.Nanosecond), -2},
		// Another zone: the instant counts, not the clock reading.
		{exp.AddDate(0, 0, -3).In(time.FixedZone("UTC+14", 14*3600)), 3},
	} {
		if got := c.DaysLeft(tc.now); got != tc.want {
			t.Errorf("DaysLeft(%v) = %d, want %d", tc.now, got, tc.want)
		}
		if tc.now.Before(exp) {
			// Where the checker warns, it gives the same number.
			if got, want := c.DaysLeft(tc.now), daysLeft(&x509.Certificate{NotAfter: exp}, tc.now); got != want {
				t.Errorf("DaysLeft(%v) = %d, checker's daysLeft %d", tc.now, got, want)
			}
		}
	}
}
