package stacks

// Tests of what a real deployment does that the templates alone do not
// show: who may publish to the alert topic, what the inline functions do
// when run, which invocations Lambda retries, what Route53 receives once
// CloudFormation resolved every token.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

const longRuaConfig = "testdata/long-rua.yaml" // _smtp._tls > 255 characters once resolved

// allConfigs is every organisation file the tests synthesize.
var allConfigs = []string{exampleConfig, probeConfig, mailConfig, mailRuleSetConfig, longRuaConfig, delegatedConfig}

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
			for name, tmpl := range s.templates() {
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
						if tok, _ := props(res)["ServiceToken"].(map[string]any); tok["Ref"] != nil {
							continue // a shard's: its provider is the edge stack's, checked there
						}
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

// TestLogRetentionEverywhere (issue 15, item 6): every function of both
// stacks, CDK's custom resource providers included, logs to a log group of
// the stack with the configured retention.
func TestLogRetentionEverywhere(t *testing.T) {
	for _, cfgPath := range allConfigs {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			for name, tmpl := range s.templates() {
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
		{"GET", "mta-sts.example.com.evil.example", PolicyPath, result{0, "mta-sts.example.com.evil.example"}}, // a tenant-only distribution routes its tenants' hosts only; the handler refuses others
		{"GET", "mta-sts.example.com", "/", result{404, ""}},
		{"GET", "mta-sts.example.com", "/.well-known/mta-sts.txt/", result{404, ""}},
		{"GET", "mta-sts.example.com", "/.well-known/MTA-STS.txt", result{404, ""}},
		{"GET", "mta-sts.example.com", "/wp-login.php", result{404, ""}},
		{"POST", "mta-sts.example.com", PolicyPath, result{404, ""}},
		{"OPTIONS", "mta-sts.example.com", PolicyPath, result{404, ""}},
		{"GET", "mta-sts.unknown.example", PolicyPath, result{0, "mta-sts.unknown.example"}},             // a tenant-only distribution routes its tenants' hosts only; the handler refuses others
		{"GET", "d111111abcdef8.cloudfront.net", PolicyPath, result{0, "d111111abcdef8.cloudfront.net"}}, // a tenant-only distribution routes its tenants' hosts only; the handler refuses others
		{"GET", "constructor", PolicyPath, result{0, "constructor"}},                                     // a tenant-only distribution routes its tenants' hosts only; the handler refuses others
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
	shard := s.shardOf(t, "long-rua.example")
	var param string // the shard's parameter holding the main stack's ids
	for name := range shard["Parameters"].(map[string]any) {
		if strings.Contains(name, "MainIds") {
			param = name
		}
	}
	var rr any
	for _, r := range resources(s.shardOf(t, "long-rua.example"), "AWS::Route53::RecordSet") {
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
		value := resolveJoin(t, list[0], map[string]string{param: "E1 cg_1 d1.cloudfront.net " + endpoint})
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
		// Fn::Select of an Fn::Split of a parameter: a field of the
		// main stack's ids, as the edge stack's shards read them.
		if sel, ok := x["Fn::Select"].([]any); ok && len(sel) == 2 {
			if sp, ok := sel[1].(map[string]any)["Fn::Split"].([]any); ok && len(sp) == 2 {
				ref, _ := sp[1].(map[string]any)["Ref"].(string)
				if whole, ok := atts[ref]; ok {
					fields := strings.Split(whole, str(sp[0]))
					if i, ok := sel[0].(float64); ok && int(i) < len(fields) {
						return fields[int(i)]
					}
				}
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
