package checker

import (
	"context"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
)

// delegatedWorld serves client.test as a delegated client domain whose
// CNAMEs point into ops.test, and returns its target.
func delegatedWorld(t *testing.T) (*checktest.World, Target) {
	t.Helper()
	w := checktest.NewWorld(t, testNow)
	d, p := healthyDomain(t, "client.test", "enforce")
	w.ServeDelegated(t, d, "k1.mta-sts.ops.test", "k1._mta-sts.ops.test", "k1._smtp._tls.ops.test")
	tg := testTarget(t, "client.test", p)
	tg.Delegated = []CNAME{
		{"mta-sts.client.test", "k1.mta-sts.ops.test"},
		{"_mta-sts.client.test", "k1._mta-sts.ops.test"},
		{"_smtp._tls.client.test", "k1._smtp._tls.ops.test"},
	}
	return w, tg
}

// TestDelegatedChain: with the three CNAMEs, the whole chain a sender
// follows (CNAME, TXT value, policy over HTTPS with a valid certificate
// for mta-sts.<client>, _smtp._tls) passes; each CNAME that is missing or
// points elsewhere is a finding on that name alone.
func TestDelegatedChain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		break_ func(w *checktest.World)
		want   []string
	}{
		{"healthy", func(*checktest.World) {}, []string{}},
		{"_mta-sts elsewhere", func(w *checktest.World) {
			w.DNS.Remove("_mta-sts.client.test", dns.TypeCNAME)
			w.DNS.Add("_mta-sts.client.test. CNAME k1._mta-sts.other.test.",
				`k1._mta-sts.other.test. TXT "v=STSv1; id=old1"`)
		}, []string{"error delegation-cname-elsewhere _mta-sts.client.test", "error sts-id-mismatch"}},
		{"_smtp._tls missing", func(w *checktest.World) {
			w.DNS.Remove("_smtp._tls.client.test", dns.TypeCNAME)
		}, []string{"error delegation-cname-missing _smtp._tls.client.test", "error tlsrpt-record-missing"}},
		{"mta-sts replaced by an A record", func(w *checktest.World) {
			w.DNS.Remove("mta-sts.client.test", dns.TypeCNAME)
			w.DNS.Add("mta-sts.client.test. A 127.0.0.1")
		}, []string{"error delegation-cname-missing mta-sts.client.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, tg := delegatedWorld(t)
			tc.break_(w)
			res := newChecker(t, testConfig(w)).Check(ctx, tg)
			if got := summary(res.Findings); !slices.Equal(got, tc.want) {
				t.Fatalf("findings\n got %q\nwant %q\n%+v", got, tc.want, res.Findings)
			}
			for _, f := range res.Findings {
				if f.Remedy == "" || f.Message == "" {
					t.Errorf("finding without message or remedy: %+v", f)
				}
			}
		})
	}
}

// TestDelegatedCertificate: the policy is fetched at mta-sts.<client>
// through the CNAME, and a certificate for the operator's name instead of
// the client's is refused as a sender refuses it.
func TestDelegatedCertificate(t *testing.T) {
	w, tg := delegatedWorld(t)
	d, _ := healthyDomain(t, "client.test", "enforce")
	w.HTTPS.Handle("mta-sts.client.test", w.CA.Issue(t, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 0, 90), "k1.mta-sts.ops.test"), checktest.Policy(d.Policy))
	res := newChecker(t, testConfig(w)).Check(context.Background(), tg)
	if !res.Has("cert-name-mismatch") {
		t.Fatalf("findings %q", summary(res.Findings))
	}
}

// TestMonitorDelegated: a client removing or changing one CNAME alerts
// once, and fixing it clears the alert.
func TestMonitorDelegated(t *testing.T) {
	w, tg := delegatedWorld(t)
	rec := &recorder{}
	m := &Monitor{Checker: newChecker(t, testConfig(w)), History: NewMemoryHistory(), Alerter: rec}
	ctx := context.Background()
	run := func(step string, want []alert) {
		t.Helper()
		if _, err := m.Run(ctx, []Target{tg}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := rec.take()
		if !slices.EqualFunc(got, want, func(a, b alert) bool {
			return a.domain == b.domain && slices.Equal(a.appeared, b.appeared) && slices.Equal(a.cleared, b.cleared)
		}) {
			t.Fatalf("%s: alerts\n got %+v\nwant %+v", step, got, want)
		}
	}
	run("healthy", nil)
	w.DNS.Remove("mta-sts.client.test", dns.TypeCNAME)
	w.DNS.Add("mta-sts.client.test. CNAME d111.cloudfront.test.", "d111.cloudfront.test. A 127.0.0.1")
	run("changed", []alert{{"client.test", []string{"error delegation-cname-elsewhere mta-sts.client.test"}, nil}})
	run("unchanged", nil)
	w.DNS.Remove("mta-sts.client.test", dns.TypeCNAME)
	w.DNS.Add("mta-sts.client.test. CNAME k1.mta-sts.ops.test.")
	run("fixed", []alert{{"client.test", nil, []string{"error delegation-cname-elsewhere mta-sts.client.test"}}})
}
