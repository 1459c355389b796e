package sample

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

var end = time.Date(2024, 3, 27, 9, 0, 0, 0, time.UTC)

func exampleConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load("../../ststack.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// documentation ranges: RFC 5737 and RFC 3849.
var docRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
}

func inDocRange(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	for _, p := range docRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestReports(t *testing.T) {
	cfg := exampleConfig(t)
	reps := Reports(cfg, Options{End: end})
	days := map[store.Day]bool{}
	perDomain := map[string]int64{}
	failing := map[string]map[tlsrpt.ResultType]bool{}
	for _, r := range reps {
		if !IsSample(r.OrganizationName, r.ReportID) || !strings.HasSuffix(r.ContactInfo, ".invalid") {
			t.Errorf("%s: not marked as sample: %q %q", r.ReportID, r.OrganizationName, r.ContactInfo)
		}
		days[store.DayOf(r.Start)] = true
		// Round trip through the wire form, as ingest reads it.
		raw, err := Gzip(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := tlsrpt.ParseReport(raw, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", r.ReportID, err)
		}
		// The one deviation, on purpose, as Mail.ru's reports have it:
		// policy fetch errors without a sending MTA.
		for _, q := range back.Quirks {
			if !strings.Contains(q, "sending-mta-ip: missing") {
				t.Errorf("%s: quirk %q", r.ReportID, q)
			}
		}
		if !reflect.DeepEqual(back.Policies, r.Policies) || back.ReportID != r.ReportID || !back.Start.Equal(r.Start) {
			t.Errorf("%s: round trip\n%+v\nwant\n%+v", r.ReportID, back.Policies, r.Policies)
		}
		for _, p := range r.Policies {
			d, ok := cfg.Domain(p.Domain)
			if !ok {
				t.Fatalf("%s: domain %s not configured", r.ReportID, p.Domain)
			}
			var sum int64
			for _, f := range p.Failures {
				sum += f.Count
				for _, ip := range []string{f.SendingMTAIP, f.ReceivingIP} {
					if ip != "" && !inDocRange(ip) {
						t.Errorf("%s: address %s outside the documentation ranges", r.ReportID, ip)
					}
				}
				if f.ReceivingMXHostname != "" {
					pol := d.Policy
					if !pol.Match(f.ReceivingMXHostname) {
						t.Errorf("%s: MX %s does not match the policy of %s", r.ReportID, f.ReceivingMXHostname, d.Name)
					}
				}
				if failing[p.Domain] == nil {
					failing[p.Domain] = map[tlsrpt.ResultType]bool{}
				}
				failing[p.Domain][f.ResultType] = true
			}
			if sum != p.Failure || p.Success <= 0 {
				t.Errorf("%s: failure %d, details sum to %d, success %d", r.ReportID, p.Failure, sum, p.Success)
			}
			perDomain[p.Domain] += p.Success + p.Failure
		}
	}
	if len(days) != DefaultDays || !days[store.DayOf(end)] || !days[store.DayOf(end).AddDays(1-DefaultDays)] {
		t.Errorf("%d days, want the %d days ending %s", len(days), DefaultDays, store.DayOf(end))
	}
	// Failures of varied types on the domain in enforce only.
	if len(failing) != 1 || len(failing["example.org"]) < 4 || !failing["example.org"][tlsrpt.ResultCertificateExpired] {
		t.Errorf("failures: %v", failing)
	}
	if !(perDomain["example.com"] > perDomain["example.org"] && perDomain["example.org"] > perDomain["mail.example.com"]) {
		t.Errorf("volumes %v", perDomain)
	}
}

// TestDeterministic: the same seed gives the same bytes for a day whatever
// day the data is generated on; another seed gives other data.
func TestDeterministic(t *testing.T) {
	cfg := exampleConfig(t)
	byID := func(o Options) map[string][]byte {
		m := map[string][]byte{}
		for _, r := range Reports(cfg, o) {
			raw, err := Gzip(r)
			if err != nil {
				t.Fatal(err)
			}
			m[r.ReportID] = raw
		}
		return m
	}
	a, b := byID(Options{End: end}), byID(Options{End: end.AddDate(0, 0, 3)})
	same := 0
	for id, raw := range a {
		if other, ok := b[id]; ok {
			same++
			if !bytes.Equal(raw, other) {
				t.Errorf("%s differs between two windows", id)
			}
		}
	}
	if same < len(a)*3/4 {
		t.Errorf("only %d of %d reports in both windows", same, len(a))
	}
	c := byID(Options{End: end, Seed: 7})
	differ := 0
	for id, raw := range a {
		if !bytes.Equal(raw, c[id]) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("another seed gives the same data")
	}
	if n := len(Reports(cfg, Options{End: end, Days: 7})); n == 0 || n > len(a)/3 {
		t.Errorf("7 days: %d reports of %d for 30", n, len(a))
	}
}

func TestIsSample(t *testing.T) {
	tests := []struct {
		org, id string
		want    bool
	}{
		{"Google LLC (sample)", "sample-google-2024-03-01-example.com", true},
		{" Yahoo Inc. (sample) ", "sample-x", true},
		{"Google LLC", "sample-google-2024-03-01-example.com", false},
		{"Google LLC (sample)", "2024-03-01T00:00:00Z_example.com", false},
		{"(sample)", "sample-x", false},
		{"", "", false},
	}
	for _, tc := range tests {
		if got := IsSample(tc.org, tc.id); got != tc.want {
			t.Errorf("IsSample(%q, %q) = %v", tc.org, tc.id, got)
		}
	}
}

// TestLoad ingests the sample data twice: the second time stores nothing
// new, and the stored sums are those of the reports.
func TestLoad(t *testing.T) {
	cfg := exampleConfig(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o := Options{End: end}
	first, err := Load(ctx, in, st, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	reps := Reports(cfg, o)
	if first.Reports != len(reps) || first.Created != len(reps) || first.Checks != len(cfg.Domains) {
		t.Errorf("first load: %+v, want %d reports", first, len(reps))
	}
	from, to := store.DayOf(end).AddDays(-40), store.DayOf(end)
	sums := func() map[string]store.Summary {
		m := map[string]store.Summary{}
		for _, d := range cfg.Domains {
			s, err := st.Summary(ctx, d.Name, from, to)
			if err != nil {
				t.Fatal(err)
			}
			m[d.Name] = s
		}
		return m
	}
	before := sums()
	second, err := Load(ctx, in, st, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Created != 0 || second.Reports != first.Reports {
		t.Errorf("second load: %+v", second)
	}
	if after := sums(); !reflect.DeepEqual(after, before) {
		t.Error("the second load changed the stored sums")
	}
	for _, d := range cfg.Domains {
		var success, failure int64
		n := 0
		for _, r := range reps {
			for _, p := range r.Policies {
				if p.Domain == d.Name {
					success += p.Success
					failure += p.Failure
					n++
				}
			}
		}
		if s := before[d.Name]; s.Reports != n || s.Success != success || s.Failure != failure {
			t.Errorf("%s: stored %d reports %d/%d, generated %d %d/%d", d.Name, s.Reports, s.Success, s.Failure, n, success, failure)
		}
		last, ok, err := st.Last(ctx, d.Name)
		if err != nil || !ok || last.Domain != d.Name {
			t.Errorf("%s: last check %v %v %v", d.Name, last, ok, err)
		}
	}
}

func TestChecks(t *testing.T) {
	cfg := exampleConfig(t)
	o := Options{End: end}
	checks := Checks(cfg, o)
	if len(checks) != len(cfg.Domains) {
		t.Fatalf("%d checks", len(checks))
	}
	// The sts failures of the last 14 days, as the checker would sum them.
	var failed, total int64
	for _, r := range Reports(cfg, o) {
		if store.DayOf(r.Start) < store.DayOf(end).AddDays(-13) {
			continue
		}
		for _, p := range r.Policies {
			if p.Domain == "example.org" {
				failed += p.Failure
				total += p.Success + p.Failure
			}
		}
	}
	for i, c := range checks {
		d := cfg.Domains[i]
		if c.Domain != d.Name || c.Mode != d.Policy.Mode || !c.CheckedAt.After(end.Truncate(24*time.Hour)) {
			t.Errorf("check %d: %+v", i, c)
		}
		for _, f := range c.Findings {
			if !strings.HasPrefix(f.Message, "sample: ") {
				t.Errorf("%s: finding %q not marked as sample", c.Domain, f.Message)
			}
		}
		// Every policy host presents a certificate valid at the check; its
		// days left are those of the cert-expiring finding, when there is one.
		cert := c.Certificate
		if cert == nil || cert.Host != d.PolicyHost() || cert.NotBefore.After(c.CheckedAt) || !cert.NotAfter.After(c.CheckedAt) {
			t.Errorf("%s: certificate %+v at %v", c.Domain, cert, c.CheckedAt)
			continue
		}
		days := cert.DaysLeft(c.CheckedAt)
		expiring := slices.IndexFunc(c.Findings, func(f health.Finding) bool { return f.Code == health.CodeCertExpiring })
		switch {
		case expiring >= 0:
			want := fmt.Sprintf("expires in %d days (%s)", days, cert.NotAfter.Format(time.DateOnly))
			if f := c.Findings[expiring]; days >= health.CertWarnDays || f.Subject != cert.Host || !strings.Contains(f.Message, want) {
				t.Errorf("%s: finding %q, certificate %+v: want %q", c.Domain, f.Message, cert, want)
			}
		case days < health.CertWarnDays:
			t.Errorf("%s: %d days left without a cert-expiring finding", c.Domain, days)
		}
		switch d.Name {
		case "example.org":
			want := fmt.Sprintf("senders reported %d failed of %d sessions", failed, total)
			if !c.Has(health.CodeReportsSTSFailures) || c.Count(health.SeverityError) != 1 || !strings.Contains(c.Findings[0].Message, want) {
				t.Errorf("example.org: %+v, want %q", c.Findings, want)
			}
		case "example.com":
			if !c.Has(health.CodeReadyToEnforce) || len(c.Findings) != 1 {
				t.Errorf("example.com: %+v", c.Findings)
			}
		case "mail.example.com":
			if !c.Has(health.CodeCertExpiring) || !c.Has(health.CodeReadyToEnforce) {
				t.Errorf("mail.example.com: %+v", c.Findings)
			}
		}
	}
	// A domain in mode testing with too few sessions is not ready.
	small := &config.Config{Domains: []config.Domain{cfg.Domains[2]}, Checker: config.Checker{ReadinessMinSessions: 1 << 40}}
	if c := Checks(small, o)[0]; !c.Has(health.CodeNotReady) || c.Mode != mtasts.ModeTesting {
		t.Errorf("not ready: %+v", c)
	}
}

func BenchmarkReports(b *testing.B) {
	cfg := exampleConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		Reports(cfg, Options{End: end})
	}
}
