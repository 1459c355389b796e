package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// limitsFile is an organisation file with route53 Route53 domains and
// external domains on external DNS, and SMTP probes on.
func limitsFile(route53, external int) string {
	var b strings.Builder
	b.WriteString("organization: Limits\nregion: eu-west-1\ndefaults: {policy: {mx: [mx.example.net]}}\n")
	b.WriteString("reporting: {mailto: r@example.net, https: true}\ndomains:\n")
	for i := range route53 {
		fmt.Fprintf(&b, "  - {name: r%d.example, dns: {route53: {hosted_zone_id: Z%d}}}\n", i, i)
	}
	for i := range external {
		fmt.Fprintf(&b, "  - {name: e%d.example, dns: {external: true}}\n", i)
	}
	return b.String()
}

// TestCheckLimits (issue 16): 1,000 domains of every kind fit the stacks
// (the stacks of before refused more than 100, and warned above 10), and
// a shard beyond a CloudFormation limit is refused, naming the shard, its
// domains, the limit and what to do.
func TestCheckLimits(t *testing.T) {
	c, err := Parse([]byte(limitsFile(600, 400)), "limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	warns, err := c.CheckLimits()
	if err != nil || len(warns) != 0 {
		t.Fatalf("1,000 domains: %v, warnings %v; want neither", err, warns)
	}
	for _, l := range c.ShardLoads() {
		if l.Resources > StackResources/2 || l.Outputs > StackOutputs/2 {
			t.Errorf("1,000 domains: shard %d holds %d resources, %d outputs; want far below the limits", l.Shard, l.Resources, l.Outputs)
		}
	}

	// Names that all hash into shard 0: more than one stack holds.
	var names []string
	for i := 0; len(names) < 100; i++ {
		if n := fmt.Sprintf("s%d.example", i); DomainShard(n) == 0 {
			names = append(names, n)
		}
	}
	crowded := &Config{file: "crowded.yaml"}
	for _, n := range names {
		crowded.Domains = append(crowded.Domains, Domain{Name: n, DNS: DNS{HostedZoneID: "Z1", ZoneName: n}})
	}
	_, err = crowded.CheckLimits()
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("100 Route53 domains in one shard: %v, want ErrLimit", err)
	}
	for _, w := range []string{"crowded.yaml: domains: shard 0 of the edge stack", names[0], "up to 510 resources", "CloudFormation allows 500 per stack", "another organisation file"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q, want %q", err, w)
		}
	}
	crowded.Domains = crowded.Domains[:98]
	if _, err := crowded.CheckLimits(); err != nil {
		t.Errorf("98 Route53 domains in one shard: %v, want none (490 resources)", err)
	}
}

// TestDomainShardStable: a domain's shard depends on its name alone, so
// adding or reordering domains moves no other domain.
func TestDomainShardStable(t *testing.T) {
	shards := func(c *Config) map[string]int {
		m := map[string]int{}
		for _, l := range c.ShardLoads() {
			for _, d := range l.Domains {
				m[d] = l.Shard
			}
		}
		return m
	}
	small, err := Parse([]byte(limitsFile(20, 5)), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	big, err := Parse([]byte(limitsFile(300, 50)), "b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := shards(small), shards(big)
	seen := map[int]bool{}
	for d, n := range a {
		if b[d] != n {
			t.Errorf("%s: shard %d with 25 domains, %d with 350", d, n, b[d])
		}
	}
	for _, n := range b {
		seen[n] = true
	}
	if len(seen) < 100 {
		t.Errorf("350 domains use %d shards; want them spread", len(seen))
	}
}

// TestAccountQuotas: one file stays within the account's default quotas
// of certificates and tenants, which is why CheckLimits warns of neither.
func TestAccountQuotas(t *testing.T) {
	if MaxDomains > Certificates || MaxDomains > DistributionTenants {
		t.Errorf("MaxDomains %d passes a default quota (%d certificates, %d tenants): CheckLimits must warn", MaxDomains, Certificates, DistributionTenants)
	}
}

// TestValidationResponseSize: the bound grows with the name's length and
// stays far below CloudFormation's limit for the longest host.
func TestValidationResponseSize(t *testing.T) {
	short := ValidationResponseSize(Domain{Name: "a.example"})
	long := ValidationResponseSize(Domain{Name: strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 56) + ".ex"})
	if long-short < 2*(240-9) || long > CustomResourceResponse/2 {
		t.Errorf("sizes %d (short) and %d (longest name); want the host twice and far within %d", short, long, CustomResourceResponse)
	}
}
