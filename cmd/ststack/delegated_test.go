package main

import (
	"context"
	"encoding/json"
	"html"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/reconcile"
	"github.com/ststack/ststack/internal/store/awsstore"
)

const delegatedOrg = `organization: Operator
region: eu-west-1
domains:
  - name: example.com
    dns: { external: true }
    policy: { mx: [mx.example.com] }
  - name: client.example
    dns: delegated
    policy: { mode: testing, mx: [mx.client.example] }
delegation: { zone: clients.operator.example, hosted_zone_id: Z0123456789ABCDEFGHIJ }
reporting: { mailto: tlsrpt@example.com }
`

// TestConfigValidateDelegated: validate prints, per delegated domain, the
// three CNAMEs the client creates and the CAA advice; --json has them in
// client_records and caa_issuers.
func TestConfigValidateDelegated(t *testing.T) {
	file := writeFile(t, "org.yaml", []byte(delegatedOrg))
	key := config.DelegationKey("client.example")
	want := []string{
		"mta-sts.client.example. CNAME " + key + ".mta-sts.clients.operator.example.",
		"_mta-sts.client.example. CNAME " + key + "._mta-sts.clients.operator.example.",
		"_smtp._tls.client.example. CNAME " + key + "._smtp._tls.clients.operator.example.",
	}
	code, out, errs := runCLI(t, "", "config", "validate", file)
	if code != exitOK {
		t.Fatalf("code %d\n%s\n%s", code, out, errs)
	}
	for _, w := range append(want, "[delegated]", `CAA 0 issue "amazon.com" (or amazontrust.com, awstrust.com, amazonaws.com)`) {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "CNAME") != 3 {
		t.Errorf("CNAMEs printed for a domain that is not delegated:\n%s", out)
	}

	code, out, _ = runCLI(t, "", "config", "validate", "--json", file)
	var got struct {
		Domains []struct {
			Name          string
			DNS           string `json:"dns"`
			ClientRecords []struct {
				Name, Type, Value string
			} `json:"client_records"`
			CAAIssuers []string `json:"caa_issuers"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || len(got.Domains) != 2 {
		t.Fatalf("json: code %d err %v\n%s", code, err, out)
	}
	if d := got.Domains[0]; d.ClientRecords != nil || d.CAAIssuers != nil {
		t.Errorf("external domain has client records: %+v", d)
	}
	d := got.Domains[1]
	if d.DNS != "delegated" || len(d.ClientRecords) != 3 || len(d.CAAIssuers) != 4 {
		t.Fatalf("delegated domain: %+v", d)
	}
	for i, r := range d.ClientRecords {
		if s := r.Name + ". " + r.Type + " " + r.Value + "."; s != want[i] {
			t.Errorf("client_records[%d] = %q, want %q", i, s, want[i])
		}
	}
}

// TestServeDelegated: ststack serve answers a delegated client domain's
// policy by Host, like any other domain.
func TestServeDelegated(t *testing.T) {
	org := writeFile(t, "org.yaml", []byte(delegatedOrg))
	cfg, err := config.Load(org)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Domain("client.example")
	base, stop := startServe(t, "--config", org, "--data", t.TempDir())
	code, body, hdr := do(t, "GET", base+"/.well-known/mta-sts.txt", "mta-sts.client.example", "", nil)
	if code != 200 || body != d.PolicyText() || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("delegated policy: %d %q %v", code, body, hdr)
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited %d", c)
	}
}

// TestCheckDelegated: `ststack check --config` on a loopback DNS where the
// client has its three CNAMEs passes; when one CNAME points elsewhere it
// fails with delegation-cname-elsewhere on that name.
func TestCheckDelegated(t *testing.T) {
	cw := newCheckWorld(t)
	org := writeFile(t, "org.yaml", []byte(`organization: Operator
region: eu-west-1
domains:
  - name: client.test
    dns: delegated
    policy: {mode: enforce, mx: [mx.client.test]}
delegation: {zone: ops.test, hosted_zone_id: Z0123456789ABCDEFGHIJ}
reporting: {mailto: tlsrpt@reports.test}
`))
	cfg, err := config.Load(org)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Domain("client.test")
	del, _ := cfg.Delegated(d)
	cw.w.ServeDelegated(t, checktest.Domain{Name: "client.test", Policy: d.PolicyText(), ID: d.Policy.ID(),
		MX: []string{"mx.client.test"}, TLSRPT: "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"},
		del.PolicyHost.Target, del.STS.Target, del.TLSRPT.Target)
	code, out, errs := cw.run(t, false, "--config", org)
	if code != exitOK || !strings.Contains(out, "client.test  ok") {
		t.Fatalf("with the three CNAMEs: exit %d\n%s\n%s", code, out, errs)
	}
	cw.w.DNS.Remove("_mta-sts.client.test", dns.TypeCNAME)
	cw.w.DNS.Add("_mta-sts.client.test. CNAME _mta-sts.old-provider.test.", `_mta-sts.old-provider.test. TXT "v=STSv1; id=old"`)
	code, out, _ = cw.run(t, false, "--config", org)
	if code != exitInvalid || !strings.Contains(out, "delegation-cname-elsewhere") || !strings.Contains(out, "_mta-sts.client.test") ||
		!strings.Contains(out, del.STS.Target) {
		t.Fatalf("CNAME elsewhere: exit %d\n%s", code, out)
	}
}

// TestServeDelegationState: with no reconciler locally, the dashboard of
// `ststack serve` shows a delegated domain's state from the client's CNAME
// as DNS (--resolver) says it now: waiting, pointing elsewhere (what is
// wrong), and in place (served by Host).
func TestServeDelegationState(t *testing.T) {
	org := writeFile(t, "org.yaml", []byte(delegatedOrg))
	cfg, err := config.Load(org)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Domain("client.example")
	del, _ := cfg.Delegated(d)
	w := checktest.NewDNS(t)
	base, stop := startServe(t, "--config", org, "--data", t.TempDir(), "--resolver", w.Addr)
	state := func(step string) (phase, detail string) {
		t.Helper()
		code, body, _ := do(t, "GET", base+"/api/v1/domains/client.example", "", "", nil)
		var got struct {
			Delegation *struct{ Phase, Detail string }
		}
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Delegation == nil {
			t.Fatalf("%s: %d %v\n%s", step, code, err, body)
		}
		return got.Delegation.Phase, got.Delegation.Detail
	}
	if p, detail := state("no CNAME"); p != "waiting-for-cname" || !strings.Contains(detail, del.PolicyHost.Target) {
		t.Errorf("no CNAME: %s %q", p, detail)
	}
	w.Add("mta-sts.client.example. CNAME mta-sts.old-provider.example.")
	if p, detail := state("elsewhere"); p != "cname-elsewhere" || !strings.Contains(detail, "mta-sts.old-provider.example") {
		t.Errorf("elsewhere: %s %q", p, detail)
	}
	w.Remove("mta-sts.client.example", dns.TypeCNAME)
	w.Add("mta-sts.client.example. CNAME " + del.PolicyHost.Target + ".")
	if p, detail := state("in place"); p != "serving" || !strings.Contains(detail, "by Host") {
		t.Errorf("in place: %s %q", p, detail)
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited %d", c)
	}
}

// TestDashboardAWSDelegation: `ststack dashboard --aws` shows each
// delegated client domain's phase as the reconciler stored it in the
// table (waiting for the client's CNAME, certificate pending, serving,
// and a CNAME pointing elsewhere with what is wrong), in the JSON API and
// on the domain page.
func TestDashboardAWSDelegation(t *testing.T) {
	const org = `organization: Operator
region: eu-west-1
domains:
  - {name: waiting.example, dns: delegated, policy: {mx: [mx.waiting.example]}}
  - {name: pending.example, dns: delegated, policy: {mx: [mx.pending.example]}}
  - {name: serving.example, dns: delegated, policy: {mx: [mx.serving.example]}}
  - {name: elsewhere.example, dns: delegated, policy: {mx: [mx.elsewhere.example]}}
delegation: {zone: clients.operator.example, hosted_zone_id: Z0123456789ABCDEFGHIJ}
reporting: {mailto: tlsrpt@operator.example}
`
	file := writeFile(t, "org.yaml", []byte(org))
	e := awstest.New(t)
	states := reconcile.JSONStates(awsstore.New(e.S3, e.DynamoDB, e.Bucket, e.Table))
	now := time.Now().UTC().Truncate(time.Second)
	want := map[string]reconcile.State{
		"waiting.example": {Phase: reconcile.PhaseWaitingForCNAME,
			Detail: "waiting for the client's record mta-sts.waiting.example. CNAME k1.mta-sts.clients.operator.example."},
		"pending.example": {Phase: reconcile.PhaseCertificatePending, CertificateStatus: "pending-validation",
			Detail: "ACM is validating the certificate over HTTP through CloudFront (requested 2h0m0s ago; ACM gives up after 72 h)"},
		"serving.example": {Phase: reconcile.PhaseServing, CertificateStatus: "issued", Detail: "serving with its managed certificate"},
		"elsewhere.example": {Phase: reconcile.PhaseCNAMEElsewhere,
			Detail: "mta-sts.elsewhere.example is a CNAME to old.provider.example; the client must change it to k4.mta-sts.clients.operator.example"},
	}
	ctx := context.Background()
	for d, s := range want {
		s.Domain, s.Since, s.Checked = d, now.Add(-2*time.Hour), now
		if err := states.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	base, stop := startDashboard(t, "--aws", "--config", file, "--bucket", e.Bucket, "--table", e.Table, "--region", awstest.Region)
	defer stop()
	for d, w := range want {
		code, body, _ := do(t, "GET", base+"/api/v1/domains/"+d, "", "", nil)
		var got struct {
			Delegation *struct {
				Phase, Detail     string
				CertificateStatus string `json:"certificate_status"`
				Since             time.Time
			}
		}
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Delegation == nil {
			t.Fatalf("%s: %d %v\n%s", d, code, err, body)
		}
		if g := got.Delegation; g.Phase != string(w.Phase) || g.Detail != w.Detail || g.CertificateStatus != w.CertificateStatus ||
			!g.Since.Equal(now.Add(-2*time.Hour)) {
			t.Errorf("%s: %+v, want %+v", d, *g, w)
		}
		code, page, _ := do(t, "GET", base+"/domains/"+d, "", "", nil)
		if code != 200 || !strings.Contains(page, string(w.Phase)) || !strings.Contains(page, html.EscapeString(w.Detail)) {
			t.Errorf("domain page of %s: %d, lacks %s / %q", d, code, w.Phase, w.Detail)
		}
	}
}
