package stacks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

// addCertificate fills the us-east-1 stack: one certificate for every
// mta-sts.<domain>, DNS-validated in the domain's hosted zone. For domains
// with external DNS CloudFormation prints the validation CNAME while it
// waits for it (cdk deploy shows it); once issued, the outputs list it too,
// since ACM needs it to stay for renewals.
//
// The certificate is retained when replaced (a domain added or removed) or
// destroyed: CloudFront in the other stack still uses the old one when this
// stack's update cleans up, and ACM refuses to delete a certificate in use.
// Unused public certificates cost nothing.
func (d *Deployment) addCertificate() {
	s := d.Certificate
	hosts := d.policyHosts()
	zones := map[string]awsroute53.IHostedZone{}
	for _, dom := range d.Config.Domains {
		if dom.DNS.External {
			continue
		}
		zones[dom.PolicyHost()] = hostedZone(s, dom)
	}
	d.certificate = awscertificatemanager.NewCertificate(s, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
		DomainName:              jsii.String(hosts[0]),
		SubjectAlternativeNames: jsii.Strings(hosts[1:]...),
		Validation:              awscertificatemanager.CertificateValidation_FromDnsMultiZone(&zones),
		KeyAlgorithm:            awscertificatemanager.KeyAlgorithm_RSA_2048(),
	})
	d.certificate.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	d.certHash = shortHash(hosts...) // sorted: the file's order does not matter

	awsssm.NewStringParameter(s, jsii.String("CertificateArn"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(d.certParam),
		StringValue:   d.certificate.CertificateArn(),
		Description:   jsii.String("ARN of the CloudFront certificate of stack " + *d.Main.StackName()),
	})

	external := false
	for _, dom := range d.Config.Domains {
		external = external || dom.DNS.External
	}
	if !external {
		return
	}
	// DescribeCertificate lists the validation records in the order the
	// names were requested (hosts, sorted); each output names its domain,
	// so it stays right even if that order ever differed.
	var paths []string
	for i := range hosts {
		for _, f := range []string{"DomainName", "ResourceRecord.Name", "ResourceRecord.Value"} {
			paths = append(paths, fmt.Sprintf("Certificate.DomainValidationOptions.%d.%s", i, f))
		}
	}
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("ACM"),
		Action:             jsii.String("describeCertificate"),
		Parameters:         map[string]any{"CertificateArn": d.certificate.CertificateArn()},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("validation-" + d.certHash)),
		OutputPaths:        jsii.Strings(paths...),
	}
	describe := customresources.NewAwsCustomResource(s, jsii.String("ValidationRecords"), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		LogGroup:            d.customResourceLogs(s),
		OnUpdate:            call,
		InstallLatestAwsSdk: jsii.Bool(false),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("acm:DescribeCertificate"),
				Resources: jsii.Strings(*d.certificate.CertificateArn()),
			}),
		}),
	})
	byHost := map[string]config.Domain{}
	for _, dom := range d.Config.Domains {
		byHost[dom.PolicyHost()] = dom
	}
	for i, host := range hosts {
		dom := byHost[host]
		if !dom.DNS.External {
			continue
		}
		field := func(f string) string {
			return *describe.GetResponseField(jsii.String(fmt.Sprintf("Certificate.DomainValidationOptions.%d.%s", i, f)))
		}
		awscdk.NewCfnOutput(s, jsii.String("Validation"+d.outputID[dom.Name]), &awscdk.CfnOutputProps{
			Description: jsii.String("External DNS: keep this CNAME so ACM can validate and renew the certificate of " + dom.PolicyHost()),
			Value:       awscdk.Fn_Join(jsii.String(""), jsii.Strings(field("DomainName"), ": ", field("ResourceRecord.Name"), " CNAME ", field("ResourceRecord.Value"))),
		})
	}
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
