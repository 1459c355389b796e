package stacks

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

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
	tlsrptValue := txtValue(d.Config.TLSRPTRecord(d.ruaHTTPS).String(), d.ruaTokens)
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
		// Not a TxtRecord: that one splits the unresolved value (txtValue).
		rpt := awsroute53.NewRecordSet(scope, jsii.String("TLSRPT"), &awsroute53.RecordSetProps{
			Zone:       zone,
			RecordName: jsii.String("_smtp._tls." + dom.Name),
			RecordType: awsroute53.RecordType_TXT,
			Target:     awsroute53.RecordTarget_FromValues(jsii.String(tlsrptValue)),
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
	// One output per domain: a stack has at most 200. A retiring domain's
	// output ends with its config.Retirement, which `ststack config
	// validate --deployed` reads back to refuse removing it too early.
	for _, dom := range d.Config.Domains {
		policyURL := "https://" + dom.PolicyHost() + PolicyPath
		stsTXT := "_mta-sts." + dom.Name + ". TXT " + strconv.Quote(dom.STSRecord().String())
		retiring, retire := "", ""
		if dom.Retiring() {
			retiring, retire = " | retiring", " | "+dom.Retire.String()
		}
		if !dom.DNS.External {
			out("Domain"+d.outputID[dom.Name], dom.Name+": the policy URL | the _mta-sts record published"+retiring,
				policyURL+" | "+stsTXT+retire)
			continue
		}
		out("Domain"+d.outputID[dom.Name], dom.Name+" (external DNS): the policy URL | the records to create, the _mta-sts TXT last, once the policy URL answers"+retiring,
			policyURL+" | "+dom.PolicyHost()+". CNAME "+*d.distribution.DistributionDomainName()+". | "+
				"_smtp._tls."+dom.Name+". TXT "+strconv.Quote(tlsrpt)+" | "+stsTXT+retire)
	}
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
