package dashboard

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

func TestCertificateOf(t *testing.T) {
	now := time.Date(2024, 3, 28, 12, 0, 0, 0, time.UTC)
	const host = "mta-sts.example.com"
	cert := func(notBefore, notAfter time.Time) *health.CertInfo {
		return &health.CertInfo{Host: host, NotBefore: notBefore, NotAfter: notAfter}
	}
	res := func(c *health.CertInfo, fs ...health.Finding) *health.Result {
		return &health.Result{Domain: "example.com", CheckedAt: now.Add(-time.Hour), Findings: fs, Certificate: c}
	}
	f := func(sev health.Severity, code health.Code, subject, msg string) health.Finding {
		return health.Finding{Severity: sev, Code: code, Subject: subject, Message: msg}
	}
	issued := now.AddDate(0, -2, 0)
	valid := cert(issued, time.Date(2024, 6, 30, 23, 59, 59, 0, time.UTC)) // 94 days, 11:59:59 left
	tests := []struct {
		name    string
		r       *health.Result
		status  string
		days    int // -1000: nil
		expires string
		shown   string
	}{
		{"no check", nil, CertUnknown, -1000, "", "–"},
		// The check recorded the certificate: its days, whatever the findings say.
		{"healthy", res(valid), CertOK, 94, "2024-06-30", "94 days"},
		{"news only", res(valid, f(health.SeverityInfo, health.CodeReadyToEnforce, "", "ready")), CertOK, 94, "2024-06-30", "94 days"},
		{"expiring", res(cert(issued, time.Date(2024, 4, 9, 11, 0, 0, 0, time.UTC)),
			f(health.SeverityWarning, health.CodeCertExpiring, host, "certificate of "+host+" expires in 12 days (2024-04-09)")),
			CertExpiring, 11, "2024-04-09", "11 days"},
		{"expiring today", res(cert(issued, now.Add(3*time.Hour)),
			f(health.SeverityError, health.CodeCertExpiring, host, "certificate of "+host+" expires in 0 days (2024-03-28)")),
			CertExpiring, 0, "2024-03-28", "0 days"},
		{"expiring tomorrow", res(cert(issued, now.Add(30*time.Hour)),
			f(health.SeverityError, health.CodeCertExpiring, host, "certificate of "+host+" expires in 1 days (2024-03-29)")),
			CertExpiring, 1, "2024-03-29", "1 day"},
		{"expired", res(cert(issued, time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)),
			f(health.SeverityError, health.CodeCertExpired, host, "certificate of "+host+" expired on 2024-03-20")),
			CertExpired, -9, "2024-03-20", "expired 9 days ago"},
		{"expired since the check", res(cert(issued, now.Add(-30*time.Minute)),
			f(health.SeverityError, health.CodeCertExpiring, host, "certificate of "+host+" expires in 0 days (2024-03-28)")),
			CertExpiring, -1, "2024-03-28", "expired 1 day ago"},
		{"not yet valid", res(cert(now.AddDate(0, 0, 2), now.AddDate(0, 3, 0)),
			f(health.SeverityError, health.CodeCertExpired, host, "certificate of "+host+" is not valid before 2024-03-30T12:00:00Z")),
			CertExpired, 92, "2024-06-28", "not yet valid"},
		{"untrusted", res(valid, f(health.SeverityError, health.CodeCertUntrusted, host, "not trusted")), CertInvalid, 94, "2024-06-30", "94 days"},
		{"wrong name", res(valid, f(health.SeverityError, health.CodeCertNameMismatch, host, "for other.example")), CertInvalid, 94, "2024-06-30", "94 days"},
		{"an MX host's certificate is not the policy host's",
			res(valid, f(health.SeverityError, health.CodeSMTPCertExpired, "mx1.example.com", "expired on 2024-01-01")), CertOK, 94, "2024-06-30", "94 days"},
		{"another subject", res(valid, f(health.SeverityError, health.CodeCertExpired, "mta-sts.other.example", "expired on 2024-01-01")),
			CertOK, 94, "2024-06-30", "94 days"},
		{"another host's certificate", res(&health.CertInfo{Host: "mta-sts.other.example", NotAfter: now.AddDate(0, 0, 5)}),
			CertOK, -1000, "", "> 21 days"},
		{"no certificate, unreachable", res(nil, f(health.SeverityError, health.CodePolicyFetchFailed, "", "refused")), CertUnknown, -1000, "", "–"},
		{"certificate, policy 404", res(valid, f(health.SeverityError, health.CodePolicyStatus, "", "404")), CertOK, 94, "2024-06-30", "94 days"},
		// Results stored before the checker recorded certificates: the
		// date a finding names, counted from its start, else nothing.
		{"older: healthy", res(nil), CertOK, -1000, "", "> 21 days"},
		{"older: expiring", res(nil, f(health.SeverityWarning, health.CodeCertExpiring, host, "certificate of "+host+" expires in 12 days (2024-04-09)")),
			CertExpiring, 11, "2024-04-09", "11 days"},
		{"older: expired", res(nil, f(health.SeverityError, health.CodeCertExpired, host, "certificate of "+host+" expired on 2024-03-20")),
			CertExpired, -9, "2024-03-20", "expired 9 days ago"},
		{"older: expiring, no date", res(nil, f(health.SeverityWarning, health.CodeCertExpiring, host, "soon")), CertExpiring, -1000, "", "–"},
		{"older: untrusted", res(nil, f(health.SeverityError, health.CodeCertUntrusted, host, "not trusted")), CertInvalid, -1000, "", "–"},
	}
	for _, tc := range tests {
		c := certificateOf(tc.r, host, now)
		days := -1000
		if c.DaysLeft != nil {
			days = *c.DaysLeft
		}
		if c.Status != tc.status || days != tc.days || c.Expires != tc.expires {
			t.Errorf("%s: %s %d %q, want %s %d %q", tc.name, c.Status, days, c.Expires, tc.status, tc.days, tc.expires)
		}
		if got := formatDaysLeft(c); got != tc.shown {
			t.Errorf("%s: shown as %q, want %q", tc.name, got, tc.shown)
		}
	}
}

// TestCertificateFromChecker reads the days left from what the checker
// really says of a policy host whose certificate expires in 10 days.
func TestCertificateFromChecker(t *testing.T) {
	now := time.Date(2024, 3, 28, 12, 0, 0, 0, time.UTC)
	w := checktest.NewWorld(t, now)
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\r\nmode: testing\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.Serve(t, checktest.Domain{Name: "example.test", Policy: p.String(), ID: p.ID(), MX: []string{"mx1.example.test"}})
	host := "mta-sts.example.test"
	w.HTTPS.Handle(host, w.CA.Issue(t, now.AddDate(0, -1, 0), now.Add(10*24*time.Hour+time.Hour), host), checktest.Policy(p.String()))
	c, err := checker.New(checker.Config{Resolver: w.DNS.Addr, RootCAs: w.CA.Pool, HTTPSPort: w.HTTPS.Port,
		SMTPPort: w.SMTP.Port, Timeout: 3 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Check(context.Background(), checker.Target{Domain: "example.test", Policy: &p})
	// Shown as of the check: the number the checker's finding gives.
	cert := certificateOf(&r, host, now)
	if cert.Status != CertExpiring || cert.DaysLeft == nil || *cert.DaysLeft != 10 || cert.Expires != "2024-04-07" {
		t.Fatalf("certificate %+v from %+v, findings %+v", cert, r.Certificate, r.Findings)
	}
	if !slices.ContainsFunc(r.Findings, func(f health.Finding) bool { return strings.Contains(f.Message, "expires in 10 days") }) {
		t.Errorf("the checker does not say 10 days: %+v", r.Findings)
	}
	if got := formatDaysLeft(cert); got != "10 days" {
		t.Errorf("shown as %q", got)
	}
	// A day and two hours later: 8 whole days left.
	if cert := certificateOf(&r, host, now.Add(26*time.Hour)); cert.DaysLeft == nil || *cert.DaysLeft != 8 {
		t.Errorf("a day later: %+v", cert)
	}
}

func TestReadinessOf(t *testing.T) {
	ready := &health.Result{Findings: []health.Finding{{Code: health.CodeReadyToEnforce, Message: "ready"}}}
	notReady := &health.Result{Findings: []health.Finding{{Code: health.CodeNotReady, Message: "not yet"}}}
	tests := []struct {
		mode mtasts.Mode
		r    *health.Result
		want string
	}{
		{mtasts.ModeEnforce, ready, ReadyEnforced},
		{mtasts.ModeNone, nil, ReadyNone},
		{mtasts.ModeTesting, ready, ReadyYes},
		{mtasts.ModeTesting, notReady, ReadyNo},
		{mtasts.ModeTesting, &health.Result{}, ReadyUnknown},
		{mtasts.ModeTesting, nil, ReadyUnknown},
	}
	for _, tc := range tests {
		if got := readinessOf(tc.mode, tc.r); got.Status != tc.want {
			t.Errorf("%s, %v: %s, want %s", tc.mode, tc.r, got.Status, tc.want)
		}
	}
}

func TestSummarizeCheck(t *testing.T) {
	fs := []health.Finding{
		{Severity: health.SeverityInfo, Code: health.CodeNotReady},
		{Severity: health.SeverityWarning, Code: health.CodeCertExpiring},
		{Severity: health.SeverityError, Code: health.CodeMXNotCovered, Subject: "mx2"},
		{Severity: health.SeverityError, Code: health.CodeMXNotCovered, Subject: "mx3"},
	}
	tests := []struct {
		findings []health.Finding
		status   string
		worst    string
	}{
		{nil, StatusOK, ""},
		{fs[:1], StatusOK, ""},
		{fs[:2], StatusWarning, "cert-expiring"},
		{fs, StatusError, "mx-not-covered mx2"},
	}
	for _, tc := range tests {
		s := summarizeCheck(health.Result{Findings: tc.findings})
		worst := ""
		if s.Worst != nil {
			worst = string(s.Worst.Code)
			if s.Worst.Subject != "" {
				worst += " " + s.Worst.Subject
			}
		}
		if s.Status != tc.status || worst != tc.worst {
			t.Errorf("%d findings: %s %q, want %s %q", len(tc.findings), s.Status, worst, tc.status, tc.worst)
		}
	}
	if got := sortFindings(fs); got[0].Severity != health.SeverityError || got[1].Subject != "mx3" || got[3].Severity != health.SeverityInfo {
		t.Errorf("sortFindings: %+v", got)
	}
}

func BenchmarkOverview(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.h.m.overview(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDomainPage(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := f.get(b, "/domains/example.org?days=90")
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
