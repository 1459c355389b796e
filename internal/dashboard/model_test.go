package dashboard

import (
	"context"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/mtasts"
)

func TestCertificateOf(t *testing.T) {
	now := time.Date(2024, 3, 28, 12, 0, 0, 0, time.UTC)
	const host = "mta-sts.example.com"
	res := func(fs ...checker.Finding) *checker.Result {
		return &checker.Result{Domain: "example.com", CheckedAt: now, Findings: fs}
	}
	f := func(sev checker.Severity, code checker.Code, subject, msg string) checker.Finding {
		return checker.Finding{Severity: sev, Code: code, Subject: subject, Message: msg}
	}
	tests := []struct {
		name    string
		r       *checker.Result
		status  string
		days    int // -1000: nil
		expires string
	}{
		{"no check", nil, CertUnknown, -1000, ""},
		{"healthy", res(), CertOK, -1000, ""},
		{"news only", res(f(checker.SeverityInfo, checker.CodeReadyToEnforce, "", "ready")), CertOK, -1000, ""},
		{"expiring", res(f(checker.SeverityWarning, checker.CodeCertExpiring, host, "certificate of "+host+" expires in 12 days (2024-04-09)")), CertExpiring, 11, "2024-04-09"},
		{"expiring tomorrow", res(f(checker.SeverityError, checker.CodeCertExpiring, host, "certificate of "+host+" expires in 0 days (2024-03-29)")), CertExpiring, 0, "2024-03-29"},
		{"expired", res(f(checker.SeverityError, checker.CodeCertExpired, host, "certificate of "+host+" expired on 2024-03-20")), CertExpired, -9, "2024-03-20"},
		{"expiring, no date", res(f(checker.SeverityWarning, checker.CodeCertExpiring, host, "soon")), CertExpiring, -1000, ""},
		{"untrusted", res(f(checker.SeverityError, checker.CodeCertUntrusted, host, "not trusted")), CertInvalid, -1000, ""},
		{"wrong name", res(f(checker.SeverityError, checker.CodeCertNameMismatch, host, "for other.example")), CertInvalid, -1000, ""},
		{"unreachable", res(f(checker.SeverityError, checker.CodePolicyFetchFailed, "", "refused")), CertUnknown, -1000, ""},
		{"an MX host's certificate is not the policy host's",
			res(f(checker.SeverityError, checker.CodeSMTPCertExpired, "mx1.example.com", "expired on 2024-01-01")), CertOK, -1000, ""},
		{"another subject", res(f(checker.SeverityError, checker.CodeCertExpired, "mta-sts.other.example", "expired on 2024-01-01")), CertOK, -1000, ""},
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
	cert := certificateOf(&r, host, now)
	if cert.Status != CertExpiring || cert.DaysLeft == nil || *cert.DaysLeft != 9 || cert.Expires != "2024-04-07" {
		t.Fatalf("certificate %+v from findings %+v", cert, r.Findings)
	}
	if got := formatDaysLeft(cert); got != "9 days" {
		t.Errorf("shown as %q", got)
	}
}

func TestReadinessOf(t *testing.T) {
	ready := &checker.Result{Findings: []checker.Finding{{Code: checker.CodeReadyToEnforce, Message: "ready"}}}
	notReady := &checker.Result{Findings: []checker.Finding{{Code: checker.CodeNotReady, Message: "not yet"}}}
	tests := []struct {
		mode mtasts.Mode
		r    *checker.Result
		want string
	}{
		{mtasts.ModeEnforce, ready, ReadyEnforced},
		{mtasts.ModeNone, nil, ReadyNone},
		{mtasts.ModeTesting, ready, ReadyYes},
		{mtasts.ModeTesting, notReady, ReadyNo},
		{mtasts.ModeTesting, &checker.Result{}, ReadyUnknown},
		{mtasts.ModeTesting, nil, ReadyUnknown},
	}
	for _, tc := range tests {
		if got := readinessOf(tc.mode, tc.r); got.Status != tc.want {
			t.Errorf("%s, %v: %s, want %s", tc.mode, tc.r, got.Status, tc.want)
		}
	}
}

func TestSummarizeCheck(t *testing.T) {
	fs := []checker.Finding{
		{Severity: checker.SeverityInfo, Code: checker.CodeNotReady},
		{Severity: checker.SeverityWarning, Code: checker.CodeCertExpiring},
		{Severity: checker.SeverityError, Code: checker.CodeMXNotCovered, Subject: "mx2"},
		{Severity: checker.SeverityError, Code: checker.CodeMXNotCovered, Subject: "mx3"},
	}
	tests := []struct {
		findings []checker.Finding
		status   string
		worst    string
	}{
		{nil, StatusOK, ""},
		{fs[:1], StatusOK, ""},
		{fs[:2], StatusWarning, "cert-expiring"},
		{fs, StatusError, "mx-not-covered mx2"},
	}
	for _, tc := range tests {
		s := summarizeCheck(checker.Result{Findings: tc.findings})
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
	if got := sortFindings(fs); got[0].Severity != checker.SeverityError || got[1].Subject != "mx3" || got[3].Severity != checker.SeverityInfo {
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
