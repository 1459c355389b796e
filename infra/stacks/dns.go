package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// addDNS publishes, for every domain in a Route53 zone, mta-sts.<domain>
// (alias A and AAAA to CloudFront), _mta-sts.<domain> TXT (v=STSv1 and the
// content-derived id) and _smtp._tls.<domain> TXT (the rua list), all from
// package config. The TXT records depend on the distribution, the alias
// records and the completed invalidation of the policy path, so a new id
// is published only once no edge serves the old policy (RFC 8461 §3.1:
// senders fetch the policy when the id changes). Domains with external DNS get outputs with
// the records to create instead (see addOutputs).
//
// Each domain's records sit in a construct named after the domain, so
// reordering the domains in the file does not replace any record.
func (d *Deployment) addDNS() {
	s := d.Main
	tlsrpt := d.Config.TLSRPTRecord(d.ruaHTTPS).String()
	target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewCloudFrontTarget(d.distribution))
	for _, dom := range d.Config.Domains {
		if dom.DNS.External {
			continue
		}
		scope := constructs.NewConstruct(s, jsii.String(dom.Name))
		zone := hostedZone(scope, dom)
		a := awsroute53.NewARecord(scope, jsii.String("PolicyHostA"), &awsroute53.ARecordProps{
			Zone: zone, RecordName: jsii.String(dom.PolicyHost()), Target: target,
		})
		aaaa := awsroute53.NewAaaaRecord(scope, jsii.String("PolicyHostAAAA"), &awsroute53.AaaaRecordProps{
			Zone: zone, RecordName: jsii.String(dom.PolicyHost()), Target: target,
		})
		sts := awsroute53.NewTxtRecord(scope, jsii.String("STS"), &awsroute53.TxtRecordProps{
			Zone:       zone,
			RecordName: jsii.String("_mta-sts." + dom.Name),
			Values:     jsii.Strings(dom.STSRecord().String()),
			Ttl:        duration(RecordTTL),
		})
		sts.Node().AddDependency(d.distribution, d.invalidation.resource, a, aaaa)
		rpt := awsroute53.NewTxtRecord(scope, jsii.String("TLSRPT"), &awsroute53.TxtRecordProps{
			Zone:       zone,
			RecordName: jsii.String("_smtp._tls." + dom.Name),
			Values:     jsii.Strings(tlsrpt),
			Ttl:        duration(RecordTTL),
		})
		// Reports are wanted only once the endpoint can take them.
		rpt.Node().AddDependency(d.reportsReady...)
	}
}

// addOutputs lists what the user needs: the policy URLs, the published
// records, the rua, and for external DNS the records to create.
func (d *Deployment) addOutputs() {
	s := d.Main
	tlsrpt := d.Config.TLSRPTRecord(d.ruaHTTPS).String()
	out := func(id, description, value string) {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{
			Description: jsii.String(description), Value: jsii.String(value),
		})
	}
	if d.Config.Reporting.HTTPS {
		out("RuaHttps", "The https rua where TLS reports are posted", d.ruaHTTPS)
	}
	out("TLSRPTRecord", "_smtp._tls TXT of every domain", tlsrpt)
	out("PolicyDistributionDomain", "CloudFront domain serving the policies", *d.distribution.DistributionDomainName())
	// One output per domain: a stack has at most 200.
	for _, dom := range d.Config.Domains {
		policyURL := "https://" + dom.PolicyHost() + PolicyPath
		stsTXT := "_mta-sts." + dom.Name + ". TXT " + strconv.Quote(dom.STSRecord().String())
		if !dom.DNS.External {
			out("Domain"+d.outputID[dom.Name], dom.Name+": the policy URL | the _mta-sts record published",
				policyURL+" | "+stsTXT)
			continue
		}
		out("Domain"+d.outputID[dom.Name], dom.Name+" (external DNS): the policy URL | the records to create, the _mta-sts TXT last, once the policy URL answers",
			policyURL+" | "+dom.PolicyHost()+". CNAME "+*d.distribution.DistributionDomainName()+". | "+
				"_smtp._tls."+dom.Name+". TXT "+strconv.Quote(tlsrpt)+" | "+stsTXT)
	}
}
