package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Organisation files receiving reports by e-mail.
const (
	mailConfig        = "testdata/mail.yaml"         // the stack's own rule set, eu-west-1
	mailRuleSetConfig = "testdata/mail-ruleset.yaml" // an existing rule set, us-east-1
)

// TestMail: with reporting.email.receive the stack has the SES identity of
// the mail domain and its DKIM and MX records, a receipt rule storing each
// message and invoking the mailin function, the function with narrow
// grants, and a rule set made active.
func TestMail(t *testing.T) {
	s := synth(t, mailConfig)
	mp := s.d.mail
	tmpl := s.main
	bucket, fn, rule := logicalID(t, mp.bucket), logicalID(t, mp.function), logicalID(t, mp.rule)
	identity := logicalID(t, mp.identity)
	noPanic(t, func() {
		tmpl.ResourceCountIs(jsii.String("AWS::SES::ReceiptRuleSet"), jsii.Number(1))
		tmpl.HasResourceProperties(jsii.String("AWS::SES::ReceiptRule"), m{
			"RuleSetName": m{"Ref": logicalID(t, mp.ruleSet)},
			"Rule": m{
				"Enabled":     true,
				"ScanEnabled": true,
				"TlsPolicy":   "Optional", // RFC 8460 §5.3: delivered despite TLS failures
				"Recipients":  []any{"tlsrpt@reports.example.com"},
				"Actions": []any{
					m{"S3Action": m{"BucketName": m{"Ref": bucket}, "ObjectKeyPrefix": MailPrefix}},
					m{"LambdaAction": m{"FunctionArn": m{"Fn::GetAtt": []any{fn, "Arn"}}, "InvocationType": "Event"}},
				},
			},
		})
		tmpl.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), m{"EmailIdentity": "reports.example.com"})
		tmpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), m{
			"Type":            "MX",
			"Name":            "reports.example.com.",
			"HostedZoneId":    "ZMAIL1",
			"ResourceRecords": []any{"10 inbound-smtp.eu-west-1.amazonaws.com"},
		})
		for _, i := range []string{"1", "2", "3"} {
			tmpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), m{
				"Type":            "CNAME",
				"HostedZoneId":    "ZMAIL1",
				"Name":            m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{identity, "DkimDNSTokenName" + i}}, "."}}},
				"ResourceRecords": []any{m{"Fn::GetAtt": []any{identity, "DkimDNSTokenValue" + i}}},
			})
		}
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), m{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": m{"Fn::GetAtt": []any{fn, "Arn"}},
			"Principal":    "ses.amazonaws.com",
		})
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), m{
			"FunctionName": m{"Ref": fn}, "MaximumRetryAttempts": 2,
		})
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), m{
			"LifecycleConfiguration": m{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Id": "raw-messages", "ExpirationInDays": MailDays, "Status": "Enabled"}),
			})},
			"PublicAccessBlockConfiguration": m{"BlockPublicAcls": true, "BlockPublicPolicy": true,
				"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		})
		tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), m{
			"Bucket": m{"Ref": bucket},
			"PolicyDocument": m{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Action":    "s3:PutObject",
				"Effect":    "Allow",
				"Principal": m{"Service": "ses.amazonaws.com"},
				"Resource":  m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{bucket, "Arn"}}, "/" + MailPrefix + "*"}}},
			})})},
		})
		tmpl.ResourceCountIs(jsii.String("Custom::ActiveReceiptRuleSet"), jsii.Number(1))
		tmpl.HasOutput(jsii.String("MailRua"), m{"Value": "tlsrpt@reports.example.com"})
	})

	// The alarms of the function go to the alert topic.
	for _, name := range []string{"MailinErrors", "MailinThrottles"} {
		found := false
		for id, r := range resources(s.mainJSON, "AWS::CloudWatch::Alarm") {
			if !strings.HasPrefix(id, name) {
				continue
			}
			found = true
			p := props(r)
			if !jsonEqual(p["AlarmActions"], []any{m{"Ref": logicalID(t, s.d.topic)}}) ||
				!jsonEqual(p["Dimensions"], []any{m{"Name": "FunctionName", "Value": m{"Ref": fn}}}) {
				t.Errorf("%s: actions %v, dimensions %v", id, p["AlarmActions"], p["Dimensions"])
			}
		}
		if !found {
			t.Errorf("no alarm %s", name)
		}
	}

	// The activation runs once the rule exists (TestRuleSetActivation runs
	// its code); the MX record, once mail can be taken.
	if !dependsOn(resource(t, s.mainJSON, logicalID(t, mp.activation)), rule) {
		t.Error("the rule set is activated before its rule exists")
	}
	mx := resource(t, s.mainJSON, logicalID(t, mp.mx))
	if !dependsOn(mx, rule) || !dependsOn(mx, logicalID(t, mp.activation)) {
		t.Errorf("MX DependsOn %v: not after the rule and its activation", mx["DependsOn"])
	}
	// The rua is published only once mail can be received.
	for id, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
		if n := str(props(r)["Name"]); strings.HasPrefix(n, "_smtp._tls.") && (!dependsOn(r, rule) || !dependsOn(r, logicalID(t, mp.mx))) {
			t.Errorf("%s (%s) DependsOn %v: not after the mail rule and MX", id, n, r["DependsOn"])
		}
	}

	// The function: its environment and asset, its grants and nothing more.
	p := props(resource(t, s.mainJSON, fn))
	vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	want := map[string]any{
		"STSTACK_CONFIG": ConfigFile, "STSTACK_MAIL_PREFIX": MailPrefix, "STSTACK_DROP_UNSIGNED": "true",
		"STSTACK_MAIL_BUCKET": m{"Ref": bucket},
		"STSTACK_BUCKET":      m{"Ref": logicalID(t, s.d.bucket)},
		"STSTACK_TABLE":       m{"Ref": logicalID(t, s.d.table)},
	}
	if !jsonEqual(vars, want) {
		t.Errorf("mailin environment = %v, want %v", vars, want)
	}
	if p["Runtime"] != "provided.al2023" || !jsonEqual(p["Architectures"], []string{"arm64"}) {
		t.Errorf("mailin: runtime %v, architectures %v", p["Runtime"], p["Architectures"])
	}
	cfgData, _ := os.ReadFile(mailConfig)
	if staged, err := os.ReadFile(filepath.Join(s.d.assets[fnMailin], ConfigFile)); err != nil || string(staged) != string(cfgData) {
		t.Errorf("mailin: staged %s differs from %s (%v)", ConfigFile, mailConfig, err)
	}
	roleID := logicalID(t, mp.function.Role())
	allowed := []any{
		m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{logicalID(t, s.d.bucket), "Arn"}}, "/" + RawReportPrefix + "*"}}},
		m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{bucket, "Arn"}}, "/" + MailPrefix + "*"}}},
		m{"Fn::GetAtt": []any{logicalID(t, s.d.table), "Arn"}},
	}
	for id, pol := range resources(s.mainJSON, "AWS::IAM::Policy") {
		if !jsonEqual(props(pol)["Roles"], []any{m{"Ref": roleID}}) {
			continue
		}
		for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stm := st.(map[string]any)
			if strings.Contains(str(stm["Action"]), "logs:") {
				continue
			}
			if strings.Contains(str(stm["Action"]), "*") {
				t.Errorf("%s: wildcard action %v", id, stm["Action"])
			}
			if !slices.ContainsFunc(allowed, func(a any) bool { return jsonEqual(a, stm["Resource"]) }) {
				t.Errorf("%s: %v on %v: only raw reports, messages and the table", id, stm["Action"], stm["Resource"])
			}
		}
	}
	nagClean(t, s)
}

// TestMailExistingRuleSet: with reporting.email.rule_set the rule goes into
// that rule set, which the stack neither creates nor activates.
func TestMailExistingRuleSet(t *testing.T) {
	s := synth(t, mailRuleSetConfig)
	noPanic(t, func() {
		s.main.ResourceCountIs(jsii.String("AWS::SES::ReceiptRuleSet"), jsii.Number(0))
		s.main.HasResourceProperties(jsii.String("AWS::SES::ReceiptRule"), m{
			"RuleSetName": "inbound-main",
			"Rule":        assertions.Match_ObjectLike(&map[string]any{"Recipients": []any{"tls-reports@in.shared.example"}}),
		})
		s.main.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), m{
			"Type": "MX", "Name": "in.shared.example.", "HostedZoneId": "ZSHARED1",
			"ResourceRecords": []any{"10 inbound-smtp.us-east-1.amazonaws.com"},
		})
	})
	if s.d.mail.activation != nil {
		t.Error("an existing rule set is activated")
	}
	for id, r := range resources(s.mainJSON, "Custom::AWS") {
		if strings.Contains(string(resolvedJSON(t, r)), "ReceiptRuleSet") {
			t.Errorf("%s touches receipt rule sets", id)
		}
	}
	nagClean(t, s)
}

// TestNoMail: without reporting.email.receive nothing of it is deployed
// (the example publishes a mailto whose mail goes elsewhere).
func TestNoMail(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig} {
		s := synth(t, cfgPath)
		noPanic(t, func() {
			for _, typ := range []string{"AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule", "AWS::SES::EmailIdentity"} {
				s.main.ResourceCountIs(jsii.String(typ), jsii.Number(0))
			}
			s.main.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(resources(s.mainJSON, "AWS::Lambda::Function")))))
		})
		if s.d.mail.function != nil || s.d.functions[fnMailin] != nil || s.d.assets[fnMailin] != "" {
			t.Errorf("%s: mailin deployed without reporting.email.receive", cfgPath)
		}
		for id, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
			if props(r)["Type"] == "MX" {
				t.Errorf("%s: MX record %s", cfgPath, id)
			}
		}
	}
}

// nagClean fails the test on a cdk-nag error in either stack, and on a
// suppression without a real reason.
func nagClean(t *testing.T, s *synthesized) {
	t.Helper()
	tmpls := s.templates()
	for _, st := range s.d.stacks() {
		noPanic(t, func() {
			if st.NestedStackParent() != nil {
				if errs := SynthErrors(st); len(errs) > 0 {
					t.Errorf("%s: %d cdk-nag errors: %v", *st.Node().Path(), len(errs), errs)
				}
				return // the assertions library finds no artifact of a nested stack
			}
			errs := assertions.Annotations_FromStack(st).FindError(jsii.String("*"),
				assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			if len(*errs) > 0 {
				b, _ := json.MarshalIndent(errs, "", "  ")
				t.Errorf("%s: %d cdk-nag errors:\n%s", *st.StackName(), len(*errs), b)
			}
		})
		for id, r := range tmpls[*st.Node().Path()]["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				if rm := rule.(map[string]any); len(str(rm["reason"])) < 40 {
					t.Errorf("%s: suppression of %v has no real reason: %q", id, rm["id"], rm["reason"])
				}
			}
		}
	}
}

// dependsOn reports whether a template resource depends on logical id.
func dependsOn(r map[string]any, id string) bool {
	l, _ := r["DependsOn"].([]any)
	return slices.Contains(l, any(id))
}

// resolvedJSON is v (a template value, possibly an Fn::Join) as JSON text.
func resolvedJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
