package stacks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

// The edge stack (us-east-1, deployed after the main stack) holds every
// domain's own resources, spread over nested stacks (shards) by
// config.DomainShard, so that no stack nears CloudFormation's limits at
// 1,000 domains and a domain added or removed touches its own shard only:
//
//   - route53 and external domains: a DNS-validated ACM certificate of
//     mta-sts.<domain> (us-east-1, where CloudFront takes certificates
//     from; one per domain, so no domain's certificate depends on another
//     domain; ACM allows 2,500 per account by default,
//     https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html) and
//     a distribution tenant with that certificate attached. A tenant cannot
//     be created while its domain does not point at CloudFront unless a
//     certificate covering it is attached, which this one is
//     (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/managed-cloudfront-certificates.html);
//   - route53 domains: mta-sts.<domain> CNAME to the connection group's
//     routing endpoint, _mta-sts TXT and _smtp._tls TXT in the domain's zone;
//     external domains get those records in an output instead;
//   - delegated domains: the three names the client's CNAMEs point at, in
//     the operator's zone (config.Delegated); the reconciler (main stack)
//     creates their tenants with CloudFront-managed certificates;
//   - per shard, the invalidation of the tenants whose policy changed,
//     which every _mta-sts TXT of the shard waits for.

// shardLanes is how many shards CloudFormation deploys at once: shard n
// waits for the previous shard of lane n % shardLanes, which spreads the
// creation of 1,000 tenants and certificates instead of asking CloudFront's
// and ACM's control planes for all of them at once.
const shardLanes = 32

// edgeRefs are the main stack's ids as the edge stack reads them.
type edgeRefs struct {
	distributionID, connectionGroupID, routingEndpoint string
	rua                                                string         // the https rua, may hold a token
	ruaTokens                                          map[string]int // its tokens → their longest length
}

// hasDelegated says whether cfg has a client domain (dns: delegated).
func hasDelegated(cfg *config.Config) bool {
	for _, dom := range cfg.Domains {
		if dom.DNS.Delegated {
			return true
		}
	}
	return false
}

// edgeValues are the main stack's values the edge stack reads from the
// parameter d.edgeParam, in this order, joined by spaces (none holds
// one): distribution id, connection group id, routing endpoint, and the
// report API's endpoint ("-" when the rua has no token).
func (d *Deployment) edgeValues() *[]*string {
	api := "-"
	for tok := range d.ruaTokens {
		api = tok
	}
	return &[]*string{d.distribution.DistributionId(), d.connectionGroup.AttrId(), d.connectionGroup.AttrRoutingEndpoint(), jsii.String(api)}
}

// tenantName is a domain's distribution tenant name: "ststack-" and its
// config.DelegationKey, as package reconcile names the tenants it creates
// for delegated domains (reconcile.TenantName), so the invalidation finds
// every tenant by name.
func tenantName(domain string) string { return "ststack-" + config.DelegationKey(domain) }

// addEdge fills the edge stack.
func (d *Deployment) addEdge() {
	s := d.Edge
	read := &customresources.AwsSdkCall{
		Service:    jsii.String("SSM"),
		Action:     jsii.String("getParameter"),
		Parameters: map[string]any{"Name": d.edgeParam},
		Region:     jsii.String(d.Config.Region),
		// Read again (a new physical id) whenever what the parameter holds
		// changes shape: a report API endpoint or none. The ids of the
		// distribution and connection group stay while they exist.
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("edge-ids-" + shortHash(d.Config.Region, strconv.FormatBool(len(d.ruaTokens) > 0)))),
		OutputPaths:        jsii.Strings("Parameter.Value"),
	}
	ids := customresources.NewAwsCustomResource(s, jsii.String("MainIds"), &customresources.AwsCustomResourceProps{
		OnCreate:            read,
		OnUpdate:            read,
		LogGroup:            d.customResourceLogs(s),
		InstallLatestAwsSdk: jsii.Bool(false),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("ssm:GetParameter"),
				Resources: jsii.Strings(*s.FormatArn(&awscdk.ArnComponents{
					Service:      jsii.String("ssm"),
					Region:       jsii.String(d.Config.Region),
					Resource:     jsii.String("parameter"),
					ResourceName: jsii.String(d.edgeParam[1:]),
				})),
			}),
		}),
	})
	value := ids.GetResponseField(jsii.String("Parameter.Value"))
	field := func(i int) string {
		return *awscdk.Fn_Select(jsii.Number(i), awscdk.Fn_Split(jsii.String(" "), value, nil))
	}
	d.edge = edgeRefs{distributionID: field(0), connectionGroupID: field(1), routingEndpoint: field(2), rua: d.ruaHTTPS}
	if len(d.ruaTokens) > 0 {
		api := field(3)
		d.edge.rua = api + ReportsPath
		d.edge.ruaTokens = map[string]int{api: maxAPIEndpoint(d.Config.Region)}
	}
	d.addInvalidation() // invalidation.go

	byShard := map[int][]config.Domain{}
	for _, dom := range d.Config.Domains {
		n := config.DomainShard(dom.Name)
		byShard[n] = append(byShard[n], dom)
	}
	shards := make([]int, 0, len(byShard))
	for n := range byShard {
		shards = append(shards, n)
	}
	sort.Ints(shards)
	last := map[int]awscdk.NestedStack{} // lane → its latest shard
	for _, n := range shards {
		ns := awscdk.NewNestedStack(s, jsii.String(fmt.Sprintf("Shard%03d", n)), &awscdk.NestedStackProps{
			Description: jsii.String(fmt.Sprintf("ststack %s: domains of shard %d (certificates, tenants, DNS records)", d.Config.Organization, n)),
		})
		if prev, ok := last[n%shardLanes]; ok {
			ns.Node().AddDependency(prev)
		}
		last[n%shardLanes] = ns
		d.Shards[n] = ns
		d.addShard(ns, byShard[n])
	}
}

// addShard creates the resources of doms in shard ns, and the shard's
// invalidation.
func (d *Deployment) addShard(ns awscdk.NestedStack, doms []config.Domain) {
	tlsrpt := d.Config.TLSRPTRecord(d.edge.rua).String()
	tlsrptValue := txtValue(tlsrpt, d.edge.ruaTokens)
	var tenants []map[string]string
	var stsRecords []constructs.IConstruct
	for _, dom := range doms {
		scope := constructs.NewConstruct(ns, jsii.String(dom.Name))
		host := dom.PolicyHost()
		policyURL := "https://" + host + PolicyPath
		stsTXT := "_mta-sts." + dom.Name + ". TXT " + strconv.Quote(dom.STSRecord().String())
		retiring, retire := "", ""
		if dom.Retiring() {
			retiring, retire = " | retiring", " | "+dom.Retire.String()
		}
		out := func(id, description, value string) {
			awscdk.NewCfnOutput(ns, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: jsii.String(value)})
		}
		entry := map[string]string{"Name": tenantName(dom.Name), "Policy": dom.Policy.ID()}
		tenants = append(tenants, entry)

		if del, ok := d.Config.Delegated(dom); ok {
			zone := awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
				HostedZoneId: jsii.String(d.Config.Delegation.HostedZoneID),
				ZoneName:     jsii.String(d.Config.Delegation.Zone),
			})
			awsroute53.NewCnameRecord(scope, jsii.String("PolicyHost"), &awsroute53.CnameRecordProps{
				Zone: zone, RecordName: jsii.String(del.PolicyHost.Target), DomainName: jsii.String(d.edge.routingEndpoint), Ttl: duration(RecordTTL),
			})
			stsRecords = append(stsRecords, awsroute53.NewTxtRecord(scope, jsii.String("STS"), &awsroute53.TxtRecordProps{
				Zone: zone, RecordName: jsii.String(del.STS.Target), Values: jsii.Strings(dom.STSRecord().String()), Ttl: duration(RecordTTL),
			}))
			awsroute53.NewRecordSet(scope, jsii.String("TLSRPT"), &awsroute53.RecordSetProps{
				Zone: zone, RecordName: jsii.String(del.TLSRPT.Target), RecordType: awsroute53.RecordType_TXT,
				Target: awsroute53.RecordTarget_FromValues(jsii.String(tlsrptValue)), Ttl: duration(RecordTTL),
			})
			var recs []string
			for _, r := range del.Records() {
				recs = append(recs, r.String())
			}
			out("Domain"+d.outputID[dom.Name], dom.Name+" (delegated): the policy URL | the client's three CNAMEs"+retiring,
				policyURL+" | "+strings.Join(recs, " | ")+retire)
			continue
		}

		var zone awsroute53.IHostedZone
		if !dom.DNS.External {
			zone = hostedZone(scope, dom)
		}
		cert := awscertificatemanager.NewCertificate(scope, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
			DomainName:   jsii.String(host),
			Validation:   awscertificatemanager.CertificateValidation_FromDns(zone),
			KeyAlgorithm: awscertificatemanager.KeyAlgorithm_RSA_2048(),
		})
		// Retained when replaced or removed: ACM refuses to delete a
		// certificate CloudFront still uses while the stack cleans up.
		// Public certificates cost nothing.
		cert.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
		d.certificates[dom.Name] = cert
		// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-distributiontenant.html
		tenant := awscloudfront.NewCfnDistributionTenant(scope, jsii.String("Tenant"), &awscloudfront.CfnDistributionTenantProps{
			DistributionId:    jsii.String(d.edge.distributionID),
			ConnectionGroupId: jsii.String(d.edge.connectionGroupID),
			Name:              jsii.String(tenantName(dom.Name)),
			Domains:           jsii.Strings(host),
			Enabled:           jsii.Bool(true),
			Customizations: &awscloudfront.CfnDistributionTenant_CustomizationsProperty{
				Certificate: &awscloudfront.CfnDistributionTenant_CertificateProperty{Arn: cert.CertificateArn()},
			},
		})
		d.tenants[dom.Name] = tenant
		entry["Id"] = *tenant.AttrId()

		if dom.DNS.External {
			d.addValidationOutput(ns, scope, dom, cert)
			out("Domain"+d.outputID[dom.Name], dom.Name+" (external DNS): the policy URL | the records to create, the _mta-sts TXT last, once the policy URL answers"+retiring,
				policyURL+" | "+host+". CNAME "+d.edge.routingEndpoint+". | "+
					"_smtp._tls."+dom.Name+". TXT "+strconv.Quote(tlsrpt)+" | "+stsTXT+retire)
			continue
		}
		cname := awsroute53.NewCnameRecord(scope, jsii.String("PolicyHost"), &awsroute53.CnameRecordProps{
			Zone: zone, RecordName: jsii.String(host), DomainName: jsii.String(d.edge.routingEndpoint), Ttl: duration(RecordTTL),
		})
		cname.Node().AddDependency(tenant)
		sts := awsroute53.NewTxtRecord(scope, jsii.String("STS"), &awsroute53.TxtRecordProps{
			Zone: zone, RecordName: jsii.String("_mta-sts." + dom.Name), Values: jsii.Strings(dom.STSRecord().String()), Ttl: duration(RecordTTL),
		})
		sts.Node().AddDependency(tenant, cname)
		stsRecords = append(stsRecords, sts)
		// Not a TxtRecord: that one splits the unresolved value (txtValue).
		awsroute53.NewRecordSet(scope, jsii.String("TLSRPT"), &awsroute53.RecordSetProps{
			Zone: zone, RecordName: jsii.String("_smtp._tls." + dom.Name), RecordType: awsroute53.RecordType_TXT,
			Target: awsroute53.RecordTarget_FromValues(jsii.String(tlsrptValue)), Ttl: duration(RecordTTL),
		})
		out("Domain"+d.outputID[dom.Name], dom.Name+": the policy URL | the _mta-sts record published"+retiring,
			policyURL+" | "+stsTXT+retire)
	}
	inv := d.addShardInvalidation(ns, tenants)
	for _, r := range stsRecords {
		r.Node().AddDependency(inv)
	}
}

// addValidationOutput lists the validation CNAME of an external-DNS
// domain's certificate in an output once it is issued (keep it: ACM renews
// with it). During the first deploy CloudFormation shows it in the stack's
// events while it waits. The custom resource answers three fields of one
// name (config.ValidationResponseSize bounds it).
func (d *Deployment) addValidationOutput(ns awscdk.NestedStack, scope constructs.Construct, dom config.Domain, cert awscertificatemanager.Certificate) {
	var paths []string
	for _, f := range []string{"DomainName", "ResourceRecord.Name", "ResourceRecord.Value"} {
		paths = append(paths, "Certificate.DomainValidationOptions.0."+f)
	}
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("ACM"),
		Action:             jsii.String("describeCertificate"),
		Parameters:         map[string]any{"CertificateArn": cert.CertificateArn()},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("validation-" + dom.Name)),
		OutputPaths:        jsii.Strings(paths...),
	}
	describe := customresources.NewAwsCustomResource(scope, jsii.String("ValidationRecord"), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		OnUpdate:            call,
		LogGroup:            d.customResourceLogs(ns),
		InstallLatestAwsSdk: jsii.Bool(false),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("acm:DescribeCertificate"),
				Resources: jsii.Strings(*cert.CertificateArn()),
			}),
		}),
	})
	field := func(p string) string { return *describe.GetResponseField(jsii.String(p)) }
	awscdk.NewCfnOutput(ns, jsii.String("Validation"+d.outputID[dom.Name]), &awscdk.CfnOutputProps{
		Description: jsii.String("External DNS: keep this CNAME so ACM can validate and renew the certificate of " + dom.PolicyHost()),
		Value:       awscdk.Fn_Join(jsii.String(""), jsii.Strings(field(paths[0]), ": ", field(paths[1]), " CNAME ", field(paths[2]))),
	})
}

// addOutputs lists in the main stack what the user needs once: the rua,
// the TLSRPT record and the routing endpoint. Each domain's output is in
// its shard (addShard): a stack has at most 200.
func (d *Deployment) addOutputs() {
	s := d.Main
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	if d.Config.Reporting.HTTPS {
		out("RuaHttps", "The https rua where TLS reports are posted", jsii.String(d.ruaHTTPS))
	}
	out("TLSRPTRecord", "_smtp._tls TXT of every domain", jsii.String(d.Config.TLSRPTRecord(d.ruaHTTPS).String()))
	out("RoutingEndpoint", "CloudFront routing endpoint (connection group) every mta-sts.<domain> points at", d.connectionGroup.AttrRoutingEndpoint())
	out("PolicyDistributionId", "The multi-tenant CloudFront distribution serving the policies", d.distribution.DistributionId())
}

// maxTXTString is the longest character string of a TXT record; Route53
// takes a longer value as several strings, which readers concatenate:
// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#TXTFormat
// (RFC 8460 §3: a TLSRPT record split into several strings is read as
// their concatenation).
const maxTXTString = 255

// txtValue is the Route53 value of a TXT record holding text: quoted
// strings of at most maxTXTString characters, separated by spaces, with
// '"' and '\' escaped. text may hold CDK tokens, the keys of tokens, each
// with the length of its longest resolved value: a token is never split
// and counts with that length, so every string stays within the limit once
// CloudFormation has resolved it. (CDK's TxtRecord splits the unresolved
// string, where an execute-api URL is a shorter placeholder, so a real
// value of 256 to about 290 characters would reach Route53 as one string
// and be refused.) Any other token in text is a programming error.
func txtValue(text string, tokens map[string]int) string {
	var strs []string
	var cur strings.Builder
	n := 0 // the longest length of cur once resolved
	for len(text) > 0 {
		piece, size, used := "", 0, 0 // what to write, its resolved length, what it takes from text
		for tok, max := range tokens {
			if strings.HasPrefix(text, tok) {
				piece, size, used = tok, max, len(tok)
				break
			}
		}
		if piece == "" {
			_, w := utf8.DecodeRuneInString(text)
			piece, size, used = text[:w], w, w
			if piece == `"` || piece == `\` {
				piece = `\` + piece
			}
		}
		if n+size > maxTXTString {
			strs = append(strs, cur.String())
			cur.Reset()
			n = 0
		}
		cur.WriteString(piece)
		n += size
		text = text[used:]
	}
	strs = append(strs, cur.String())
	for _, s := range strs {
		rest := s
		for tok := range tokens {
			rest = strings.ReplaceAll(rest, tok, "")
		}
		if *awscdk.Token_IsUnresolved(jsii.String(rest)) {
			panic(fmt.Sprintf("TXT value %q holds a token of unknown length", s))
		}
	}
	return `"` + strings.Join(strs, `" "`) + `"`
}

// hostedZone is the Route53 zone of a domain, from its attributes: no
// lookup, so a synth needs no credentials.
func hostedZone(scope constructs.Construct, dom config.Domain) awsroute53.IHostedZone {
	return awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("Zone-"+dom.Name), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(dom.DNS.HostedZoneID),
		ZoneName:     jsii.String(dom.DNS.ZoneName),
	})
}

// outputIDs gives every domain an output id made of the CamelCase letters
// and digits an output id allows (mail.example.com → MailExampleCom); a
// name that would repeat an earlier one (a.b.com and a-b.com) gets its
// index in the sorted names appended, so the order of the file does not
// rename outputs.
func outputIDs(domains []config.Domain) map[string]string {
	names := make([]string, len(domains))
	for i, dom := range domains {
		names[i] = dom.Name
	}
	sort.Strings(names)
	ids := make(map[string]string, len(domains))
	used := map[string]bool{}
	for i, name := range names {
		id := camel(name)
		if used[id] {
			id += strconv.Itoa(i)
		}
		used[id] = true
		ids[name] = id
	}
	return ids
}

func camel(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if upper {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			upper = false
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}
