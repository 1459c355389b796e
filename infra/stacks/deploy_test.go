package stacks

// Tests of what a real deployment does that the templates alone do not
// show: who may publish to the alert topic, what the inline functions do
// when run, which invocations Lambda retries, what Route53 receives once
// CloudFormation resolved every token.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

const longRuaConfig = "testdata/long-rua.yaml" // _smtp._tls > 255 characters once resolved

// allConfigs is every organisation file the tests synthesize.
var allConfigs = []string{exampleConfig, probeConfig, mailConfig, mailRuleSetConfig, longRuaConfig}

// TestAlarmTopicPolicy (issue 15, item 1): the topic policy replaces SNS's
// default one, so CloudWatch alarms need an explicit Allow, limited to the
// account's alarms.
func TestAlarmTopicPolicy(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, mailConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			topic := m{"Ref": logicalID(t, s.d.topic)}
			noPanic(t, func() {
				s.main.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), m{
					"Topics": []any{topic},
					"PolicyDocument": m{"Statement": assertions.Match_ArrayWith(&[]any{m{
						"Sid":       "AlarmsPublish",
						"Effect":    "Allow",
						"Principal": m{"Service": "cloudwatch.amazonaws.com"},
						"Action":    "sns:Publish",
						"Resource":  topic,
						"Condition": m{
							"StringEquals": m{"aws:SourceAccount": m{"Ref": "AWS::AccountId"}},
							"ArnLike": m{"aws:SourceArn": m{"Fn::Join": []any{"", []any{
								"arn:", m{"Ref": "AWS::Partition"}, ":cloudwatch:" + s.d.Config.Region + ":",
								m{"Ref": "AWS::AccountId"}, ":alarm:*",
							}}}},
						},
					}})},
				})
			})
			// Every alarm publishes to that topic, so every alarm is covered.
			alarms := resources(s.mainJSON, "AWS::CloudWatch::Alarm")
			if len(alarms) < 8 {
				t.Errorf("%d alarms, want at least 8", len(alarms))
			}
			for id, a := range alarms {
				if !jsonEqual(props(a)["AlarmActions"], []any{topic}) {
					t.Errorf("alarm %s: actions %v, want the alert topic", id, props(a)["AlarmActions"])
				}
			}
		})
	}
}

// TestInvalidationIsAlwaysNew (issue 15, item 2): CloudFront answers a
// CallerReference it has seen with the old invalidation, so going back to
// an earlier policy (A→B→A, or a rollback) must still invalidate. The
// onEvent handler of the template runs twice with the same properties, as
// in a revert, and must request two distinct invalidations.
func TestInvalidationIsAlwaysNew(t *testing.T) {
	s := synth(t, exampleConfig)
	inv := resource(t, s.mainJSON, logicalID(t, s.d.invalidation.resource))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"),
		[]byte(inlineCode(t, s.mainJSON, logicalID(t, s.d.invalidation.onEvent))), 0o644); err != nil {
		t.Fatal(err)
	}
	writeModule(t, dir, "@aws-sdk/client-cloudfront", `
const calls = [];
class CreateInvalidationCommand { constructor(input) { this.input = input; } }
class GetInvalidationCommand { constructor(input) { this.input = input; } }
class CloudFrontClient {
  async send(cmd) { calls.push(cmd.input); return { Invalidation: { Id: 'I' + calls.length, Status: 'InProgress' } }; }
}
module.exports = { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand, calls };
`)
	p, _ := json.Marshal(props(inv))
	var calls []struct {
		DistributionId    any
		InvalidationBatch struct {
			CallerReference string
			Paths           struct{ Items []string }
		}
	}
	runNode(t, dir, `
const h = require('./index.js');
const cf = require('@aws-sdk/client-cloudfront');
(async () => {
  const props = `+string(p)+`;
  await h.onEvent({ RequestType: 'Update', RequestId: 'a1b2c3', ResourceProperties: props, PhysicalResourceId: props.PhysicalResourceId });
  await h.onEvent({ RequestType: 'Update', RequestId: 'd4e5f6', ResourceProperties: props, PhysicalResourceId: props.PhysicalResourceId });
  print(cf.calls);
})();
`, &calls)
	if len(calls) != 2 {
		t.Fatalf("%d CreateInvalidation calls, want 2", len(calls))
	}
	a, b := calls[0].InvalidationBatch.CallerReference, calls[1].InvalidationBatch.CallerReference
	if a == "" || a == b {
		t.Errorf("CallerReferences %q and %q: each invalidation needs a new one", a, b)
	}
	for _, c := range calls {
		if !slices.Equal(c.InvalidationBatch.Paths.Items, []string{PolicyPath}) {
			t.Errorf("paths %v, want %s", c.InvalidationBatch.Paths.Items, PolicyPath)
		}
	}
	if _, ok := props(inv)["CallerReference"]; ok {
		t.Errorf("the invalidation still has a fixed CallerReference property %v", props(inv)["CallerReference"])
	}
}

// sesStub stubs @aws-sdk/client-ses over a state the driver sets.
const sesStub = `
const state = { active: null, rules: {}, calls: [] };
class Cmd { constructor(input) { this.input = input || {}; } }
class DescribeActiveReceiptRuleSetCommand extends Cmd {}
class DescribeReceiptRuleSetCommand extends Cmd {}
class SetActiveReceiptRuleSetCommand extends Cmd {}
const rules = (name) => (state.rules[name] || []).map((n) => ({ Name: n }));
class SESClient {
  async send(c) {
    state.calls.push(c.constructor.name);
    if (c instanceof DescribeActiveReceiptRuleSetCommand)
      return state.active ? { Metadata: { Name: state.active }, Rules: rules(state.active) } : {};
    if (c instanceof DescribeReceiptRuleSetCommand) return { Metadata: { Name: c.input.RuleSetName }, Rules: rules(c.input.RuleSetName) };
    if (c instanceof SetActiveReceiptRuleSetCommand) { state.active = c.input.RuleSetName || null; return {}; }
    throw new Error('unexpected ' + c.constructor.name);
  }
}
module.exports = { SESClient, DescribeActiveReceiptRuleSetCommand, DescribeReceiptRuleSetCommand, SetActiveReceiptRuleSetCommand, state };
`

// TestRuleSetActivation (issue 15, item 3): SES has one active receipt
// rule set per region and account. The stack activates its own set only
// when none is active, refuses (with the fix) when another one is, and on
// deletion deactivates only its own set, and only when no other stack's
// rule is in it.
func TestRuleSetActivation(t *testing.T) {
	s := synth(t, mailConfig)
	acts := resources(s.mainJSON, "Custom::ActiveReceiptRuleSet")
	if len(acts) != 1 {
		t.Fatalf("%d Custom::ActiveReceiptRuleSet resources, want 1", len(acts))
	}
	var act map[string]any
	for _, a := range acts {
		act = a
	}
	p := props(act)
	ruleSetID := logicalID(t, s.d.mail.ruleSet)
	if !jsonEqual(p["RuleSetName"], m{"Ref": ruleSetID}) {
		t.Errorf("RuleSetName %v, want the stack's rule set", p["RuleSetName"])
	}
	ruleName, _ := p["RuleName"].(string)
	if ruleName == "" || !dependsOn(act, logicalID(t, s.d.mail.rule)) {
		t.Errorf("RuleName %v, DependsOn %v: want the stack's rule, created first", p["RuleName"], act["DependsOn"])
	}
	for id, r := range resources(s.mainJSON, "Custom::AWS") {
		if strings.Contains(string(resolvedJSON(t, r)), "ReceiptRuleSet") {
			t.Errorf("%s still calls SES rule set APIs blindly", id)
		}
	}
	fnID := serviceTokenFunction(t, act)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(inlineCode(t, s.mainJSON, fnID)), 0o644); err != nil {
		t.Fatal(err)
	}
	handler := strings.TrimPrefix(str(props(resource(t, s.mainJSON, fnID))["Handler"]), "index.")
	writeModule(t, dir, "@aws-sdk/client-ses", sesStub)

	const ours = "ststack-mail-org-rules"
	cases := []struct {
		name       string
		request    string
		active     string
		rules      map[string][]string
		wantStatus string
		wantActive string
		wantReason string // in the FAILED reason
	}{
		{"create, none active", "Create", "", nil, "SUCCESS", ours, ""},
		{"create, ours active", "Create", ours, nil, "SUCCESS", ours, ""},
		{"update, ours active", "Update", ours, nil, "SUCCESS", ours, ""},
		{"create, another active", "Create", "inbound-main", nil, "FAILED", "inbound-main", "rule_set: inbound-main"},
		{"delete, another active", "Delete", "inbound-main", nil, "SUCCESS", "inbound-main", ""},
		{"delete, none active", "Delete", "", nil, "SUCCESS", "", ""},
		{"delete, ours active", "Delete", ours, map[string][]string{ours: {ruleName}}, "SUCCESS", "", ""},
		{"delete, ours active with another stack's rule", "Delete", ours, map[string][]string{ours: {ruleName, "ststack-other-org-tlsrpt"}},
			"FAILED", ours, "ststack-other-org-tlsrpt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rp := map[string]any{}
			for k, v := range p {
				rp[k] = v
			}
			rp["RuleSetName"] = ours
			event, _ := json.Marshal(map[string]any{
				"RequestType": tc.request, "RequestId": "req-1", "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/s/1",
				"LogicalResourceId": "Activation", "ResourceProperties": rp,
			})
			st, _ := json.Marshal(map[string]any{"active": tc.active, "rules": tc.rules})
			var got struct {
				Response struct {
					Status, Reason, PhysicalResourceId, StackId, RequestId, LogicalResourceId string
				}
				Method, ContentType string
				Active              *string
				Calls               []string
			}
			// CloudFormation's presigned URL, played by a server on the
			// loopback interface.
			runNode(t, dir, `
const http = require('http');
const h = require('./index.js');
const ses = require('@aws-sdk/client-ses');
const st = `+string(st)+`;
ses.state.active = st.active || null;
ses.state.rules = st.rules || {};
let got = {};
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    got = { Response: JSON.parse(body), Method: req.method, ContentType: req.headers['content-type'] };
    res.end();
  });
});
server.listen(0, '127.0.0.1', async () => {
  const event = `+string(event)+`;
  event.ResponseURL = 'http://127.0.0.1:' + server.address().port + '/response?X-Amz-Signature=x';
  await h.`+handler+`(event);
  server.close();
  print(Object.assign(got, { Active: ses.state.active, Calls: ses.state.calls }));
});
`, &got)
			r := got.Response
			if r.Status != tc.wantStatus || got.Method != "PUT" || got.ContentType != "" ||
				r.RequestId != "req-1" || r.LogicalResourceId != "Activation" || r.StackId == "" || r.PhysicalResourceId == "" {
				t.Errorf("%s response %+v (Content-Type %q), want a PUT of %s with the request's ids and no Content-Type",
					got.Method, r, got.ContentType, tc.wantStatus)
			}
			active := ""
			if got.Active != nil {
				active = *got.Active
			}
			if active != tc.wantActive {
				t.Errorf("active rule set afterwards %v, want %q (calls %v)", got.Active, tc.wantActive, got.Calls)
			}
			if tc.wantReason != "" && !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("reason %q lacks %q", r.Reason, tc.wantReason)
			}
		})
	}
}

// TestAsyncRetries (issue 15, item 4): Lambda retries an asynchronous
// invocation twice unless told otherwise. Every function invoked
// asynchronously (by EventBridge, SES or CloudFormation) says how often,
// and the checker not at all.
func TestAsyncRetries(t *testing.T) {
	for _, cfgPath := range allConfigs {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			for name, tmpl := range map[string]map[string]any{"certificate": s.certJSON, "main": s.mainJSON} {
				async := map[string]string{} // function → who invokes it
				getAtt := func(v any) string {
					ga, _ := v.(map[string]any)["Fn::GetAtt"].([]any)
					if len(ga) == 2 && ga[1] == "Arn" {
						return str(ga[0])
					}
					return ""
				}
				for id, r := range tmpl["Resources"].(map[string]any) {
					res := r.(map[string]any)
					typ := str(res["Type"])
					switch {
					case typ == "AWS::Events::Rule":
						for _, tg := range props(res)["Targets"].([]any) {
							if fn := getAtt(tg.(map[string]any)["Arn"]); fn != "" {
								async[fn] = "EventBridge " + id
							}
						}
					case typ == "AWS::SES::ReceiptRule":
						for _, a := range props(res)["Rule"].(map[string]any)["Actions"].([]any) {
							if la, ok := a.(map[string]any)["LambdaAction"].(map[string]any); ok {
								async[getAtt(la["FunctionArn"])] = "SES " + id
							}
						}
					case strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource":
						async[serviceTokenFunction(t, res)] = "CloudFormation " + id
					}
				}
				retries := map[string]any{}
				for _, c := range resources(tmpl, "AWS::Lambda::EventInvokeConfig") {
					fn, _ := props(c)["FunctionName"].(map[string]any)["Ref"].(string)
					retries[fn] = props(c)["MaximumRetryAttempts"]
				}
				for fn, by := range async {
					r, ok := retries[fn]
					if !ok || r == nil {
						t.Errorf("%s stack: %s (invoked by %s) has no explicit asynchronous retry count", name, fn, by)
					}
				}
				if name == "main" {
					chk := logicalID(t, s.d.functions[fnChecker])
					if _, ok := async[chk]; !ok {
						t.Errorf("the checker is not invoked by the schedule")
					}
					if retries[chk] != float64(0) {
						t.Errorf("checker: MaximumRetryAttempts %v, want 0 (the next run comes soon enough)", retries[chk])
					}
				}
			}
		})
	}
}

// domainsConfig is an organisation file with the given domains, in order:
// NAME for a Route53 domain, NAME! for external DNS.
func domainsConfig(t *testing.T, domains ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("organization: Order Org\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.order.example]}}\nreporting: {https: true}\ndomains:\n")
	for _, d := range domains {
		if name, ok := strings.CutSuffix(d, "!"); ok {
			fmt.Fprintf(&b, "  - {name: %s, dns: {external: true}}\n", name)
		} else {
			fmt.Fprintf(&b, "  - {name: %s, dns: {route53: {hosted_zone_id: Z%s}}}\n", d, strings.ToUpper(strings.ReplaceAll(d, ".", "")))
		}
	}
	path := filepath.Join(t.TempDir(), "order.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCertificateIgnoresDomainOrder (issue 15, item 5): reordering the
// domains of the file changes neither the certificate nor the records
// that name its validation CNAMEs.
func TestCertificateIgnoresDomainOrder(t *testing.T) {
	a := synth(t, domainsConfig(t, "zeta.example", "alpha.example!", "mid.example"))
	b := synth(t, domainsConfig(t, "mid.example", "alpha.example!", "zeta.example"))
	certOf := func(s *synthesized) (string, map[string]any) {
		for id, c := range resources(s.certJSON, "AWS::CertificateManager::Certificate") {
			return id, c
		}
		t.Fatal("no certificate")
		return "", nil
	}
	ida, ca := certOf(a)
	idb, cb := certOf(b)
	if ida != idb || !jsonEqual(normaliseCert(ca), normaliseCert(cb)) {
		t.Errorf("reordered domains change the certificate:\n%s %v\n%s %v", ida, ca, idb, cb)
	}
	if a.d.certHash != b.d.certHash {
		t.Errorf("certHash %s vs %s: it follows the file order", a.d.certHash, b.d.certHash)
	}
	// The validation output of the external domain reads the entry of its
	// own name in DescribeCertificate's list (in the order requested).
	for _, s := range []*synthesized{a, b} {
		p := props(certFrom(t, s))
		names := append([]any{p["DomainName"]}, p["SubjectAlternativeNames"].([]any)...)
		want := slices.Index(names, any("mta-sts.alpha.example"))
		out, _ := json.Marshal(s.certJSON["Outputs"].(map[string]any)["Validation"+s.d.outputID["alpha.example"]])
		if want < 0 || !strings.Contains(string(out), fmt.Sprintf("Certificate.DomainValidationOptions.%d.", want)) ||
			strings.Count(string(out), "DomainValidationOptions.") != strings.Count(string(out), fmt.Sprintf("DomainValidationOptions.%d.", want)) {
			t.Errorf("validation output %s does not read entry %d (mta-sts.alpha.example)", out, want)
		}
	}
}

func certFrom(t *testing.T, s *synthesized) map[string]any {
	t.Helper()
	for _, c := range resources(s.certJSON, "AWS::CertificateManager::Certificate") {
		return c
	}
	t.Fatal("no certificate")
	return nil
}

// normaliseCert drops what legitimately follows the list order of the
// validation options (a map in CDK, a list in the template).
func normaliseCert(c map[string]any) map[string]any {
	b, _ := json.Marshal(c)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	p := props(out)
	if dvo, ok := p["DomainValidationOptions"].([]any); ok {
		sort.Slice(dvo, func(i, j int) bool { return str(dvo[i]) < str(dvo[j]) })
	}
	return out
}

// TestLogRetentionEverywhere (issue 15, item 6): every function of both
// stacks, CDK's custom resource providers included, logs to a log group of
// the stack with the configured retention.
func TestLogRetentionEverywhere(t *testing.T) {
	for _, cfgPath := range allConfigs {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			for name, tmpl := range map[string]map[string]any{"certificate": s.certJSON, "main": s.mainJSON} {
				groups := resources(tmpl, "AWS::Logs::LogGroup")
				for id, g := range groups {
					if props(g)["RetentionInDays"] != float64(90) {
						t.Errorf("%s stack: log group %s keeps logs %v days, want 90", name, id, props(g)["RetentionInDays"])
					}
				}
				for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
					lc, _ := props(fn)["LoggingConfig"].(map[string]any)
					group, _ := lc["LogGroup"].(map[string]any)
					ref, _ := group["Ref"].(string)
					if _, ok := groups[ref]; !ok {
						t.Errorf("%s stack: function %s logs to %v, not to a log group of the stack", name, id, lc["LogGroup"])
					}
				}
			}
		})
	}
}

// TestViewerRequestFunction (issue 15, item 7): the CloudFront Function of
// the template answers 404 itself for anything but GET or HEAD of the
// policy path on a served host, and lower-cases the host it forwards.
func TestViewerRequestFunction(t *testing.T) {
	s := synth(t, exampleConfig)
	var code string
	for _, f := range resources(s.mainJSON, "AWS::CloudFront::Function") {
		code = str(props(f)["FunctionCode"])
	}
	if code == "" {
		t.Fatal("no CloudFront Function")
	}
	type result struct {
		StatusCode int
		Forwarded  string
	}
	cases := []struct {
		method, host, uri string
		want              result
	}{
		{"GET", "mta-sts.example.com", PolicyPath, result{0, "mta-sts.example.com"}},
		{"HEAD", "mta-sts.example.org", PolicyPath, result{0, "mta-sts.example.org"}},
		{"GET", "MTA-STS.Mail.Example.COM", PolicyPath, result{0, "mta-sts.mail.example.com"}},
		{"GET", "mta-sts.example.com.", PolicyPath, result{0, "mta-sts.example.com"}},
		{"GET", "MTA-STS.Example.COM.:443", PolicyPath, result{0, "mta-sts.example.com"}},
		{"GET", "mta-sts.example.com:x", PolicyPath, result{404, ""}},
		{"GET", "mta-sts.example.com.evil.example", PolicyPath, result{404, ""}},
		{"GET", "mta-sts.example.com", "/", result{404, ""}},
		{"GET", "mta-sts.example.com", "/.well-known/mta-sts.txt/", result{404, ""}},
		{"GET", "mta-sts.example.com", "/.well-known/MTA-STS.txt", result{404, ""}},
		{"GET", "mta-sts.example.com", "/wp-login.php", result{404, ""}},
		{"POST", "mta-sts.example.com", PolicyPath, result{404, ""}},
		{"OPTIONS", "mta-sts.example.com", PolicyPath, result{404, ""}},
		{"GET", "mta-sts.unknown.example", PolicyPath, result{404, ""}},
		{"GET", "d111111abcdef8.cloudfront.net", PolicyPath, result{404, ""}},
		{"GET", "constructor", PolicyPath, result{404, ""}},
		{"GET", "", PolicyPath, result{404, ""}},
	}
	events, _ := json.Marshal(func() []any {
		var evs []any
		for _, c := range cases {
			headers := m{}
			if c.host != "" {
				headers["host"] = m{"value": c.host}
			}
			headers[HostHeader] = m{"value": "attacker.example"}
			evs = append(evs, m{"version": "1.0", "request": m{"method": c.method, "uri": c.uri, "headers": headers, "querystring": m{}}})
		}
		return evs
	}())
	var got []result
	src, _ := json.Marshal(code)
	runNode(t, t.TempDir(), `
const vm = require('vm');
const ctx = {};
vm.runInNewContext(`+string(src)+` + '\nthis.handler = handler;', ctx);
const out = `+string(events)+`.map((e) => {
  const r = ctx.handler(e);
  if (r.statusCode) return { StatusCode: r.statusCode, Forwarded: '' };
  return { StatusCode: 0, Forwarded: r.headers['`+HostHeader+`'].value };
});
print(out);
`, &got)
	for i, c := range cases {
		if i >= len(got) || got[i] != c.want {
			var g any
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s %s%s: %+v, want %+v", c.method, c.host, c.uri, g, c.want)
		}
	}
}

// TestTLSRPTSplitAfterResolution (issue 15, item 8): a _smtp._tls value
// whose execute-api URL is a short token at synth but ~280 characters
// once resolved reaches Route53 as strings of at most 255 characters that
// concatenate to the record.
func TestTLSRPTSplitAfterResolution(t *testing.T) {
	s := synth(t, longRuaConfig)
	apiID := logicalID(t, s.d.api)
	var rr any
	for _, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
		if props(r)["Name"] == "_smtp._tls.long-rua.example." {
			rr = props(r)["ResourceRecords"]
		}
	}
	list, _ := rr.([]any)
	if len(list) != 1 {
		t.Fatalf("_smtp._tls ResourceRecords %v, want one value", rr)
	}
	// A real endpoint, and the longest one of the region: a 10-character
	// API id, in the China partition.
	for _, endpoint := range []string{"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		"https://abcdefghij.execute-api." + s.d.Config.Region + ".amazonaws.com.cn"} {
		value := resolveJoin(t, list[0], map[string]string{apiID + ".ApiEndpoint": endpoint})
		strs := txtStrings(t, value)
		want := s.d.Config.TLSRPTRecord(endpoint + ReportsPath).String()
		if len(want) <= 255 {
			t.Fatalf("test config too short: %d characters", len(want))
		}
		for _, x := range strs {
			if len(x) > 255 {
				t.Errorf("%s: a string of %d characters reaches Route53 (at most 255)", endpoint, len(x))
			}
		}
		if got := strings.Join(strs, ""); got != want {
			t.Errorf("%s: strings concatenate to\n%s\nwant\n%s", endpoint, got, want)
		}
	}
}

// resolveJoin evaluates a template value made of strings, Fn::Join and the
// Fn::GetAtt attributes given as "ID.Attr".
func resolveJoin(t *testing.T, v any, atts map[string]string) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, resolveJoin(t, p, atts))
			}
			return strings.Join(parts, str(j[0]))
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			if s, ok := atts[str(ga[0])+"."+str(ga[1])]; ok {
				return s
			}
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

// txtStrings splits a Route53 TXT value ("a" "b") into its strings.
func txtStrings(t *testing.T, v string) []string {
	t.Helper()
	var out []string
	for v = strings.TrimSpace(v); v != ""; v = strings.TrimLeft(v, " ") {
		if v[0] != '"' {
			t.Fatalf("TXT value %q: a string does not start with a quote", v)
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			t.Fatalf("TXT value %q: unterminated string", v)
		}
		out = append(out, v[1:1+end])
		v = v[2+end:]
	}
	return out
}

// TestDataProtection (issue 15, item 9): deletion protection on the report
// table, the SES bucket policy conditioned on the receipt rule as well as
// the account, an AAAA alias next to the A alias of the report domain.
func TestDataProtection(t *testing.T) {
	s := synth(t, exampleConfig)
	if p := props(resource(t, s.mainJSON, logicalID(t, s.d.table))); p["DeletionProtectionEnabled"] != true {
		t.Errorf("table DeletionProtectionEnabled %v, want true", p["DeletionProtectionEnabled"])
	}
	for _, typ := range []string{"A", "AAAA"} {
		found := false
		for _, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
			p := props(r)
			if p["Name"] == "tlsrpt.example.com." && p["Type"] == typ && p["AliasTarget"] != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s alias of the report domain tlsrpt.example.com", typ)
		}
	}
	noPanic(t, func() {
		s.main.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), m{
			"DomainName":               "tlsrpt.example.com",
			"DomainNameConfigurations": []any{assertions.Match_ObjectLike(&m{"IpAddressType": "dualstack"})},
		})
	})

	for _, cfgPath := range []string{mailConfig, mailRuleSetConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			bucket := logicalID(t, s.d.mail.bucket)
			rule := props(resource(t, s.mainJSON, logicalID(t, s.d.mail.rule)))
			ruleName := str(rule["Rule"].(map[string]any)["Name"])
			if ruleName == "" || ruleName == "<nil>" {
				t.Fatalf("receipt rule without a fixed name: %v", rule)
			}
			set := "inbound-main"
			if s.d.mail.activation != nil {
				set = "<" + logicalID(t, s.d.mail.ruleSet) + ">"
			}
			wantArn := "arn:aws:ses:" + s.d.Config.Region + ":111122223333:receipt-rule-set/" + set + ":receipt-rule/" + ruleName
			found := false
			for _, pol := range resources(s.mainJSON, "AWS::S3::BucketPolicy") {
				if !jsonEqual(props(pol)["Bucket"], m{"Ref": bucket}) {
					continue
				}
				for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					stm := st.(map[string]any)
					if !jsonEqual(stm["Principal"], m{"Service": "ses.amazonaws.com"}) {
						continue
					}
					found = true
					cond, _ := stm["Condition"].(map[string]any)
					se, _ := cond["StringEquals"].(map[string]any)
					if !jsonEqual(se["aws:SourceAccount"], m{"Ref": "AWS::AccountId"}) {
						t.Errorf("SES statement condition %v lacks aws:SourceAccount", cond)
					}
					if se["aws:SourceArn"] == nil {
						t.Errorf("SES statement condition %v lacks aws:SourceArn", cond)
					} else if got := resolveRefs(t, se["aws:SourceArn"]); got != wantArn {
						t.Errorf("SES statement aws:SourceArn %s, want %s", got, wantArn)
					}
				}
			}
			if !found {
				t.Error("no bucket policy statement for SES on the mail bucket")
			}
		})
	}
}

// resolveRefs is resolveJoin for ARNs: pseudo parameters become fixed
// values, a Ref to a resource becomes "<ID>".
func resolveRefs(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, resolveRefs(t, p))
			}
			return strings.Join(parts, str(j[0]))
		}
		if ref, ok := x["Ref"].(string); ok {
			switch ref {
			case "AWS::Partition":
				return "aws"
			case "AWS::AccountId":
				return "111122223333"
			case "AWS::Region":
				return "eu-west-1"
			}
			return "<" + ref + ">"
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}
