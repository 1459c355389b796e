package config

import (
	"errors"
	"fmt"
	"strings"
)

// AWS limits that the number of domains and the features of a file reach
// in the stacks infra/ builds today (one us-east-1 certificate naming every
// mta-sts.<domain>, one standard CloudFront distribution with every name
// as an alias, every Route53 record and per-domain output in the main
// stack).
const (
	// StackResources and StackOutputs: what one CloudFormation stack
	// holds at most (not adjustable);
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
	StackResources = 500
	StackOutputs   = 200
	// CustomResourceResponse: the most data a custom resource returns to
	// CloudFormation (same page).
	CustomResourceResponse = 4096
	// CertificateNamesDefault is ACM's default quota of domain names per
	// certificate; a quota increase raises it up to CertificateNamesMax:
	// https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html
	CertificateNamesDefault = 10
	CertificateNamesMax     = 100
	// DistributionAliases: alternate domain names (CNAMEs) of one
	// CloudFront distribution by default:
	// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
	DistributionAliases = 100
)

// What the stacks spend per domain and at most on everything else. The
// infra test TestLimitsFootprint checks these against the synthesized
// templates of every test organisation, so a change of the stacks that
// outgrows them fails there.
const (
	// mainBaseResources and mainBaseOutputs bound the main stack's
	// resources and outputs that do not depend on the number of domains,
	// with every feature on (measured: at most 97 and 9).
	mainBaseResources = 120
	mainBaseOutputs   = 20
	// route53DomainResources: A, AAAA, _mta-sts TXT and _smtp._tls TXT of
	// a domain in a Route53 zone (infra/stacks/dns.go).
	route53DomainResources = 4
	// domainOutputs: one output per domain in the main stack, one more in
	// the certificate stack for a domain with external DNS (its
	// validation CNAME).
	domainOutputs = 1
	// validationOverhead bounds the part of the validation-records custom
	// resource's response that does not depend on the domains (status,
	// ids of stack, request, resource and physical resource, JSON syntax).
	validationOverhead = 600
)

// ErrLimit: a file that AWS would refuse to deploy as the stacks are built.
var ErrLimit = errors.New("beyond an AWS limit")

// MainStackResources is an upper bound of the resources of the main stack
// for the domains of c.
func (c *Config) MainStackResources() int {
	n := mainBaseResources
	for _, d := range c.Domains {
		if !d.DNS.External {
			n += route53DomainResources
		}
	}
	return n
}

// MainStackOutputs is an upper bound of the outputs of the main stack.
func (c *Config) MainStackOutputs() int {
	return mainBaseOutputs + domainOutputs*len(c.Domains)
}

// ValidationResponseSize is an upper bound, in bytes, of the response of
// the custom resource that reads the certificate's validation records back
// for external-DNS domains: three fields (DomainName, ResourceRecord.Name,
// ResourceRecord.Value) for every name of the certificate, external or
// not (infra/stacks/certificate.go). 0 when no domain has external DNS (the
// resource does not exist).
func (c *Config) ValidationResponseSize() int {
	external := false
	for _, d := range c.Domains {
		external = external || d.DNS.External
	}
	if !external {
		return 0
	}
	n := validationOverhead
	for i, d := range c.Domains {
		host := d.PolicyHost()
		key := func(f string) int { return len(fmt.Sprintf(`"Certificate.DomainValidationOptions.%d.%s":"",`, i, f)) }
		// ACM's validation record: _<32 hex>.<host>. CNAME
		// _<32 hex>.<10 letters>.acm-validations.aws.
		n += key("DomainName") + len(host)
		n += key("ResourceRecord.Name") + 1 + 32 + 1 + len(host) + 1
		n += key("ResourceRecord.Value") + 1 + 32 + 1 + 10 + len(".acm-validations.aws.")
	}
	return n
}

// CheckLimits says whether the stacks of c stay within AWS's limits. It
// returns warnings for default quotas the account must have raised first,
// and ErrLimit errors (file-level, on field domains) for what AWS
// would refuse whatever the account's quotas, naming the limit and what to
// do.
// stacks.New and `ststack config validate` call it: a file beyond a limit
// is refused before CloudFormation or the CDK fails on it.
func (c *Config) CheckLimits() ([]Warning, error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &Error{File: c.file, Field: "domains", class: ErrLimit, Msg: fmt.Sprintf(format, args...)})
	}
	n := len(c.Domains)
	if n > CertificateNamesMax {
		fail("%d domains: one ACM certificate names at most %d (ACM quota \"domain names per certificate\", even raised); split the domains over several organisation files (stacks)", n, CertificateNamesMax)
	}
	if n > DistributionAliases {
		fail("%d domains: one CloudFront distribution has at most %d alternate domain names by default; split the domains over several organisation files (stacks)", n, DistributionAliases)
	}
	if r := c.MainStackResources(); r > StackResources {
		fail("the main stack would hold up to %d resources (4 DNS records per Route53 domain); CloudFormation allows %d per stack: move domains to another organisation file (stack), or use external DNS for some", r, StackResources)
	}
	if o := c.MainStackOutputs(); o > StackOutputs {
		fail("the main stack would have up to %d outputs (one per domain); CloudFormation allows %d per stack: split the domains over several organisation files (stacks)", o, StackOutputs)
	}
	if s := c.ValidationResponseSize(); s > CustomResourceResponse {
		var ext []string
		for _, d := range c.Domains {
			if d.DNS.External {
				ext = append(ext, d.Name)
			}
		}
		fail("with a domain on external DNS (%s), the custom resource that reads the certificate's validation records back would answer up to %d bytes for %d names; CloudFormation takes at most %d: use fewer domains in this file (about 11 with short names), or move the external-DNS domains to a file of their own",
			strings.Join(ext, ", "), s, n, CustomResourceResponse)
	}
	var warns []Warning
	if n > CertificateNamesDefault && n <= CertificateNamesMax {
		warns = append(warns, Warning{File: c.file, Field: "domains", Msg: fmt.Sprintf(
			"%d domains share one ACM certificate: ACM's default quota is %d names per certificate; raise \"Domain names per ACM certificate\" in Service Quotas (us-east-1) to at least %d before deploying, or the certificate request fails",
			n, CertificateNamesDefault, n)})
	}
	return warns, errors.Join(errs...)
}
