package config

import (
	"strings"
	"testing"
)

// delegatedFile is a valid file with one delegated client domain (line 5)
// and the operator's zone.
func delegatedFile(client, zone string) string {
	return lines(headOrg, headRegion, headReport,
		"domains:",
		"  - {name: "+client+", dns: delegated, policy: {mx: [mx.example.com]}}",
		"delegation: {zone: "+zone+", hosted_zone_id: Z0123456789ABCDEFGHIJ}")
}

func TestDelegatedRecords(t *testing.T) {
	c := mustParse(t, delegatedFile("Client.Example", "clients.operator.example"))
	if c.Delegation == nil || c.Delegation.Zone != "clients.operator.example" || c.Delegation.HostedZoneID != "Z0123456789ABCDEFGHIJ" {
		t.Fatalf("Delegation = %+v", c.Delegation)
	}
	d := c.Domains[0]
	if !d.DNS.Delegated || d.DNS.External || d.DNS.HostedZoneID != "" || d.DNS.ZoneName != "" {
		t.Fatalf("DNS = %+v", d.DNS)
	}
	del, ok := c.Delegated(d)
	if !ok {
		t.Fatal("Delegated: false")
	}
	key := DelegationKey("client.example")
	if len(key) != delegationKeyLen || key != del.Key {
		t.Fatalf("key %q (len %d), Delegated.Key %q", key, len(key), del.Key)
	}
	want := []string{
		"mta-sts.client.example. CNAME " + key + ".mta-sts.clients.operator.example.",
		"_mta-sts.client.example. CNAME " + key + "._mta-sts.clients.operator.example.",
		"_smtp._tls.client.example. CNAME " + key + "._smtp._tls.clients.operator.example.",
	}
	for i, r := range del.Records() {
		if r.String() != want[i] {
			t.Errorf("record %d = %q, want %q", i, r, want[i])
		}
	}
	// Stable: the same name gives the same key in another file and order.
	c2 := mustParse(t, lines(headOrg, headRegion, headReport,
		"domains:",
		"  - {name: other.example, dns: delegated, policy: {mx: [mx.example.com]}}",
		"  - {name: client.example., dns: delegated, policy: {mx: [mx.example.com]}}",
		"delegation: {zone: clients.operator.example, hosted_zone_id: Z0123456789ABCDEFGHIJ}"))
	d2, _ := c2.Delegated(c2.Domains[1])
	o2, _ := c2.Delegated(c2.Domains[0])
	if d2 != del {
		t.Errorf("not stable: %+v vs %+v", d2, del)
	}
	if o2.Key == del.Key || o2.STS.Target == del.STS.Target {
		t.Errorf("two clients share a name: %+v, %+v", o2, del)
	}
	if _, ok := c.Delegated(Domain{Name: "x.example", DNS: DNS{External: true}}); ok {
		t.Error("Delegated is true for an external domain")
	}
}

// The longest client name and the longest zone still give names within
// 63-octet labels and 253 octets.
func TestDelegatedLongestNames(t *testing.T) {
	label := strings.Repeat("a", 63)
	client := label + "." + label + "." + label + "." + strings.Repeat("b", maxNameLen-3*64) // 242 octets
	if len(client) != maxNameLen {
		t.Fatalf("client is %d octets", len(client))
	}
	zone := strings.Repeat("z", 63) + "." + strings.Repeat("y", 63) + "." + strings.Repeat("x", 63) + "." +
		strings.Repeat("w", maxDelegationZone-3*64-4) + ".com"
	if len(zone) != maxDelegationZone {
		t.Fatalf("zone is %d octets, want %d", len(zone), maxDelegationZone)
	}
	c := mustParse(t, delegatedFile(client, zone))
	del, _ := c.Delegated(c.Domains[0])
	for _, r := range del.Records() {
		for _, n := range []string{r.Name, r.Target} {
			if len(n) > 253 {
				t.Errorf("%s: %d octets", n, len(n))
			}
			for _, l := range strings.Split(n, ".") {
				if len(l) > 63 || l == "" {
					t.Errorf("%s: label %q", n, l)
				}
			}
		}
	}
	// One more octet of zone is refused, naming the field.
	_, err := Parse([]byte(delegatedFile(client, strings.Replace(zone, ".com", "w.com", 1))), testFile)
	if err == nil || !strings.Contains(err.Error(), "delegation.zone") || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("zone of %d octets: %v", len(zone)+1, err)
	}
}

func TestDelegatedErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no delegation section", lines(headOrg, headRegion, headReport, "domains:",
			"  - {name: client.example, dns: delegated, policy: {mx: [mx.example.com]}}"),
			"org.yaml:5: domains[0].dns: client.example is delegated, but the file has no delegation section"},
		{"other word", lines(headOrg, headRegion, headReport, "domains:",
			"  - {name: client.example, dns: delegate, policy: {mx: [mx.example.com]}}"),
			`org.yaml:5: domains[0].dns: "delegate": give delegated, or a mapping with route53 or external`},
		{"zone missing", lines(headOrg, headRegion, headReport, "domains:",
			"  - {name: client.example, dns: delegated, policy: {mx: [mx.example.com]}}",
			"delegation: {hosted_zone_id: Z0123456789ABCDEFGHIJ}"),
			"org.yaml:6: delegation.zone: required"},
		{"bad zone id", lines(headOrg, headRegion, headReport, "domains:",
			"  - {name: client.example, dns: delegated, policy: {mx: [mx.example.com]}}",
			"delegation: {zone: clients.operator.example, hosted_zone_id: /hostedzone/Z1}"),
			`org.yaml:6: delegation.hosted_zone_id: "/hostedzone/Z1" is not a hosted zone id`},
		{"client inside the zone", delegatedFile("a.clients.operator.example", "clients.operator.example"),
			"org.yaml:5: domains[0].dns: a.clients.operator.example is inside the delegation zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), testFile)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}
