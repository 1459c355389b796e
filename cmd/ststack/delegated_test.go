package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
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
