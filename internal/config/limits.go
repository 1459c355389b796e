package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// AWS limits that the number of domains and the features of a file reach
// in the stacks infra/ builds: one CloudFront multi-tenant distribution and
// connection group in the main stack; in the us-east-1 edge stack, every
// domain's certificate, distribution tenant, DNS records and output, spread
// over nested stacks (shards) by DomainShard.
const (
	// StackResources and StackOutputs: what one CloudFormation stack,
	// nested or not, holds at most (not adjustable);
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
	StackResources = 500
	StackOutputs   = 200
	// TemplateSize: the largest template CloudFormation takes from S3,
	// where the CDK puts nested stacks' templates (same page: "Template
	// body size in an Amazon S3 object", 1 MB).
	TemplateSize = 1_000_000
	// CustomResourceResponse: the most data a custom resource returns to
	// CloudFormation (same page).
	CustomResourceResponse = 4096
	// Certificates: ACM certificates per account and region by default
	// (adjustable); every domain with route53 or external DNS has its own
	// us-east-1 certificate (a delegated domain's CloudFront-managed one
	// is CloudFront's):
	// https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html
	Certificates = 2500
	// DistributionTenants: distribution tenants per account by default
	// (adjustable), one per domain:
	// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
	DistributionTenants = 10000
)

// DomainShards is the number of nested stacks the per-domain resources are
// spread over. A domain's shard derives from its name alone (DomainShard),
// so adding, removing or reordering domains never moves another domain to
// another stack (which would delete and re-create its tenant and
// certificate). 256 keeps every shard far below StackResources up to
// 10,000 domains (about 39 a shard; the fullest of 256 rarely above 65).
const DomainShards = 256

// DomainShard is the shard (0 to DomainShards-1) of the domain named name
// (an A-label): the first byte of its SHA-256.
func DomainShard(name string) int {
	sum := sha256.Sum256([]byte(name))
	return int(sum[0]) % DomainShards
}

// What the stacks spend per domain and at most on everything else. The
// infra test TestLimitsFootprint checks these against the synthesized
// templates, so a change of the stacks that outgrows them fails there.
const (
	// shardBaseResources and shardBaseOutputs bound what a shard holds
	// besides its domains' resources: the invalidation of its tenants,
	// and with an external-DNS domain CDK's AwsCustomResource function
	// (its role, policy, log group and retry setting).
	shardBaseResources = 10
	shardBaseOutputs   = 0
	// route53DomainResources: certificate, tenant, mta-sts CNAME,
	// _mta-sts TXT and _smtp._tls TXT of a domain in a Route53 zone
	// (infra/stacks/edge.go).
	route53DomainResources = 5
	// externalDomainResources: certificate, tenant, and the custom
	// resource reading its validation record back with its IAM policy.
	externalDomainResources = 4
	// delegatedDomainResources: the three records in the operator's zone
	// (the reconciler creates the tenant).
	delegatedDomainResources = 3
	// domainOutputs: the domain's output (policy URL, records); an
	// external-DNS domain has one more (its validation CNAME).
	domainOutputs         = 1
	externalDomainOutputs = 2
	// domainTemplateBytes bounds the template bytes of one domain (its
	// resources and outputs as the CDK writes them); shardBaseBytes the
	// rest of a shard's template.
	domainTemplateBytes = 8000
	shardBaseBytes      = 20000
	// validationOverhead bounds the part of the validation-record custom
	// resource's response that does not depend on the domain (status,
	// ids of stack, request, resource and physical resource, JSON syntax).
	validationOverhead = 600
)

// ErrLimit: a file that AWS would refuse to deploy as the stacks are built.
var ErrLimit = errors.New("beyond an AWS limit")

// ShardLoad is what one shard of the edge stack holds at most.
type ShardLoad struct {
	Shard     int
	Domains   []string
	Resources int
	Outputs   int
	Template  int // bytes, an upper bound
}

// ShardLoads returns the load of every non-empty shard, by shard number.
func (c *Config) ShardLoads() []ShardLoad {
	byShard := map[int]*ShardLoad{}
	for _, d := range c.Domains {
		n := DomainShard(d.Name)
		l := byShard[n]
		if l == nil {
			l = &ShardLoad{Shard: n, Resources: shardBaseResources, Outputs: shardBaseOutputs, Template: shardBaseBytes}
			byShard[n] = l
		}
		l.Domains = append(l.Domains, d.Name)
		r, o := DomainFootprint(d)
		l.Resources += r
		l.Outputs += o
		l.Template += domainTemplateBytes
	}
	out := make([]ShardLoad, 0, len(byShard))
	for _, l := range byShard {
		sort.Strings(l.Domains)
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out
}

// DomainFootprint is what domain d adds to its shard: resources and
// outputs.
func DomainFootprint(d Domain) (resources, outputs int) {
	switch {
	case d.DNS.External:
		return externalDomainResources, externalDomainOutputs
	case d.DNS.Delegated:
		return delegatedDomainResources, domainOutputs
	}
	return route53DomainResources, domainOutputs
}

// ValidationResponseSize is an upper bound, in bytes, of the response of
// the custom resource that reads the validation record of d's certificate
// back (d on external DNS; infra/stacks/edge.go): DomainName,
// ResourceRecord.Name and ResourceRecord.Value of its one name.
func ValidationResponseSize(d Domain) int {
	host := d.PolicyHost()
	key := func(f string) int { return len(fmt.Sprintf(`"Certificate.DomainValidationOptions.0.%s":"",`, f)) }
	n := validationOverhead
	// ACM's validation record: _<32 hex>.<host>. CNAME
	// _<32 hex>.<10 letters>.acm-validations.aws.
	n += key("DomainName") + len(host)
	n += key("ResourceRecord.Name") + 1 + 32 + 1 + len(host) + 1
	n += key("ResourceRecord.Value") + 1 + 32 + 1 + 10 + len(".acm-validations.aws.")
	return n
}

// CheckLimits says whether the stacks of c stay within AWS's limits. It
// returns warnings for default quotas the account must have raised first,
// and ErrLimit errors (file-level, on field domains) for what AWS
// would refuse whatever the account's quotas, naming the limit and what to
// do. stacks.New and `ststack config validate` call it: a file beyond a
// limit is refused before CloudFormation or the CDK fails on it.
func (c *Config) CheckLimits() ([]Warning, error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &Error{File: c.file, Field: "domains", class: ErrLimit, Msg: fmt.Sprintf(format, args...)})
	}
	for _, l := range c.ShardLoads() {
		what := fmt.Sprintf("shard %d of the edge stack (the domains whose name hashes there: %s)", l.Shard, strings.Join(l.Domains, ", "))
		if l.Resources > StackResources {
			fail("%s would hold up to %d resources; CloudFormation allows %d per stack: move some of these domains to another organisation file (stack)", what, l.Resources, StackResources)
		}
		if l.Outputs > StackOutputs {
			fail("%s would have up to %d outputs; CloudFormation allows %d per stack: move some of these domains to another organisation file (stack)", what, l.Outputs, StackOutputs)
		}
		if l.Template > TemplateSize {
			fail("%s would have a template of up to %d bytes; CloudFormation takes at most %d: move some of these domains to another organisation file (stack)", what, l.Template, TemplateSize)
		}
	}
	for _, d := range c.Domains {
		if d.DNS.External {
			if s := ValidationResponseSize(d); s > CustomResourceResponse {
				fail("domain %s: the custom resource that reads its certificate's validation record back would answer up to %d bytes; CloudFormation takes at most %d: use a shorter name or Route53", d.Name, s, CustomResourceResponse)
			}
		}
	}
	// One file has at most MaxDomains domains, below both account-wide
	// default quotas (Certificates, DistributionTenants; a test keeps it
	// so); several files deployed in one account add up, which
	// infra/README.md says. Nothing needs a raised quota here.
	var warns []Warning
	return warns, errors.Join(errs...)
}
