package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

// m is shorthand for the property maps given to assertions.
type m = map[string]any

func TestFunctions(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			cfgData, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker} {
				f := s.d.functions[fn]
				p := props(resource(t, s.mainJSON, logicalID(t, f)))
				if p["Runtime"] != "provided.al2023" || !jsonEqual(p["Architectures"], []string{"arm64"}) || p["Handler"] != "bootstrap" {
					t.Errorf("%s: runtime %v, architectures %v, handler %v; want provided.al2023, [arm64], bootstrap",
						fn, p["Runtime"], p["Architectures"], p["Handler"])
				}
				vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
				if vars["STSTACK_CONFIG"] != ConfigFile {
					t.Errorf("%s: STSTACK_CONFIG = %v, want %s", fn, vars["STSTACK_CONFIG"], ConfigFile)
				}
				if fn != fnPolicy {
					if !jsonEqual(vars["STSTACK_BUCKET"], m{"Ref": logicalID(t, s.d.bucket)}) ||
						!jsonEqual(vars["STSTACK_TABLE"], m{"Ref": logicalID(t, s.d.table)}) {
						t.Errorf("%s: STSTACK_BUCKET %v, STSTACK_TABLE %v: not the report bucket and table", fn, vars["STSTACK_BUCKET"], vars["STSTACK_TABLE"])
					}
				}
				if fn == fnChecker {
					if !jsonEqual(vars["STSTACK_TOPIC_ARN"], m{"Ref": logicalID(t, s.d.topic)}) {
						t.Errorf("checker: STSTACK_TOPIC_ARN = %v, not the alert topic", vars["STSTACK_TOPIC_ARN"])
					}
					if !jsonEqual(vars["STSTACK_RUA_HTTPS"], resolved(t, s.d.Main, jsii.String(s.d.ruaHTTPS))) {
						t.Errorf("checker: STSTACK_RUA_HTTPS = %v, want %v", vars["STSTACK_RUA_HTTPS"], s.d.ruaHTTPS)
					}
					if want := strconv.FormatBool(s.d.Config.Checker.SMTPProbe); vars["STSTACK_SMTP_PROBE"] != want {
						t.Errorf("checker: STSTACK_SMTP_PROBE = %v, want %s", vars["STSTACK_SMTP_PROBE"], want)
					}
				}
				// The asset is the Makefile's bootstrap and the organisation file.
				boot, err := os.ReadFile(filepath.Join(s.d.assets[fn], "bootstrap"))
				if err != nil || string(boot) != "placeholder "+fn+"\n" {
					t.Errorf("%s: staged bootstrap %q, %v", fn, boot, err)
				}
				staged, err := os.ReadFile(filepath.Join(s.d.assets[fn], ConfigFile))
				if err != nil || string(staged) != string(cfgData) {
					t.Errorf("%s: staged %s differs from %s (%v)", fn, ConfigFile, cfgPath, err)
				}
			}
		})
	}
}

func TestPolicyDistribution(t *testing.T) {
	s := synth(t, exampleConfig)
	dist := props(resource(t, s.mainJSON, logicalID(t, s.d.distribution)))["DistributionConfig"].(map[string]any)
	// Multi-tenant: the tenants carry the domains and their certificates
	// (TestMultiTenantDistribution, TestCertificatePerDomain).
	if dist["Aliases"] != nil || dist["ViewerCertificate"] != nil {
		t.Errorf("aliases %v, viewer certificate %v: the tenants carry them", dist["Aliases"], dist["ViewerCertificate"])
	}
	beh := dist["DefaultCacheBehavior"].(map[string]any)
	if beh["ViewerProtocolPolicy"] != "https-only" {
		t.Errorf("ViewerProtocolPolicy %v, want https-only (RFC 8461 §3.3: no redirects)", beh["ViewerProtocolPolicy"])
	}
	if !jsonEqual(beh["AllowedMethods"], []string{"GET", "HEAD"}) {
		t.Errorf("AllowedMethods %v, want GET and HEAD", beh["AllowedMethods"])
	}
	for _, e := range dist["CustomErrorResponses"].([]any) {
		em := e.(map[string]any)
		if ttl, _ := em["ErrorCachingMinTTL"].(float64); ttl > 10 {
			t.Errorf("error %v cached %v s, want at most 10", em["ErrorCode"], ttl)
		}
	}
	if len(dist["CustomErrorResponses"].([]any)) < 10 {
		t.Errorf("only %d error codes have a short error cache", len(dist["CustomErrorResponses"].([]any)))
	}
	origins := dist["Origins"].([]any)
	if len(origins) != 1 || origins[0].(map[string]any)["OriginAccessControlId"] == nil {
		t.Errorf("origins %v, want one function URL with origin access control", origins)
	}
	noPanic(t, func() {
		s.main.HasResourceProperties(jsii.String("AWS::CloudFront::CachePolicy"), m{
			"CachePolicyConfig": m{
				"DefaultTTL": PolicyCacheTTL.Seconds(), "MaxTTL": PolicyCacheTTL.Seconds(), "MinTTL": 0,
				"ParametersInCacheKeyAndForwardedToOrigin": assertions.Match_ObjectLike(&m{
					"HeadersConfig": m{"HeaderBehavior": "whitelist", "Headers": []any{HostHeader}},
				}),
			},
		})
		s.main.HasResourceProperties(jsii.String("AWS::Lambda::Url"), m{
			"AuthType":          "AWS_IAM",
			"InvokeMode":        "RESPONSE_STREAM",
			"TargetFunctionArn": m{"Fn::GetAtt": []any{logicalID(t, s.d.functions[fnPolicy]), "Arn"}},
		})
		s.main.HasResourceProperties(jsii.String("AWS::CloudFront::OriginAccessControl"), m{
			"OriginAccessControlConfig": assertions.Match_ObjectLike(&m{"OriginAccessControlOriginType": "lambda", "SigningBehavior": "always"}),
		})
		s.main.HasResourceProperties(jsii.String("AWS::CloudFront::Function"), m{
			"FunctionCode": assertions.Match_StringLikeRegexp(jsii.String(`request\.headers\['` + HostHeader + `'\] = \{ value: host \}`)),
		})
	})
	if PolicyCacheTTL.Seconds() != 300 {
		t.Errorf("PolicyCacheTTL %v: the policy handler sends Cache-Control: max-age=300", PolicyCacheTTL)
	}
}

func TestReportStore(t *testing.T) {
	s := synth(t, exampleConfig)
	bucket := resource(t, s.mainJSON, logicalID(t, s.d.bucket))
	table := resource(t, s.mainJSON, logicalID(t, s.d.table))
	for name, r := range map[string]map[string]any{"bucket": bucket, "table": table} {
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v UpdateReplacePolicy %v, want Retain (make destroy keeps the data)", name, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	noPanic(t, func() {
		s.main.HasResourceProperties(jsii.String("AWS::S3::Bucket"), m{
			"PublicAccessBlockConfiguration": m{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"BucketEncryption": m{"ServerSideEncryptionConfiguration": []any{
				m{"ServerSideEncryptionByDefault": m{"SSEAlgorithm": "AES256"}},
			}},
			"LifecycleConfiguration": m{"Rules": []any{assertions.Match_ObjectLike(&m{
				"Id": "raw-reports", "Status": "Enabled", "ExpirationInDays": RawReportDays,
				"AbortIncompleteMultipartUpload": m{"DaysAfterInitiation": 1},
			})}},
			"VersioningConfiguration": m{"Status": "Enabled"},
		})
		s.main.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), m{
			"Bucket": m{"Ref": logicalID(t, s.d.bucket)},
			"PolicyDocument": m{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&m{
				"Effect": "Deny", "Action": "s3:*",
				"Condition": m{"Bool": m{"aws:SecureTransport": "false"}},
			})})},
		})
		s.main.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), m{
			"BillingMode": "PAY_PER_REQUEST",
			"KeySchema": []any{
				m{"AttributeName": "pk", "KeyType": "HASH"},
				m{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"PointInTimeRecoverySpecification": m{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          m{"AttributeName": "ttl", "Enabled": true},
		})
		s.main.ResourceCountIs(jsii.String("AWS::DynamoDB::GlobalTable"), jsii.Number(0))
	})
}

func TestReportAPI(t *testing.T) {
	cases := []struct {
		config  string
		rua     any // the output RuaHttps
		execAPI bool
	}{
		{exampleConfig, "https://tlsrpt.example.com" + ReportsPath, false},
		{probeConfig, m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{"API", "ApiEndpoint"}}, ReportsPath}}}, true},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.config), func(t *testing.T) {
			s := synth(t, tc.config)
			apiID := logicalID(t, s.d.api)
			want := tc.rua
			if _, ok := want.(string); !ok {
				b, _ := json.Marshal(want)
				_ = json.Unmarshal([]byte(strings.ReplaceAll(string(b), `"API"`, strconv.Quote(apiID))), &want)
			}
			out := s.mainJSON["Outputs"].(map[string]any)["RuaHttps"].(map[string]any)["Value"]
			if !jsonEqual(out, want) {
				t.Errorf("RuaHttps %v, want %v", out, want)
			}
			noPanic(t, func() {
				s.main.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), m{
					"ProtocolType": "HTTP", "DisableExecuteApiEndpoint": !tc.execAPI,
				})
				s.main.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), m{
					"ApiId": m{"Ref": apiID}, "RouteKey": "POST " + ReportsPath,
				})
				s.main.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(1))
				s.main.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), m{
					"ApiId": m{"Ref": apiID}, "StageName": "$default", "AutoDeploy": true,
					"DefaultRouteSettings": m{"ThrottlingRateLimit": ReportsRateLimit, "ThrottlingBurstLimit": ReportsBurstLimit},
					"AccessLogSettings":    assertions.Match_ObjectLike(&m{"Format": assertions.Match_StringLikeRegexp(jsii.String(`\$context\.status`))}),
				})
				if !tc.execAPI {
					s.main.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), m{
						"DomainName": "tlsrpt.example.com",
						"DomainNameConfigurations": []any{assertions.Match_ObjectLike(&m{
							"EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2",
						})},
					})
					s.main.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), m{
						"Name": "tlsrpt.example.com.", "Type": "A", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
					})
				} else {
					s.main.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::DomainName"), jsii.Number(0))
				}
			})
		})
	}
}

func TestIAMLeastPrivilege(t *testing.T) {
	// The action prefixes that touch stored reports.
	dataActions := []string{"s3:", "dynamodb:"}
	for _, cfgPath := range []string{exampleConfig, probeConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			bucketObjects := m{"Fn::Join": []any{"", []any{m{"Fn::GetAtt": []any{logicalID(t, s.d.bucket), "Arn"}}, "/" + RawReportPrefix + "*"}}}
			tableArn := m{"Fn::GetAtt": []any{logicalID(t, s.d.table), "Arn"}}
			for id, pol := range resources(s.mainJSON, "AWS::IAM::Policy") {
				doc := props(pol)["PolicyDocument"].(map[string]any)
				for _, st := range doc["Statement"].([]any) {
					stm := st.(map[string]any)
					var actions []string
					switch a := stm["Action"].(type) {
					case string:
						actions = []string{a}
					case []any:
						for _, x := range a {
							actions = append(actions, str(x))
						}
					}
					var res []any
					if r, ok := stm["Resource"].([]any); ok {
						res = r
					} else {
						res = []any{stm["Resource"]}
					}
					for _, a := range actions {
						if strings.Contains(a, "*") {
							t.Errorf("%s: wildcard action %s", id, a)
						}
						isData := slices.ContainsFunc(dataActions, func(p string) bool { return strings.HasPrefix(a, p) })
						for _, r := range res {
							if r == "*" && !strings.HasPrefix(a, "ec2:") {
								t.Errorf("%s: %s on every resource", id, a)
							}
							if isData && !jsonEqual(r, bucketObjects) && !jsonEqual(r, tableArn) {
								t.Errorf("%s: %s on %v: only the report bucket's objects and the table itself", id, a, r)
							}
						}
					}
				}
			}
			for id, role := range resources(s.mainJSON, "AWS::IAM::Role") {
				if _, ok := props(role)["ManagedPolicyArns"]; ok && !strings.HasPrefix(id, customResourceProvider) {
					t.Errorf("role %s has managed policies; the functions' roles list every permission", id)
				}
			}
		})
	}
}

func TestChecker(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			chk := s.d.Config.Checker
			fnID := logicalID(t, s.d.functions[fnChecker])
			noPanic(t, func() {
				s.main.HasResourceProperties(jsii.String("AWS::Events::Rule"), m{
					"ScheduleExpression": chk.Schedule,
					"State":              "ENABLED",
					"Targets":            []any{assertions.Match_ObjectLike(&m{"Arn": m{"Fn::GetAtt": []any{fnID, "Arn"}}})},
				})
				s.main.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(float64(len(chk.AlertEmails))))
				for _, addr := range chk.AlertEmails {
					s.main.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), m{
						"Protocol": "email", "Endpoint": addr, "TopicArn": m{"Ref": logicalID(t, s.d.topic)},
					})
				}
				s.main.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), m{
					"PolicyDocument": m{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&m{
						"Effect": "Deny", "Condition": m{"Bool": m{"aws:SecureTransport": "false"}},
					})})},
				})
				vpcs := 0.0
				if chk.SMTPProbe {
					vpcs = 1
					s.main.HasResourceProperties(jsii.String("AWS::Lambda::Function"), m{
						"Description": assertions.Match_StringLikeRegexp(jsii.String("checks DNS")),
						"VpcConfig":   assertions.Match_ObjectLike(&m{"SubnetIds": assertions.Match_AnyValue()}),
					})
				}
				s.main.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(vpcs))
				s.main.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(vpcs))
			})
			if !chk.SMTPProbe {
				if _, ok := props(resource(t, s.mainJSON, fnID))["VpcConfig"]; ok {
					t.Error("checker in a VPC without smtp_probe")
				}
			}
		})
	}
}

func TestOperations(t *testing.T) {
	s := synth(t, exampleConfig)
	for id, lg := range resources(s.mainJSON, "AWS::Logs::LogGroup") {
		if props(lg)["RetentionInDays"] != float64(90) {
			t.Errorf("log group %s: RetentionInDays %v, want 90", id, props(lg)["RetentionInDays"])
		}
	}
	// Every function logs to its own log group.
	for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker} {
		lc, _ := props(resource(t, s.mainJSON, logicalID(t, s.d.functions[fn])))["LoggingConfig"].(map[string]any)
		if lc == nil || lc["LogGroup"] == nil {
			t.Errorf("%s: no log group of its own", fn)
		}
	}
	topic := m{"Ref": logicalID(t, s.d.topic)}
	alarms := map[string]bool{} // "namespace metric dimension" → present
	for id, a := range resources(s.mainJSON, "AWS::CloudWatch::Alarm") {
		p := props(a)
		if !jsonEqual(p["AlarmActions"], []any{topic}) {
			t.Errorf("alarm %s: actions %v, want the alert topic", id, p["AlarmActions"])
		}
		dims, _ := json.Marshal(p["Dimensions"])
		alarms[str(p["Namespace"])+" "+str(p["MetricName"])+" "+string(dims)] = true
	}
	has := func(ns, metric string, dim any) {
		t.Helper()
		for k := range alarms {
			b, _ := json.Marshal(dim)
			if strings.HasPrefix(k, ns+" "+metric+" ") && strings.Contains(k, string(b)) {
				return
			}
		}
		t.Errorf("no alarm on %s %s %v", ns, metric, dim)
	}
	for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker} {
		ref := m{"Ref": logicalID(t, s.d.functions[fn])}
		has("AWS/Lambda", "Errors", ref)
		has("AWS/Lambda", "Throttles", ref)
	}
	has("AWS/ApiGateway", "5xx", m{"Ref": logicalID(t, s.d.api)})
	has("AWS/Events", "FailedInvocations", m{"Ref": logicalID(t, s.d.schedule)})
	noPanic(t, func() {
		s.main.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	})
}

func TestOutputs(t *testing.T) {
	s := synth(t, exampleConfig)
	main := s.mainJSON["Outputs"].(map[string]any)
	for _, k := range []string{"TLSRPTRecord", "RoutingEndpoint", "PolicyDistributionId", "RuaHttps"} {
		if _, ok := main[k]; !ok {
			t.Errorf("main stack: no output %s", k)
		}
	}
	// Each domain's output is in its shard.
	for _, dom := range s.d.Config.Domains {
		outs := s.shardOf(t, dom.Name)["Outputs"].(map[string]any)
		o, ok := outs["Domain"+s.d.outputID[dom.Name]].(map[string]any)
		if !ok {
			t.Errorf("%s: no output", dom.Name)
			continue
		}
		v, _ := json.Marshal(o["Value"])
		want := []string{"https://" + dom.PolicyHost() + PolicyPath, dom.STSRecord().String()}
		if dom.DNS.External {
			want = append(want, dom.PolicyHost()+". CNAME ", "_smtp._tls."+dom.Name+". TXT")
		}
		for _, w := range want {
			if !strings.Contains(string(v), strings.ReplaceAll(strconv.Quote(w), `"`, "")) {
				t.Errorf("%s output %s lacks %q", dom.Name, v, w)
			}
		}
	}
}

// TestStoreOutputs: ststack dashboard --aws finds the report store and the
// https rua in the outputs ReportsBucket, ReportsTable and ReportEndpoint
// (the names cmd/ststack/dashboard.go looks up), the last only when the
// https rua is published.
func TestStoreOutputs(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig, mailRuleSetConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			outs := s.mainJSON["Outputs"].(map[string]any)
			for _, tc := range []struct {
				name string
				want any // nil: no such output
			}{
				{"ReportsBucket", m{"Ref": logicalID(t, s.d.bucket)}},
				{"ReportsTable", m{"Ref": logicalID(t, s.d.table)}},
				{"ReportEndpoint", func() any {
					if !s.d.Config.Reporting.HTTPS {
						return nil
					}
					return resolved(t, s.d.Main, jsii.String(s.d.ruaHTTPS))
				}()},
			} {
				o, ok := outs[tc.name].(map[string]any)
				if tc.want == nil {
					if ok {
						t.Errorf("output %s %v without an https rua", tc.name, o)
					}
					continue
				}
				if !ok {
					t.Errorf("no output %s", tc.name)
					continue
				}
				if !jsonEqual(o["Value"], tc.want) {
					t.Errorf("output %s = %v, want %v", tc.name, o["Value"], tc.want)
				}
				if d := str(o["Description"]); !strings.Contains(d, "ststack dashboard --aws") {
					t.Errorf("output %s: description %q does not say who reads it", tc.name, d)
				}
			}
			rua, _ := outs["RuaHttps"].(map[string]any)
			ep, _ := outs["ReportEndpoint"].(map[string]any)
			if !jsonEqual(ep["Value"], rua["Value"]) {
				t.Errorf("ReportEndpoint %v differs from RuaHttps %v", ep["Value"], rua["Value"])
			}
		})
	}
}

func TestNag(t *testing.T) {
	for _, cfgPath := range allConfigs {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
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
				if errs := SynthErrors(st); len(errs) > 0 {
					t.Errorf("%s: SynthErrors: %v", *st.StackName(), errs)
				}
			}
			// Every suppression gives its reason.
			for _, tmpl := range s.templates() {
				for id, r := range tmpl["Resources"].(map[string]any) {
					md, _ := r.(map[string]any)["Metadata"].(map[string]any)
					nag, _ := md["cdk_nag"].(map[string]any)
					rules, _ := nag["rules_to_suppress"].([]any)
					for _, rule := range rules {
						rm := rule.(map[string]any)
						if len(str(rm["reason"])) < 40 {
							t.Errorf("%s: suppression of %v has no real reason: %q", id, rm["id"], rm["reason"])
						}
					}
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := fixtureDir(t)
	lambdas := filepath.Join(dir, "lambda")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("organization: X\nregion: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Issue 16: a stack beyond CloudFormation's 500 resources is refused
	// by New, naming the limit, not by a panic in the CDK's synth: here
	// 100 Route53 domains whose names hash into one shard.
	var crowded strings.Builder
	crowded.WriteString("organization: Many\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\nreporting: {mailto: r@example.net, https: true}\ndomains:\n")
	for i, n := 0, 0; n < 100; i++ {
		name := "s" + strconv.Itoa(i) + ".example"
		if config.DomainShard(name) == 0 {
			crowded.WriteString("  - {name: " + name + ", dns: {route53: {hosted_zone_id: Z" + strconv.Itoa(i) + "}}}\n")
			n++
		}
	}
	crowdedPath := filepath.Join(t.TempDir(), "crowded.yaml")
	if err := os.WriteFile(crowdedPath, []byte(crowded.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		opts      Options
		wantInErr string
	}{
		{"missing bootstrap", Options{ConfigPath: exampleConfig, LambdaDir: t.TempDir()}, "bootstrap: missing; build the functions first"},
		{"missing config", Options{ConfigPath: "testdata/none.yaml", LambdaDir: lambdas}, "testdata/none.yaml"},
		{"invalid config", Options{ConfigPath: bad, LambdaDir: lambdas}, "bad.yaml:"},
		{"crowded shard", Options{ConfigPath: crowdedPath, LambdaDir: lambdas}, "crowded.yaml: domains: shard 0 of the edge stack"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.StagingDir = t.TempDir()
			var err error
			noPanic(t, func() { _, err = New(awscdk.NewApp(nil), tc.opts) })
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("New: %v, want an error containing %q", err, tc.wantInErr)
			}
		})
	}
}

func TestOutputIDs(t *testing.T) {
	doms := func(names ...string) []config.Domain {
		var ds []config.Domain
		for _, n := range names {
			ds = append(ds, config.Domain{Name: n})
		}
		return ds
	}
	cases := []struct {
		names []string
		want  map[string]string
	}{
		{[]string{"example.com"}, map[string]string{"example.com": "ExampleCom"}},
		{[]string{"mail.example.com", "xn--bcher-kva.example"}, map[string]string{"mail.example.com": "MailExampleCom", "xn--bcher-kva.example": "XnBcherKvaExample"}},
		{[]string{"a-b.com", "a.b.com", "ab.com"}, map[string]string{"a-b.com": "ABCom", "a.b.com": "ABCom1", "ab.com": "AbCom"}},
		// The file's order does not matter (issue 15, item 5).
		{[]string{"ab.com", "a.b.com", "a-b.com"}, map[string]string{"a-b.com": "ABCom", "a.b.com": "ABCom1", "ab.com": "AbCom"}},
		{[]string{"1.example", "2.example"}, map[string]string{"1.example": "1Example", "2.example": "2Example"}},
	}
	for _, tc := range cases {
		if got := outputIDs(doms(tc.names...)); !jsonEqual(got, tc.want) {
			t.Errorf("outputIDs(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
}

func TestZoneFor(t *testing.T) {
	domains := []config.Domain{
		{Name: "example.com", DNS: config.DNS{HostedZoneID: "Z1", ZoneName: "example.com"}},
		{Name: "sub.example.com", DNS: config.DNS{HostedZoneID: "Z2", ZoneName: "sub.example.com"}},
		{Name: "example.org", DNS: config.DNS{External: true}},
	}
	cases := []struct {
		name, wantZone string
	}{
		{"tlsrpt.example.com", "Z1"},
		{"example.com", "Z1"},
		{"tlsrpt.sub.example.com", "Z2"}, // the longest zone wins
		{"tlsrpt.example.org", ""},       // external DNS
		{"tlsrpt.badexample.com", ""},    // a suffix, not a parent
		{"tlsrpt.example.net", ""},
	}
	for _, tc := range cases {
		d, ok := zoneFor(domains, tc.name)
		if got := d.DNS.HostedZoneID; ok != (tc.wantZone != "") || got != tc.wantZone {
			t.Errorf("zoneFor(%s) = %q, %v; want %q", tc.name, got, ok, tc.wantZone)
		}
	}
}
