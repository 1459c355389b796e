package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

func TestCertificate(t *testing.T) {
	s := synth(t, exampleConfig)
	if r := *s.d.Certificate.Region(); r != "us-east-1" {
		t.Fatalf("certificate stack region %s: CloudFront takes certificates from us-east-1 only", r)
	}
	if r := *s.d.Main.Region(); r != s.d.Config.Region {
		t.Errorf("main stack region %s, want the organisation's %s", r, s.d.Config.Region)
	}
	certs := resources(s.certJSON, "AWS::CertificateManager::Certificate")
	if len(certs) != 1 {
		t.Fatalf("%d certificates in the us-east-1 stack, want 1", len(certs))
	}
	for _, c := range certs {
		p := props(c)
		names := []string{str(p["DomainName"])}
		sans, _ := p["SubjectAlternativeNames"].([]any)
		for _, n := range sans {
			names = append(names, str(n))
		}
		if want := s.d.policyHosts(); !slices.Equal(names, want) {
			t.Errorf("certificate names %v, want %v", names, want)
		}
		if p["ValidationMethod"] != "DNS" {
			t.Errorf("ValidationMethod %v, want DNS", p["ValidationMethod"])
		}
		validations := map[string]any{}
		dvos, _ := p["DomainValidationOptions"].([]any)
		for _, v := range dvos {
			vm, _ := v.(map[string]any)
			validations[str(vm["DomainName"])] = vm["HostedZoneId"]
		}
		for _, dom := range s.d.Config.Domains {
			zone, ok := validations[dom.PolicyHost()]
			switch {
			case dom.DNS.External && ok:
				t.Errorf("%s: external DNS, yet validated in zone %v", dom.Name, zone)
			case !dom.DNS.External && zone != dom.DNS.HostedZoneID:
				t.Errorf("%s: validated in zone %v, want %s", dom.Name, zone, dom.DNS.HostedZoneID)
			}
		}
		if c["DeletionPolicy"] != "Retain" || c["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("certificate DeletionPolicy %v UpdateReplacePolicy %v, want Retain (in use by CloudFront when replaced)",
				c["DeletionPolicy"], c["UpdateReplacePolicy"])
		}
	}
	noPanic(t, func() {
		s.cert.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), m{
			"Name":  s.d.certParam,
			"Value": m{"Ref": logicalID(t, s.d.certificate)},
		})
		// The main stack reads that parameter in us-east-1, and may read
		// nothing else.
		s.main.HasResourceProperties(jsii.String("Custom::AWS"), m{
			"Create": assertions.Match_SerializedJson(assertions.Match_ObjectLike(&m{
				"service": "SSM", "action": "getParameter", "region": "us-east-1",
				"parameters":         m{"Name": s.d.certParam},
				"physicalResourceId": m{"id": "certificate-" + s.d.certHash},
			})),
		})
		s.main.HasResourceProperties(jsii.String("AWS::IAM::Policy"), m{
			"PolicyDocument": m{"Statement": []any{m{
				"Action": "ssm:GetParameter", "Effect": "Allow",
				"Resource": m{"Fn::Join": []any{"", []any{
					"arn:", m{"Ref": "AWS::Partition"}, ":ssm:us-east-1:", m{"Ref": "AWS::AccountId"},
					":parameter" + s.d.certParam,
				}}},
			}}},
		})
	})
	// External domains: the validation record is an output once issued.
	outs, _ := s.certJSON["Outputs"].(map[string]any)
	for _, dom := range s.d.Config.Domains {
		_, ok := outs["Validation"+s.d.outputID[dom.Name]]
		if ok != dom.DNS.External {
			t.Errorf("%s: validation output present %v, want %v (external DNS)", dom.Name, ok, dom.DNS.External)
		}
	}
}

func TestPolicyDistribution(t *testing.T) {
	s := synth(t, exampleConfig)
	dist := props(resource(t, s.mainJSON, logicalID(t, s.d.distribution)))["DistributionConfig"].(map[string]any)
	var aliases []string
	for _, a := range dist["Aliases"].([]any) {
		aliases = append(aliases, str(a))
	}
	if want := []string{"mta-sts.example.com", "mta-sts.example.org", "mta-sts.mail.example.com"}; !slices.Equal(aliases, want) {
		t.Errorf("aliases %v, want %v", aliases, want)
	}
	vc := dist["ViewerCertificate"].(map[string]any)
	if vc["MinimumProtocolVersion"] != "TLSv1.2_2021" || vc["SslSupportMethod"] != "sni-only" {
		t.Errorf("viewer certificate %v, want TLSv1.2_2021 with SNI", vc)
	}
	if arn := str(vc["AcmCertificateArn"]); !strings.Contains(arn, "Fn::GetAtt") || !strings.Contains(arn, "Parameter.Value") {
		t.Errorf("AcmCertificateArn %v, want the ARN read from the us-east-1 parameter", vc["AcmCertificateArn"])
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

func TestInvalidation(t *testing.T) {
	s := synth(t, exampleConfig)
	invID, distID := logicalID(t, s.d.invalidation.resource), logicalID(t, s.d.distribution)
	inv := resource(t, s.mainJSON, invID)
	p := props(inv)
	if inv["Type"] != "Custom::PolicyInvalidation" || !jsonEqual(p["DistributionId"], m{"Ref": distID}) ||
		!jsonEqual(p["Paths"], []string{PolicyPath}) || p["PhysicalResourceId"] != "policies-"+s.d.policiesHash() {
		t.Errorf("invalidation %s %v: want Custom::PolicyInvalidation of %s on the distribution, physical id from policiesHash", inv["Type"], p, PolicyPath)
	}
	deps := str(inv["DependsOn"])
	for _, c := range []string{logicalID(t, s.d.functions[fnPolicy]), distID} {
		if !strings.Contains(deps, c) {
			t.Errorf("invalidation DependsOn %s lacks %s: it must run after the new policy is deployed", deps, c)
		}
	}

	// Backed by a Provider whose framework calls the onEvent handler and
	// then polls the isComplete handler.
	onEventID, isCompleteID := logicalID(t, s.d.invalidation.onEvent), logicalID(t, s.d.invalidation.isComplete)
	token, _ := p["ServiceToken"].(map[string]any)["Fn::GetAtt"].([]any)
	if len(token) != 2 || token[1] != "Arn" {
		t.Fatalf("invalidation ServiceToken %v: not a function's ARN", p["ServiceToken"])
	}
	framework := props(resource(t, s.mainJSON, str(token[0])))
	vars, _ := framework["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !jsonEqual(vars["USER_ON_EVENT_FUNCTION_ARN"], m{"Fn::GetAtt": []any{onEventID, "Arn"}}) ||
		!jsonEqual(vars["USER_IS_COMPLETE_FUNCTION_ARN"], m{"Fn::GetAtt": []any{isCompleteID, "Arn"}}) || vars["WAITER_STATE_MACHINE_ARN"] == nil {
		t.Errorf("provider framework environment %v: want the onEvent and isComplete handlers and a waiter", vars)
	}
	waiters := resources(s.mainJSON, "AWS::StepFunctions::StateMachine")
	if len(waiters) != 1 {
		t.Errorf("%d state machines, want the provider's waiter", len(waiters))
	}
	for _, w := range waiters {
		def := str(props(w)["DefinitionString"])
		interval := fmt.Sprintf(`"IntervalSeconds":%d,"MaxAttempts":%d,`,
			int(invalidationQueryInterval.Seconds()), int(invalidationTimeout/invalidationQueryInterval))
		if !strings.Contains(def, interval) {
			t.Errorf("waiter definition %s: want %s (every %v for %v)", def, interval, invalidationQueryInterval, invalidationTimeout)
		}
	}
	for _, h := range []struct {
		id, handler string
		calls       []string
	}{
		{onEventID, "index.onEvent", []string{"CreateInvalidationCommand", "CallerReference: event.RequestId", "Items: p.Paths", "'Delete'"}},
		{isCompleteID, "index.isComplete", []string{"GetInvalidationCommand", "Id: event.Data.InvalidationId", `IsComplete: out.Invalidation.Status === 'Completed'`}},
	} {
		fp := props(resource(t, s.mainJSON, h.id))
		code := str(fp["Code"].(map[string]any)["ZipFile"])
		if fp["Handler"] != h.handler || !strings.HasPrefix(str(fp["Runtime"]), "nodejs") {
			t.Errorf("%s: handler %v runtime %v, want %s on Node.js", h.id, fp["Handler"], fp["Runtime"], h.handler)
		}
		for _, c := range h.calls {
			if !strings.Contains(code, c) {
				t.Errorf("%s: inline code lacks %s", h.id, c)
			}
		}
		logs := resources(s.mainJSON, "AWS::Logs::LogGroup")[str(fp["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"])]
		if want := float64(90); logs == nil || props(logs)["RetentionInDays"] != want { // LogRetention
			t.Errorf("%s: logging %v: want its own log group keeping logs %v days", h.id, fp["LoggingConfig"], want)
		}
	}

	// The _mta-sts TXT records wait for the completed invalidation.
	for id, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
		if strings.HasPrefix(str(props(r)["Name"]), "_mta-sts.") && !strings.Contains(str(r["DependsOn"]), invID) {
			t.Errorf("%s DependsOn %v lacks the invalidation %s", id, r["DependsOn"], invID)
		}
	}

	// CloudFront permissions: CreateInvalidation for onEvent, GetInvalidation
	// for isComplete, each on the distribution only.
	distArn := m{"Fn::Join": []any{"", []any{
		"arn:", m{"Ref": "AWS::Partition"}, ":cloudfront::", m{"Ref": "AWS::AccountId"}, ":distribution/", m{"Ref": distID},
	}}}
	roleOf := map[string]string{
		"cloudfront:CreateInvalidation": logicalID(t, s.d.invalidation.onEvent.Role()),
		"cloudfront:GetInvalidation":    logicalID(t, s.d.invalidation.isComplete.Role()),
	}
	granted := map[string]bool{}
	for id, pol := range resources(s.mainJSON, "AWS::IAM::Policy") {
		pp := props(pol)
		for _, st := range pp["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stm := st.(map[string]any)
			if !strings.Contains(str(stm["Action"]), "cloudfront:") {
				continue
			}
			a, _ := stm["Action"].(string)
			role, ok := roleOf[a]
			if !ok || !jsonEqual(stm["Resource"], distArn) || !jsonEqual(pp["Roles"], []any{m{"Ref": role}}) {
				t.Errorf("%s: %v on %v for %v; want only Create/GetInvalidation on the distribution, each for its handler", id, stm["Action"], stm["Resource"], pp["Roles"])
				continue
			}
			granted[a] = true
		}
	}
	if len(granted) != len(roleOf) {
		t.Errorf("CloudFront actions granted: %v, want %d", granted, len(roleOf))
	}

	// A changed policy changes the resource's properties, so CloudFormation
	// updates it and a new invalidation runs; the rest stays.
	src, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	changedSrc := strings.Replace(string(src), "max_age: 604800", "max_age: 604801", 1)
	if changedSrc == string(src) {
		t.Fatal("example config has no max_age: 604800 to change")
	}
	changedPath := filepath.Join(t.TempDir(), "changed.yaml")
	if err := os.WriteFile(changedPath, []byte(changedSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	c := synth(t, changedPath)
	cp := props(resource(t, c.mainJSON, logicalID(t, c.d.invalidation.resource)))
	if cp["PhysicalResourceId"] == p["PhysicalResourceId"] {
		t.Errorf("invalidation properties %v unchanged by a policy change (was %v)", cp, p)
	}
	if !jsonEqual(cp["DistributionId"], p["DistributionId"]) || !jsonEqual(cp["Paths"], p["Paths"]) {
		t.Errorf("invalidation target %v %v changed with a policy (was %v %v)", cp["DistributionId"], cp["Paths"], p["DistributionId"], p["Paths"])
	}

	// The hash, and so the invalidation, changes exactly when a policy does.
	base := &Deployment{Config: s.d.Config}
	same := &Deployment{Config: &config.Config{Domains: slices.Clone(s.d.Config.Domains)}}
	slices.Reverse(same.Config.Domains)
	if base.policiesHash() != same.policiesHash() {
		t.Error("policiesHash changed with the order of the domains")
	}
	changed := &Deployment{Config: &config.Config{Domains: slices.Clone(s.d.Config.Domains)}}
	changed.Config.Domains[0].Policy.MaxAge++
	if base.policiesHash() == changed.policiesHash() {
		t.Error("policiesHash did not change with a policy")
	}
}

func TestDNS(t *testing.T) {
	for _, cfgPath := range []string{exampleConfig, probeConfig} {
		t.Run(filepath.Base(cfgPath), func(t *testing.T) {
			s := synth(t, cfgPath)
			records := map[string]map[string]any{} // "name. TYPE" → resource
			for id, r := range resources(s.mainJSON, "AWS::Route53::RecordSet") {
				p := props(r)
				r["id"] = id
				records[str(p["Name"])+" "+str(p["Type"])] = r
			}
			invID, distID := logicalID(t, s.d.invalidation.resource), logicalID(t, s.d.distribution)
			wantRPT := resolved(t, s.d.Main, jsii.String(`"`+s.d.Config.TLSRPTRecord(s.d.ruaHTTPS).String()+`"`))
			for _, dom := range s.d.Config.Domains {
				host, sts, rpt := dom.PolicyHost()+". ", "_mta-sts."+dom.Name+". TXT", "_smtp._tls."+dom.Name+". TXT"
				if dom.DNS.External {
					for _, k := range []string{host + "A", host + "AAAA", sts, rpt} {
						if _, ok := records[k]; ok {
							t.Errorf("%s: external DNS, yet the stack publishes %s", dom.Name, k)
						}
					}
					continue
				}
				for _, typ := range []string{"A", "AAAA"} {
					r, ok := records[host+typ]
					if !ok {
						t.Errorf("%s: no %s record", dom.Name, host+typ)
						continue
					}
					p := props(r)
					if p["HostedZoneId"] != dom.DNS.HostedZoneID || !jsonEqual(p["AliasTarget"].(map[string]any)["DNSName"], m{"Fn::GetAtt": []any{distID, "DomainName"}}) {
						t.Errorf("%s %s: zone %v alias %v, want an alias to the distribution in %s", dom.Name, typ, p["HostedZoneId"], p["AliasTarget"], dom.DNS.HostedZoneID)
					}
				}
				r, ok := records[sts]
				if !ok {
					t.Fatalf("%s: no %s record", dom.Name, sts)
				}
				rr := props(r)["ResourceRecords"].([]any)
				if want := strconv.Quote(dom.STSRecord().String()); len(rr) != 1 || rr[0] != want {
					t.Errorf("%s: %v, want %s (package config's record)", sts, rr, want)
				}
				// Round trip through package mtasts: the id is the policy's.
				txt, _ := strconv.Unquote(str(rr[0]))
				if rec, err := mtasts.ParseRecord(txt); err != nil || rec.ID != dom.Policy.ID() {
					t.Errorf("%s: %q parses as %+v, %v; want id %s", sts, txt, rec, err, dom.Policy.ID())
				}
				deps := str(r["DependsOn"])
				for _, id := range []string{invID, distID, str(records[host+"A"]["id"]), str(records[host+"AAAA"]["id"])} {
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
				if got := props(r)["ResourceRecords"].([]any); len(got) != 1 || !jsonEqual(got[0], wantRPT) {
					t.Errorf("%s: %v, want %v (package config's record)", rpt, got, wantRPT)
				}
				if deps := str(r["DependsOn"]); !strings.Contains(deps, logicalID(t, s.d.api)) {
					t.Errorf("%s DependsOn %s lacks the report API", rpt, deps)
				}
			}
		})
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
	outs := s.mainJSON["Outputs"].(map[string]any)
	for _, dom := range s.d.Config.Domains {
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
	if len(outs) > 200 {
		t.Errorf("%d outputs; CloudFormation allows 200", len(outs))
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
			for _, st := range []awscdk.Stack{s.d.Certificate, s.d.Main} {
				noPanic(t, func() {
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
			for _, tmpl := range []map[string]any{s.certJSON, s.mainJSON} {
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
	var many strings.Builder
	many.WriteString("organization: Many\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\nreporting: {mailto: r@example.net}\ndomains:\n")
	for i := range 101 {
		many.WriteString("  - {name: d" + strconv.Itoa(i) + ".example, dns: {external: true}}\n")
	}
	tooMany := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(tooMany, []byte(many.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Issue 16: 100 Route53 domains passed New and then panicked in the
	// CDK's synth at more than 500 resources.
	var r53 strings.Builder
	r53.WriteString("organization: Many\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\nreporting: {mailto: r@example.net, https: true}\ndomains:\n")
	for i := range 100 {
		r53.WriteString("  - {name: d" + strconv.Itoa(i) + ".example, dns: {route53: {hosted_zone_id: Z" + strconv.Itoa(i) + "}}}\n")
	}
	manyRecords := filepath.Join(t.TempDir(), "records.yaml")
	if err := os.WriteFile(manyRecords, []byte(r53.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	delegated := filepath.Join(t.TempDir(), "delegated.yaml")
	if err := os.WriteFile(delegated, []byte("organization: Client Host\nregion: eu-west-1\n"+
		"defaults: {policy: {mx: [mx.example.net]}}\nreporting: {mailto: r@example.net}\n"+
		"delegation: {zone: clients.example.net, hosted_zone_id: ZCLIENTS}\n"+
		"domains:\n  - {name: client.example, dns: delegated}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		opts      Options
		wantInErr string
	}{
		{"delegated domain", Options{ConfigPath: delegated, LambdaDir: lambdas}, "domain client.example: dns: delegated client domains are served"},
		{"missing bootstrap", Options{ConfigPath: exampleConfig, LambdaDir: t.TempDir()}, "bootstrap: missing; build the functions first"},
		{"missing config", Options{ConfigPath: "testdata/none.yaml", LambdaDir: lambdas}, "testdata/none.yaml"},
		{"invalid config", Options{ConfigPath: bad, LambdaDir: lambdas}, "bad.yaml:"},
		{"too many domains", Options{ConfigPath: tooMany, LambdaDir: lambdas}, "many.yaml: domains: 101 domains: one ACM certificate names at most 100"},
		{"too many resources", Options{ConfigPath: manyRecords, LambdaDir: lambdas}, "records.yaml: domains: the main stack would hold up to 520 resources"},
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

// TestLimitsFootprint keeps internal/config's bounds of the main stack
// (what `ststack config validate` and New refuse with) in step with the
// templates: for every test organisation the synthesized stack has at most
// the resources and outputs config counts, and what does not depend on the
// domains stays within config's reserve.
func TestLimitsFootprint(t *testing.T) {
	for _, c := range []string{exampleConfig, probeConfig, "testdata/mail.yaml", "testdata/retiring.yaml"} {
		s := synth(t, c)
		cfg := s.d.Config
		res := len(s.mainJSON["Resources"].(map[string]any))
		outs, _ := s.mainJSON["Outputs"].(map[string]any)
		if res > cfg.MainStackResources() || len(outs) > cfg.MainStackOutputs() {
			t.Errorf("%s: %d resources, %d outputs; config bounds them by %d and %d", c, res, len(outs), cfg.MainStackResources(), cfg.MainStackOutputs())
		}
		// Each Route53 domain's own resources (its construct in the main
		// stack): as many as config counts per domain.
		for _, d := range cfg.Domains {
			one := &config.Config{Domains: []config.Domain{d}}
			want := one.MainStackResources() - (&config.Config{}).MainStackResources()
			got := 0
			if scope := s.d.Main.Node().TryFindChild(jsii.String(d.Name)); scope != nil {
				for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
					if *awscdk.CfnResource_IsCfnResource(c) {
						got++
					}
				}
			}
			if got != want {
				t.Errorf("%s: %s has %d resources of its own, config counts %d", c, d.Name, got, want)
			}
		}
	}
}
