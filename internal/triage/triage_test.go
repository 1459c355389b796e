package triage

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

const (
	domain = "example.com"
	mx     = "mx1.example.com"
	day    = store.Day("2026-12-01")
)

// sender describes one organisation's report of the day, for gen.
type sender struct {
	org     string
	success int64
	failed  int64
	rt      tlsrpt.ResultType
	mx      string
	ips     []string // sending IPs the failures spread over; none: not given
}

// gen builds one fact per sender, as ingestion would store it.
func gen(senders ...sender) []store.Fact {
	var facts []store.Fact
	for i, s := range senders {
		f := store.Fact{Domain: domain, Day: day, Organization: s.org, OrganizationName: s.org,
			ReportKey: fmt.Sprintf("%s!r%d", s.org, i), ReportID: fmt.Sprintf("r%d", i),
			Success: s.success, Failure: s.failed}
		if s.failed > 0 {
			ips := s.ips
			if len(ips) == 0 {
				ips = []string{""}
			}
			left := s.failed
			for j, ip := range ips {
				n := left / int64(len(ips)-j)
				left -= n
				f.Failures = append(f.Failures, store.FailureCount{ResultType: s.rt, MXHost: s.mx, SendingIP: ip, Count: n})
			}
		}
		facts = append(facts, f)
	}
	return facts
}

// fine senders: organisations succeeding with no failures.
func fine(n int) []sender {
	var l []sender
	for i := range n {
		l = append(l, sender{org: fmt.Sprintf("ok%d.example", i), success: 100})
	}
	return l
}

func failing(org string, n int64, rt tlsrpt.ResultType, ips ...string) sender {
	return sender{org: org, success: 10, failed: n, rt: rt, mx: mx, ips: ips}
}

func checked(findings ...health.Finding) *health.Result {
	return &health.Result{Domain: domain, CheckedAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Findings: findings}
}

func TestVerdicts(t *testing.T) {
	starttls := tlsrpt.ResultSTARTTLSNotSupported
	fetch := tlsrpt.ResultSTSPolicyFetchError
	healthy := checked(health.Finding{Severity: health.SeverityInfo, Code: health.CodeNotReady})
	tests := []struct {
		name    string
		senders []sender
		check   *health.Result
		want    Verdict
		// reason holds a word the reason must contain.
		reason string
		// checks are the codes the verdict must cite.
		checks []health.Code
	}{
		{"misconfiguration: every reporter fails the same way",
			[]sender{failing("a", 50, starttls, "192.0.2.1"), failing("b", 40, starttls, "198.51.100.1"),
				failing("c", 30, starttls, "203.0.113.1")}, healthy, Misconfiguration, "3 of 3", nil},
		{"misconfiguration: 3 of 5 is most (borderline above 50%)",
			append([]sender{failing("a", 50, starttls, "192.0.2.1"), failing("b", 40, starttls, "198.51.100.1"),
				failing("c", 30, starttls, "203.0.113.1")}, fine(2)...), healthy, Misconfiguration, "60%", nil},
		{"misconfiguration: the checker's probe shows the cause, even from one sender",
			append([]sender{failing("a", 2, tlsrpt.ResultCertificateExpired, "192.0.2.1")}, fine(5)...),
			checked(health.Finding{Severity: health.SeverityError, Code: health.CodeSMTPCertExpired, Subject: mx}),
			Misconfiguration, "smtp-cert-expired", []health.Code{health.CodeSMTPCertExpired}},
		{"misconfiguration: MX outside the policy",
			append([]sender{failing("a", 20, tlsrpt.ResultValidationFailure, "192.0.2.1")}, fine(5)...),
			checked(health.Finding{Severity: health.SeverityError, Code: health.CodeMXNotCovered, Subject: mx}),
			Misconfiguration, "mx-not-covered", []health.Code{health.CodeMXNotCovered}},
		{"misconfiguration: policy host unreachable explains fetch errors",
			append([]sender{failing("a", 20, fetch)}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityError, Code: health.CodePolicyFetchFailed}),
			Misconfiguration, "policy-fetch-failed", []health.Code{health.CodePolicyFetchFailed}},
		{"misconfiguration: the checker finds the TLSA records no longer match the MX's certificate",
			append([]sender{failing("a", 6, tlsrpt.ResultTLSAInvalid, "2a01:111:f403::1")}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityError, Code: health.CodeDANEMismatch, Subject: mx}),
			Misconfiguration, "dane-mismatch", []health.Code{health.CodeDANEMismatch}},
		{"misconfiguration: DNSSEC failures while the resolver does not validate the TLSA records",
			append([]sender{failing("a", 6, tlsrpt.ResultDNSSECInvalid, "2a01:111:f403::1")}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityWarning, Code: health.CodeDANEInsecure, Subject: mx}),
			Misconfiguration, "dane-insecure", []health.Code{health.CodeDANEInsecure}},
		{"misconfiguration: DANE required but the TLSA lookup fails",
			append([]sender{failing("a", 6, tlsrpt.ResultDANERequired, "2a01:111:f403::1")}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityWarning, Code: health.CodeDANELookup, Subject: mx}),
			Misconfiguration, "dane-lookup-failed", []health.Code{health.CodeDANELookup}},
		{"borderline: a DANE finding about another MX explains nothing here",
			append([]sender{failing("a", 6, tlsrpt.ResultTLSAInvalid, "2a01:111:f403::1")}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityError, Code: health.CodeDANEMismatch, Subject: "mx2.example.com"}),
			NotEnoughData, "no rule", nil},
		{"interception: one of four from one network, MX healthy",
			append([]sender{failing("a", 20, starttls, "192.0.2.1", "192.0.2.77")}, fine(3)...),
			healthy, Interception, "1 network", nil},
		{"interception: half the reporters but from two networks (few networks)",
			append([]sender{failing("a", 20, tlsrpt.ResultCertificateHostMismatch, "192.0.2.1"),
				failing("b", 20, tlsrpt.ResultCertificateHostMismatch, "192.0.2.9")}, fine(2)...),
			healthy, Interception, "2 of 4", nil},
		{"borderline: a minority but no check result says the MX is healthy",
			append([]sender{failing("a", 20, starttls, "192.0.2.1")}, fine(3)...),
			nil, NotEnoughData, "no check result", nil},
		{"borderline: a minority but the probe has a warning on that MX",
			append([]sender{failing("a", 20, starttls, "192.0.2.1")}, fine(3)...),
			checked(health.Finding{Severity: health.SeverityWarning, Code: health.CodeSMTPCertExpiring, Subject: mx}),
			NotEnoughData, "findings about this MX", []health.Code{health.CodeSMTPCertExpiring}},
		{"borderline: half the reporters from many networks is neither most nor few",
			append([]sender{failing("a", 20, starttls, "192.0.2.1", "198.51.100.1"),
				failing("b", 20, starttls, "203.0.113.1", "100.64.0.1")}, fine(2)...),
			healthy, NotEnoughData, "neither most nor few", nil},
		{"borderline: a minority but nobody else succeeded",
			[]sender{failing("a", 20, starttls, "192.0.2.1"), {org: "b", failed: 5, rt: tlsrpt.ResultDNSSECInvalid, mx: mx},
				{org: "c", failed: 5, rt: tlsrpt.ResultDNSSECInvalid, mx: mx}},
			healthy, NotEnoughData, "no rule", nil},
		{"sender-side: one organisation cannot fetch the policy, the policy host checks fine",
			append([]sender{failing("a", 30, fetch)}, fine(3)...), healthy, SenderSide, "only a", nil},
		{"sender-side: webpki failure of one organisation",
			append([]sender{failing("a", 30, tlsrpt.ResultSTSWebPKIInvalid)}, fine(1)...), healthy, SenderSide, "only a", nil},
		{"borderline: one organisation's fetch error but no check result",
			append([]sender{failing("a", 30, fetch)}, fine(3)...), nil, NotEnoughData, "no check result", nil},
		{"borderline: fetch errors from two of five organisations are not one sender's",
			append([]sender{failing("a", 30, fetch), failing("b", 30, fetch)}, fine(3)...), healthy, NotEnoughData, "no rule", nil},
		{"not enough data: too few failed sessions (borderline below MinFailedSessions)",
			append([]sender{failing("a", 4, starttls, "192.0.2.1")}, fine(3)...), healthy, NotEnoughData, "fewer than 5", nil},
		{"not enough data: only one organisation reports the domain",
			[]sender{failing("a", 500, starttls, "192.0.2.1")}, healthy, NotEnoughData, "fewer than 2 to compare", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Triage(Input{Domain: domain, Facts: gen(tc.senders...), Check: tc.check}, Default)
			var c *Cluster
			for i := range got {
				if slices.Contains(got[i].Failing, "a") && got[i].ResultType == tc.senders[0].rt {
					c = &got[i]
					break
				}
			}
			if c == nil {
				t.Fatalf("no cluster for sender a in %+v", got)
			}
			if c.Verdict != tc.want || !strings.Contains(c.Reason, tc.reason) {
				t.Fatalf("verdict %s (%s), want %s with %q", c.Verdict, c.Reason, tc.want, tc.reason)
			}
			var codes []health.Code
			for _, f := range c.Checks {
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tc.checks) {
				t.Errorf("checks %v, want %v", codes, tc.checks)
			}
			// Every verdict names the failing reports it rests on.
			for _, org := range c.Failing {
				if !slices.ContainsFunc(c.Reports, func(k string) bool { return strings.HasPrefix(k, org+"!") }) {
					t.Errorf("reports %v do not name %s's report", c.Reports, org)
				}
			}
			if tc.check != nil && c.CheckedAt != "2026-12-01T12:00:00Z" {
				t.Errorf("checked_at %q", c.CheckedAt)
			}
		})
	}
}

// TestEvidence checks the cluster's evidence in full for one set.
func TestEvidence(t *testing.T) {
	facts := gen(append([]sender{
		failing("a", 20, tlsrpt.ResultSTARTTLSNotSupported, "192.0.2.1", "192.0.2.200", "2001:db8:1:2::1"),
		{org: "b", success: 5, failed: 3, rt: tlsrpt.ResultSTARTTLSNotSupported, mx: "mx2.example.com"},
	}, fine(2)...)...)
	// A fact of another domain and a conflicting one are not counted.
	other := facts[0]
	other.Domain = "other.example"
	conflict := facts[0]
	conflict.Conflict, conflict.ReportKey, conflict.Organization = true, "x!1", "x"
	facts = append(facts, other, conflict)
	got := Triage(Input{Domain: domain, Facts: facts, Check: checked()}, Default)
	if len(got) != 2 {
		t.Fatalf("%d clusters, want 2: %+v", len(got), got)
	}
	c := got[0]
	want := Cluster{Key: Key{domain, mx, tlsrpt.ResultSTARTTLSNotSupported, day}, FailedSessions: 20,
		Reporters: []string{"a", "b", "ok0.example", "ok1.example"}, Failing: []string{"a"},
		Succeeding: []string{"b", "ok0.example", "ok1.example"},
		Networks:   []string{"192.0.2.0/24", "2001:db8:1::/48"},
		Reports:    []string{"a!r0", "b!r1", "ok0.example!r2", "ok1.example!r3"}}
	if c.Key != want.Key || c.FailedSessions != want.FailedSessions || !slices.Equal(c.Reporters, want.Reporters) ||
		!slices.Equal(c.Failing, want.Failing) || !slices.Equal(c.Succeeding, want.Succeeding) ||
		!slices.Equal(c.Networks, want.Networks) || !slices.Equal(c.Reports, want.Reports) {
		t.Fatalf("cluster\n %+v\nwant\n %+v", c, want)
	}
	if c.Verdict != Interception {
		t.Errorf("verdict %s (%s)", c.Verdict, c.Reason)
	}
	if got[1].MXHost != "mx2.example.com" || got[1].Verdict != NotEnoughData {
		t.Errorf("second cluster %+v", got[1])
	}
}

func TestNetwork(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.77": "192.0.2.0/24", "::ffff:192.0.2.1": "192.0.2.0/24",
		"2001:db8:aa:bb::1": "2001:db8:aa::/48", "": "", "not-an-ip": "",
	} {
		if got := Network(ip); got != want {
			t.Errorf("Network(%q) = %q, want %q", ip, got, want)
		}
	}
}
