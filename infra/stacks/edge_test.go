package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/mtasts"
)

const delegatedConfig = "testdata/delegated.yaml"

// TestMultiTenantDistribution (issue 16): one multi-tenant distribution
// (no aliases, no price class: tenants carry the domains) and one
// connection group in the main stack; their ids reach the us-east-1 edge
// stack through one parameter, which the edge stack reads in the main
// stack's region.
func TestMultiTenantDistribution(t *testing.T) {
	s := synth(t, exampleConfig)
	if r := *s.d.Edge.Region(); r != "us-east-1" {
		t.Fatalf("edge stack region %s: CloudFront takes certificates from us-east-1 only", r)
	}
	if r := *s.d.Main.Region(); r != s.d.Config.Region {
		t.Errorf("main stack region %s, want the organisation's %s", r, s.d.Config.Region)
	}
	dist := props(resource(t, s.mainJSON, logicalID(t, s.d.distribution)))["DistributionConfig"].(map[string]any)
	if dist["ConnectionMode"] != "tenant-only" {
		t.Errorf("ConnectionMode %v, want tenant-only", dist["ConnectionMode"])
	}
	for _, f := range []string{"Aliases", "PriceClass", "IPV6Enabled", "DefaultTTL", "Logging"} {
		if v, ok := dist[f]; ok {
			t.Errorf("%s %v: a multi-tenant distribution does not take it", f, v)
		}
	}
	cg := props(resource(t, s.mainJSON, logicalID(t, s.d.connectionGroup)))
	if cg["Ipv6Enabled"] != true || cg["Enabled"] != true {
		t.Errorf("connection group %v, want enabled with IPv6", cg)
	}
	want := []any{m{"Ref": logicalID(t, s.d.distribution)}, m{"Fn::GetAtt": []any{logicalID(t, s.d.connectionGroup), "Id"}},
		m{"Fn::GetAtt": []any{logicalID(t, s.d.connectionGroup), "RoutingEndpoint"}}, "-"}
	noPanic(t, func() {
		s.main.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), m{
			"Name": s.d.edgeParam, "Value": m{"Fn::Join": []any{" ", want}},
		})
		s.edge.HasResourceProperties(jsii.String("Custom::AWS"), m{
			"Create": assertions.Match_SerializedJson(assertions.Match_ObjectLike(&m{
				"service": "SSM", "action": "getParameter", "region": s.d.Config.Region,
				"parameters": m{"Name": s.d.edgeParam},
			})),
		})
	})
	// A file that moves the rua from a custom domain to the API's URL
	// changes what the parameter holds: the edge stack reads it again.
	readID := func(s *synthesized) string {
		for _, r := range resources(s.edgeJSON, "Custom::AWS") {
			if c := flatten(props(r)["Update"]); strings.Contains(c, "getParameter") {
				_, id, _ := strings.Cut(c, `"physicalResourceId":{"id":"`)
				id, _, _ = strings.Cut(id, `"`)
				return id
			}
		}
		t.Fatal("no read of the main stack's ids")
		return ""
	}
	src, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	noDomain := strings.Replace(string(src), "  domain: tlsrpt.example.com\n", "", 1)
	if noDomain == string(src) {
		t.Fatal("example config has no reporting.domain to remove")
	}
	path := filepath.Join(t.TempDir(), "api-url.yaml")
	if err := os.WriteFile(path, []byte(noDomain), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, b := readID(s), readID(synth(t, path)); a == "" || a == b {
		t.Errorf("the read of the main stack's ids keeps its physical id %q when the report endpoint comes into it", a)
	}
	deps := s.d.Edge.Dependencies()
	if len(*deps) != 1 || *(*deps)[0].StackName() != *s.d.Main.StackName() {
		t.Errorf("edge stack depends on %v, want the main stack (tenants of its distribution, ids after policies)", deps)
	}
}

// domainsConfig is an organisation file with the given domains, in order:
// NAME for a Route53 domain, NAME! for external DNS, NAME~ for delegated.
func domainsConfig(t *testing.T, domains ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("organization: Order Org\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.order.example]}}\nreporting: {https: true}\n")
	b.WriteString("delegation: {zone: clients.order.example, hosted_zone_id: ZORDER}\ndomains:\n")
	for _, d := range domains {
		switch {
		case strings.HasSuffix(d, "!"):
			fmt.Fprintf(&b, "  - {name: %s, dns: {external: true}}\n", strings.TrimSuffix(d, "!"))
		case strings.HasSuffix(d, "~"):
			fmt.Fprintf(&b, "  - {name: %s, dns: delegated}\n", strings.TrimSuffix(d, "~"))
		default:
			fmt.Fprintf(&b, "  - {name: %s, dns: {route53: {hosted_zone_id: Z%s}}}\n", d, strings.ToUpper(strings.ReplaceAll(d, ".", "")))
		}
	}
	path := filepath.Join(t.TempDir(), "order.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// certificateOf returns the logical id and resource of domain's
// certificate in its shard.
func certificateOf(t *testing.T, s *synthesized, domain string) (string, map[string]any) {
	t.Helper()
	id := logicalID(t, s.d.certificates[domain])
	return id, resource(t, s.shardOf(t, domain), id)
}

// TestCertificatePerDomain (issue 16): every route53 and external domain
// has its own DNS-validated us-east-1 certificate, attached to its own
// tenant; adding, removing or reordering domains replaces no other
// domain's certificate or tenant (the one certificate of before named
// every host, so any change of the list replaced it).
func TestCertificatePerDomain(t *testing.T) {
	a := synth(t, domainsConfig(t, "zeta.example", "alpha.example!", "mid.example", "client.example~"))
	b := synth(t, domainsConfig(t, "new.example", "mid.example", "alpha.example!", "zeta.example"))
	for _, dom := range []string{"zeta.example", "alpha.example", "mid.example"} {
		ida, ca := certificateOf(t, a, dom)
		idb, cb := certificateOf(t, b, dom)
		if ida != idb || !jsonEqual(ca, cb) {
			t.Errorf("%s: certificate %s %v became %s %v when domains were added, removed and reordered", dom, ida, ca, idb, cb)
		}
		p := props(ca)
		if p["DomainName"] != "mta-sts."+dom || p["SubjectAlternativeNames"] != nil || p["ValidationMethod"] != "DNS" {
			t.Errorf("%s: certificate %v, want mta-sts.%s alone, DNS-validated", dom, p, dom)
		}
		if ca["DeletionPolicy"] != "Retain" || ca["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: certificate policies %v/%v, want Retain", dom, ca["DeletionPolicy"], ca["UpdateReplacePolicy"])
		}
		ta := resource(t, a.shardOf(t, dom), logicalID(t, a.d.tenants[dom]))
		tb := resource(t, b.shardOf(t, dom), logicalID(t, b.d.tenants[dom]))
		if !jsonEqual(ta, tb) {
			t.Errorf("%s: tenant %v became %v", dom, ta, tb)
		}
		tp := props(ta)
		if !jsonEqual(tp["Domains"], []any{"mta-sts." + dom}) || tp["Name"] != tenantName(dom) ||
			!jsonEqual(tp["Customizations"], m{"Certificate": m{"Arn": m{"Ref": ida}}}) ||
			!strings.Contains(str(tp["DistributionId"]), "Parameter") || !strings.Contains(str(tp["ConnectionGroupId"]), "Parameter") {
			t.Errorf("%s: tenant %v, want its host, its certificate, the distribution and connection group read from the main stack", dom, tp)
		}
	}
	// Route53: validated in the domain's zone; external: by the user.
	_, cz := certificateOf(t, a, "zeta.example")
	if dvo := str(props(cz)["DomainValidationOptions"]); !strings.Contains(dvo, "ZZETAEXAMPLE") {
		t.Errorf("zeta.example: validation %s, want its zone", dvo)
	}
	_, cx := certificateOf(t, a, "alpha.example")
	if dvo, ok := props(cx)["DomainValidationOptions"]; ok {
		t.Errorf("alpha.example (external DNS): validation %v in a zone", dvo)
	}
	// The external domain's validation CNAME is an output of its shard,
	// read from its own certificate (entry 0: one name).
	out, _ := json.Marshal(a.shardOf(t, "alpha.example")["Outputs"].(map[string]any)["Validation"+a.d.outputID["alpha.example"]])
	if !strings.Contains(string(out), "Certificate.DomainValidationOptions.0.ResourceRecord.Value") {
		t.Errorf("validation output %s", out)
	}
	// A delegated domain has neither: the reconciler creates its tenant
	// with a CloudFront-managed certificate.
	if a.d.certificates["client.example"] != nil || a.d.tenants["client.example"] != nil {
		t.Error("client.example (delegated): a certificate or tenant in CloudFormation")
	}
}

// TestShardsStable: a domain's resources live in the nested stack of its
// config.DomainShard, whatever the other domains.
func TestShardsStable(t *testing.T) {
	s := synth(t, exampleConfig)
	for _, dom := range s.d.Config.Domains {
		ns, ok := s.d.Shards[config.DomainShard(dom.Name)]
		if !ok || ns.Node().TryFindChild(jsii.String(dom.Name)) == nil {
			t.Errorf("%s: not in shard %d", dom.Name, config.DomainShard(dom.Name))
		}
	}
	if len(s.d.Shards) > len(s.d.Config.Domains) {
		t.Errorf("%d shards for %d domains: empty shards", len(s.d.Shards), len(s.d.Config.Domains))
	}
}

// TestDNS: a Route53 domain's mta-sts CNAME points at the routing
// endpoint, its _mta-sts TXT (package config's record) waits for its
// tenant, that CNAME and the invalidation of its shard, and its _smtp._tls
// TXT is config's record; an external domain gets an output instead.
func TestDNS(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig, delegatedConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			for _, dom := range s.d.Config.Domains {
				if dom.DNS.Delegated {
					continue
				}
				shard := s.shardOf(t, dom.Name)
				records := map[string]map[string]any{}
				ids := map[string]string{} // record → logical id
				for id, r := range resources(shard, "AWS::Route53::RecordSet") {
					k := str(props(r)["Name"]) + " " + str(props(r)["Type"])
					records[k], ids[k] = r, id
				}
				host, sts, rpt := dom.PolicyHost()+". CNAME", "_mta-sts."+dom.Name+". TXT", "_smtp._tls."+dom.Name+". TXT"
				if dom.DNS.External {
					for _, k := range []string{host, sts, rpt} {
						if _, ok := records[k]; ok {
							t.Errorf("%s: external DNS, yet the stack publishes %s", dom.Name, k)
						}
					}
					outs, _ := json.Marshal(shard["Outputs"].(map[string]any)["Domain"+s.d.outputID[dom.Name]])
					if !strings.Contains(string(outs), dom.PolicyHost()+". CNAME ") || !strings.Contains(string(outs), "_mta-sts."+dom.Name) {
						t.Errorf("%s: output %s, want the records to create", dom.Name, outs)
					}
					continue
				}
				cname, ok := records[host]
				if !ok {
					t.Fatalf("%s: no %s record", dom.Name, host)
				}
				if p := props(cname); p["HostedZoneId"] != dom.DNS.HostedZoneID || !strings.Contains(str(p["ResourceRecords"]), "Parameter") {
					t.Errorf("%s: CNAME %v, want the routing endpoint in zone %s", dom.Name, p, dom.DNS.HostedZoneID)
				}
				r, ok := records[sts]
				if !ok {
					t.Fatalf("%s: no %s record", dom.Name, sts)
				}
				rr := props(r)["ResourceRecords"].([]any)
				txt, _ := strconv.Unquote(str(rr[0]))
				if rec, err := mtasts.ParseRecord(txt); len(rr) != 1 || err != nil || rec.ID != dom.Policy.ID() {
					t.Errorf("%s: %v, want id %s (package config's record)", sts, rr, dom.Policy.ID())
				}
				deps := str(r["DependsOn"])
				for _, id := range []string{logicalID(t, s.d.tenants[dom.Name]), ids[host], "PolicyInvalidation"} {
					if !strings.Contains(deps, id) {
						t.Errorf("%s DependsOn %s lacks %s: the id must change only once the policy is served", sts, deps, id)
					}
				}
				if props(r)["TTL"] != "300" {
					t.Errorf("%s TTL %v, want 300", sts, props(r)["TTL"])
				}
				r, ok = records[rpt]
				if !ok {
					t.Fatalf("%s: no %s record", dom.Name, rpt)
				}
				if got := flatten(props(r)["ResourceRecords"].([]any)[0]); !strings.HasPrefix(got, `"v=TLSRPTv1; rua=`) {
					t.Errorf("%s: %s", rpt, got)
				}
			}
		})
	}
}

// TestDelegated (issue 16): a client domain's three names in the
// operator's zone, as `ststack config validate` prints them, and the
// reconciler on its schedule with IAM for the tenant actions and the
// table only.
func TestDelegated(t *testing.T) {
	s := synth(t, delegatedConfig)
	for _, name := range []string{"client-one.example", "client-two.example"} {
		dom, _ := s.d.Config.Domain(name)
		del, ok := s.d.Config.Delegated(dom)
		if !ok {
			t.Fatalf("%s: not delegated", name)
		}
		records := map[string]map[string]any{}
		for _, r := range resources(s.shardOf(t, name), "AWS::Route53::RecordSet") {
			records[str(props(r)["Name"])+" "+str(props(r)["Type"])] = r
		}
		for _, k := range []string{del.PolicyHost.Target + ". CNAME", del.STS.Target + ". TXT", del.TLSRPT.Target + ". TXT"} {
			r, ok := records[k]
			if !ok || props(r)["HostedZoneId"] != "ZHOST1" {
				t.Errorf("%s: %s %v, want it in the operator's zone ZHOST1 (have %v)", name, k, r, keys(records))
			}
		}
		if got := str(props(records[del.STS.Target+". TXT"])["ResourceRecords"]); !strings.Contains(got, dom.STSRecord().String()) {
			t.Errorf("%s: _mta-sts TXT %s, want %s", name, got, dom.STSRecord())
		}
		if !strings.Contains(str(records[del.STS.Target+". TXT"]["DependsOn"]), "PolicyInvalidation") {
			t.Errorf("%s: the _mta-sts TXT does not wait for the invalidation", name)
		}
		outs, _ := json.Marshal(s.shardOf(t, name)["Outputs"].(map[string]any)["Domain"+s.d.outputID[name]])
		for _, r := range del.Records() {
			if !strings.Contains(string(outs), r.String()) {
				t.Errorf("%s: output %s lacks %s", name, outs, r)
			}
		}
	}

	fn := s.d.functions[fnReconciler]
	if fn == nil {
		t.Fatal("no reconciler function")
	}
	fnID := logicalID(t, fn)
	vars := props(resource(t, s.mainJSON, fnID))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !jsonEqual(vars["STSTACK_DISTRIBUTION_ID"], m{"Ref": logicalID(t, s.d.distribution)}) ||
		!jsonEqual(vars["STSTACK_CONNECTION_GROUP_ID"], m{"Fn::GetAtt": []any{logicalID(t, s.d.connectionGroup), "Id"}}) ||
		vars["STSTACK_TABLE"] == nil || vars["STSTACK_CONFIG"] != ConfigFile {
		t.Errorf("reconciler environment %v", vars)
	}
	rule := props(resource(t, s.mainJSON, logicalID(t, s.d.reconcileSchedule)))
	if rule["ScheduleExpression"] != ReconcileSchedule || !strings.Contains(str(rule["Targets"]), fnID) {
		t.Errorf("reconciler schedule %v", rule)
	}
	roleID := logicalID(t, fn.Role())
	var actions []string
	for _, pol := range resources(s.mainJSON, "AWS::IAM::Policy") {
		if !jsonEqual(props(pol)["Roles"], []any{m{"Ref": roleID}}) {
			continue
		}
		for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stm := st.(map[string]any)
			actions = append(actions, str(stm["Action"]))
			if strings.Contains(str(stm["Action"]), "cloudfront:") && strings.Contains(str(stm["Resource"]), `distribution/*`) {
				t.Errorf("reconciler: %v on %v: every distribution of the account", stm["Action"], stm["Resource"])
			}
		}
	}
	all := strings.Join(actions, " ")
	for _, a := range []string{"cloudfront:CreateDistributionTenant", "cloudfront:UpdateDistributionTenant", "cloudfront:GetManagedCertificateDetails", "dynamodb:PutItem"} {
		if !strings.Contains(all, a) {
			t.Errorf("reconciler role lacks %s (has %s)", a, all)
		}
	}
	for _, a := range []string{"cloudfront:DeleteDistributionTenant", "cloudfront:*", "dynamodb:DeleteItem", "s3:"} {
		if strings.Contains(all, a) {
			t.Errorf("reconciler role has %s", a)
		}
	}
	// A failed or throttled run alerts like the other functions'.
	for _, metric := range []string{"Errors", "Throttles"} {
		found := false
		for _, a := range resources(s.mainJSON, "AWS::CloudWatch::Alarm") {
			p := props(a)
			found = found || (p["MetricName"] == metric && strings.Contains(str(p["Dimensions"]), fnID) && p["AlarmActions"] != nil)
		}
		if !found {
			t.Errorf("no %s alarm of the reconciler", metric)
		}
	}
	if synth(t, exampleConfig).d.functions[fnReconciler] != nil {
		t.Error("a reconciler without delegated domains")
	}
}

func keys[V any](mp map[string]V) []string {
	var out []string
	for k := range mp {
		out = append(out, k)
	}
	return out
}

// TestInvalidationPerTenant (issue 16): the shard's invalidation runs
// again exactly when a policy of the shard changes, and then invalidates
// only the tenants whose policy changed, each with a CallerReference of
// its own request (CloudFront answers a reused one with the old
// invalidation); a delegated domain's tenant is found by name, and
// skipped while the reconciler has not created it.
func TestInvalidationPerTenant(t *testing.T) {
	s := synth(t, exampleConfig)
	shard := s.shardOf(t, "example.org")
	inv := resource(t, shard, "PolicyInvalidation")
	if inv["Type"] != "Custom::TenantInvalidation" {
		t.Fatalf("invalidation %v", inv)
	}
	// A changed policy of example.org changes its shard's invalidation
	// and no other shard's.
	src, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	changedSrc := strings.Replace(string(src), "max_age: 1209600", "max_age: 1209601", 1)
	if changedSrc == string(src) {
		t.Fatal("example config has no max_age: 1209600 to change")
	}
	changedPath := filepath.Join(t.TempDir(), "changed.yaml")
	if err := os.WriteFile(changedPath, []byte(changedSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	c := synth(t, changedPath)
	for n, tmpl := range s.shardJSON {
		before, after := props(resource(t, tmpl, "PolicyInvalidation")), props(resource(t, c.shardJSON[n], "PolicyInvalidation"))
		changed := before["PhysicalResourceId"] != after["PhysicalResourceId"]
		if want := n == config.DomainShard("example.org"); changed != want {
			t.Errorf("shard %d: invalidation changed %v, want %v", n, changed, want)
		}
	}

	dir := t.TempDir()
	edge := s.edgeJSON
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(inlineCode(t, edge, logicalID(t, s.d.invalidation.onEvent))), 0o644); err != nil {
		t.Fatal(err)
	}
	writeModule(t, dir, "@aws-sdk/client-cloudfront", `
const calls = [];
class Cmd { constructor(input) { this.input = input; } }
class CreateInvalidationForDistributionTenantCommand extends Cmd {}
class GetInvalidationForDistributionTenantCommand extends Cmd {}
class GetDistributionTenantCommand extends Cmd {}
class CloudFrontClient {
  async send(cmd) {
    calls.push({ op: cmd.constructor.name, input: cmd.input });
    if (cmd instanceof GetDistributionTenantCommand) {
      if (cmd.input.Identifier === 'ststack-missing') { const e = new Error('no'); e.name = 'EntityNotFound'; throw e; }
      return { DistributionTenant: { Id: 'dt_' + cmd.input.Identifier } };
    }
    return { Invalidation: { Id: 'I' + calls.length, Status: 'InProgress' } };
  }
}
module.exports = { CloudFrontClient, CreateInvalidationForDistributionTenantCommand, GetInvalidationForDistributionTenantCommand, GetDistributionTenantCommand, calls };
`)
	type call struct {
		Op    string
		Input struct {
			Id                string
			Identifier        string
			InvalidationBatch struct {
				CallerReference string
				Paths           struct{ Items []string }
			}
		}
	}
	var got struct {
		Calls   []call
		Results []any
	}
	runNode(t, dir, `
const h = require('./index.js');
const cf = require('@aws-sdk/client-cloudfront');
(async () => {
  const oldProps = { Paths: ['`+PolicyPath+`'], PhysicalResourceId: 'p1', Tenants: [
    { Name: 'ststack-a', Id: 'dt_a', Policy: '1' }, { Name: 'ststack-b', Id: 'dt_b', Policy: '1' }, { Name: 'ststack-c', Policy: '1' } ] };
  const newProps = { Paths: ['`+PolicyPath+`'], PhysicalResourceId: 'p2', Tenants: [
    { Name: 'ststack-a', Id: 'dt_a', Policy: '1' }, { Name: 'ststack-b', Id: 'dt_b', Policy: '2' }, { Name: 'ststack-c', Policy: '2' },
    { Name: 'ststack-missing', Policy: '1' } ] };
  const results = [];
  results.push(await h.onEvent({ RequestType: 'Update', RequestId: 'r1', ResourceProperties: newProps, OldResourceProperties: oldProps }));
  results.push(await h.onEvent({ RequestType: 'Update', RequestId: 'r2', ResourceProperties: newProps, OldResourceProperties: oldProps }));
  print({ Calls: cf.calls, Results: results });
})();
`, &got)
	var refs []string
	var invalidated []string
	for _, c := range got.Calls {
		if c.Op == "CreateInvalidationForDistributionTenantCommand" {
			invalidated = append(invalidated, c.Input.Id)
			refs = append(refs, c.Input.InvalidationBatch.CallerReference)
			if !jsonEqual(c.Input.InvalidationBatch.Paths.Items, []string{PolicyPath}) {
				t.Errorf("paths %v", c.Input.InvalidationBatch.Paths.Items)
			}
		}
	}
	// Per run: dt_b (changed), dt_ststack-c (changed, found by name); not
	// dt_a (unchanged), not the missing one (no tenant yet).
	if want := []string{"dt_b", "dt_ststack-c", "dt_b", "dt_ststack-c"}; !jsonEqual(invalidated, want) {
		t.Errorf("invalidated %v, want %v", invalidated, want)
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if seen[r] || r == "" {
			t.Errorf("CallerReference %q reused: each invalidation needs a new one (%v)", r, refs)
		}
		seen[r] = true
	}
	if b, _ := json.Marshal(got.Results[0]); strings.Contains(string(b), `"Data"`) {
		t.Errorf("onEvent answers %s: the invalidations must not go back to CloudFormation in Data", b)
	}

	// isComplete polls every invalidation of the run.
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(inlineCode(t, edge, logicalID(t, s.d.invalidation.isComplete))), 0o644); err != nil {
		t.Fatal(err)
	}
	var done struct{ IsComplete bool }
	runNode(t, dir, `
const h = require('./index.js');
(async () => {
  print(await h.isComplete({ RequestType: 'Update', Invalidations: [{ Tenant: 'dt_b', Id: 'I1' }] }));
})();
`, &done)
	if done.IsComplete {
		t.Error("isComplete: complete while the invalidation is InProgress")
	}
}

// TestLimitsFootprint keeps internal/config's per-shard bounds (what
// `ststack config validate` and New refuse with) in step with the
// templates: every shard of every test organisation holds at most the
// resources, outputs and template bytes config.ShardLoads counts, and each
// domain's construct exactly the resources config counts for its kind.
func TestLimitsFootprint(t *testing.T) {
	for _, c := range append(allConfigs, "testdata/retiring.yaml") {
		s := synth(t, c)
		checkLimits(t, s)
	}
}

// checkLimits checks every template of s against CloudFormation's limits
// and config's bounds.
func checkLimits(t *testing.T, s *synthesized) {
	t.Helper()
	loads := map[int]config.ShardLoad{}
	for _, l := range s.d.Config.ShardLoads() {
		loads[l.Shard] = l
	}
	for path, tmpl := range s.templates() {
		res := len(tmpl["Resources"].(map[string]any))
		outs, _ := tmpl["Outputs"].(map[string]any)
		b, _ := json.Marshal(tmpl)
		if res > config.StackResources || len(outs) > config.StackOutputs || len(b) > config.TemplateSize {
			t.Errorf("%s: %d resources, %d outputs, %d bytes: beyond CloudFormation's limits", path, res, len(outs), len(b))
		}
		// Every AwsCustomResource answers at most 3 output paths of one
		// certificate (config.ValidationResponseSize) or one parameter.
		for id, r := range resources(tmpl, "Custom::AWS") {
			create := flatten(props(r)["Create"])
			_, paths, _ := strings.Cut(create, `"outputPaths":[`)
			paths, _, _ = strings.Cut(paths, "]")
			if n := strings.Count(paths, ","); paths == "" || n > 2 {
				t.Errorf("%s %s: output paths [%s], want 1 to 3", path, id, paths)
			}
		}
	}
	for n, ns := range s.d.Shards {
		tmpl := s.shardJSON[n]
		l := loads[n]
		res := len(tmpl["Resources"].(map[string]any))
		outs, _ := tmpl["Outputs"].(map[string]any)
		b, _ := json.Marshal(tmpl)
		if res > l.Resources || len(outs) > l.Outputs || len(b) > l.Template {
			t.Errorf("shard %d: %d resources, %d outputs, %d bytes; config bounds them by %d, %d, %d", n, res, len(outs), len(b), l.Resources, l.Outputs, l.Template)
		}
		for _, name := range l.Domains {
			dom, _ := s.d.Config.Domain(name)
			want, _ := config.DomainFootprint(dom)
			got := 0
			for _, c := range *ns.Node().FindChild(jsii.String(name)).Node().FindAll(constructs.ConstructOrder_PREORDER) {
				if *awscdk.CfnResource_IsCfnResource(c) {
					got++
				}
			}
			if got != want {
				t.Errorf("shard %d: %s has %d resources of its own, config counts %d", n, name, got, want)
			}
		}
	}
}

// TestThousandDomains (issue 16): 1,000 generated domains, every kind and
// feature on, synthesize within every limit on every template. It takes
// minutes (jsii); -short leaves it out while iterating, make test runs it.
func TestThousandDomains(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes 1,000 domains (minutes); make infra-test runs it")
	}
	var b strings.Builder
	b.WriteString("organization: Thousand\nregion: eu-west-1\ndefaults: {policy: {mode: enforce, mx: [mx.example.net]}}\n")
	b.WriteString("reporting: {https: true, mailto: r@example.net}\nchecker: {smtp_probe: true, alert_emails: [ops@example.net]}\n")
	b.WriteString("delegation: {zone: clients.example.net, hosted_zone_id: ZCLIENTS}\ndomains:\n")
	for i := range config.MaxDomains {
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			fmt.Fprintf(&b, "  - {name: route53-%d.example, dns: {route53: {hosted_zone_id: Z%d}}}\n", i, i)
		case 6, 7:
			fmt.Fprintf(&b, "  - {name: external-%d.example, dns: {external: true}}\n", i)
		default:
			fmt.Fprintf(&b, "  - {name: client-%d.example, dns: delegated}\n", i)
		}
	}
	path := filepath.Join(t.TempDir(), "thousand.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Synthesized to files and read back: assertions' templates of 250
	// nested stacks cost minutes more.
	out := t.TempDir()
	var s *synthesized
	noPanic(t, func() {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
		d, err := New(app, Options{ConfigPath: path, LambdaDir: filepath.Join(fixtureDir(t), "lambda"), StagingDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		app.Synth(nil)
		if errs := SynthErrors(app); len(errs) > 0 {
			t.Errorf("%d synth errors (cdk-nag), first %s", len(errs), errs[0])
		}
		read := func(st awscdk.Stack) map[string]any {
			b, err := os.ReadFile(filepath.Join(out, *st.TemplateFile()))
			if err != nil {
				t.Fatal(err)
			}
			var tmpl map[string]any
			if err := json.Unmarshal(b, &tmpl); err != nil {
				t.Fatal(err)
			}
			return tmpl
		}
		s = &synthesized{d: d, mainJSON: read(d.Main), edgeJSON: read(d.Edge), shardJSON: map[int]map[string]any{}}
		for n, ns := range d.Shards {
			s.shardJSON[n] = read(ns)
		}
	})
	if len(s.d.Config.Domains) != 1000 || len(s.d.Shards) < 200 {
		t.Fatalf("%d domains in %d shards", len(s.d.Config.Domains), len(s.d.Shards))
	}
	checkLimits(t, s)
}
