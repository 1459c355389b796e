package config

import (
	"strings"
	"testing"
)

// emailFile is a file with example.com in a Route53 zone and example.org
// external (lines 1-9), then the reporting lines from line 10 on.
func emailFile(region string, reporting ...string) string {
	return lines(append([]string{
		"organization: Acme",
		"region: " + region,
		"defaults: {policy: {mx: [mx.example.net]}}",
		"domains:",
		"  - name: example.com",
		"    dns: {route53: {hosted_zone_id: Z1}}",
		"  - name: example.org",
		"    dns: {external: true}",
		"reporting:",
	}, reporting...)...)
}

func TestEmail(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Email
		zone string // MailZone's zone name, "" for none
		errs []wantErr
	}{
		{"absent", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com"), Email{}, "example.com", nil},
		{"receive", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com", "  email: {receive: true}"),
			Email{Receive: true}, "example.com", nil},
		{"receive and drop", emailFile("us-east-1", "  mailto: tlsrpt@Reports.Example.COM", "  email:", "    receive: true", "    drop_unsigned: true"),
			Email{Receive: true, DropUnsigned: true}, "example.com", nil},
		{"drop only, mail received elsewhere", emailFile("eu-south-1", "  mailto: tlsrpt@reports.example.net", "  email: {drop_unsigned: true}"),
			Email{DropUnsigned: true}, "", nil},
		{"receive false", emailFile("eu-south-1", "  mailto: a@example.org", "  email: {receive: false}"), Email{}, "", nil},
		{"no mailto", emailFile("eu-west-1", "  https: true", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "needs reporting.mailto"}}},
		{"invalid mailto reported once", emailFile("eu-west-1", "  mailto: reports", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{10, "reporting.mailto", "not an e-mail address"}}},
		{"at a mail domain", emailFile("eu-west-1", "  mailto: tlsrpt@example.com", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "a mail domain: receiving it with SES would replace its MX records"}}},
		{"at a policy host", emailFile("eu-west-1", "  mailto: tlsrpt@mta-sts.example.com", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "a name the stack uses already"}}},
		{"at the https endpoint", emailFile("eu-west-1", "  https: true", "  domain: tlsrpt.example.com",
			"  mailto: r@tlsrpt.example.com", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{13, "reporting.email.receive", "a name the stack uses already"}}},
		{"in an external domain", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.org", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "not in the Route53 zone of a configured domain"}}},
		{"elsewhere", emailFile("eu-west-1", "  mailto: tlsrpt@example.net", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "example.net, which is not in the Route53 zone"}}},
		{"region without SES receiving", emailFile("eu-south-1", "  mailto: tlsrpt@reports.example.com", "  email: {receive: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "SES receives e-mail only in us-east-1, "}}},
		{"into an existing rule set", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com", "  email: {receive: true, rule_set: inbound-rules.v2}"),
			Email{Receive: true, RuleSet: "inbound-rules.v2"}, "example.com", nil},
		{"rule set without receive", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com", "  email: {rule_set: main}"), Email{}, "",
			[]wantErr{{11, "reporting.email.rule_set", "it needs receive: true"}}},
		{"rule set name invalid", emailFile("eu-west-1", "  mailto: tlsrpt@reports.example.com", "  email: {receive: true, rule_set: -x}"), Email{}, "",
			[]wantErr{{11, "reporting.email.rule_set", `"-x" is not an SES receipt rule set name`}}},
		{"not a mapping", emailFile("eu-west-1", "  mailto: a@example.org", "  email: yes"), Email{}, "",
			[]wantErr{{11, "reporting.email", "must be a mapping"}}},
		{"unknown key", emailFile("eu-west-1", "  mailto: a@example.org", "  email: {recieve: true}"), Email{}, "",
			[]wantErr{{11, "reporting.email.recieve", "did you mean receive?"}}},
		{"not booleans", emailFile("eu-west-1", "  mailto: a@reports.example.com", "  email: {receive: 1, drop_unsigned: 'no'}"), Email{}, "",
			[]wantErr{{11, "reporting.email.receive", "must be true or false"}, {11, "reporting.email.drop_unsigned", "must be true or false"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in), testFile)
			if len(tc.errs) > 0 {
				got := allErrors(t, err)
				if len(got) != len(tc.errs) {
					t.Fatalf("errors: %v; want %d", err, len(tc.errs))
				}
				for i, w := range tc.errs {
					if g := got[i]; g.Line != w.line || g.Field != w.field || !strings.Contains(g.Msg, w.msg) {
						t.Errorf("error %d = %d %s %q; want %d %s %q", i, g.Line, g.Field, g.Msg, w.line, w.field, w.msg)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Reporting.Email != tc.want {
				t.Errorf("Email = %+v, want %+v", c.Reporting.Email, tc.want)
			}
			z, ok := c.MailZone()
			if z.ZoneName != tc.zone || ok != (tc.zone != "") {
				t.Errorf("MailZone = %+v, %v; want zone %q", z, ok, tc.zone)
			}
		})
	}
}

func TestMailZoneLongest(t *testing.T) {
	c, err := Parse([]byte(lines(
		"organization: Acme",
		"region: eu-west-1",
		"defaults: {policy: {mx: [mx.example.net]}}",
		"domains:",
		"  - name: example.com",
		"    dns: {route53: {hosted_zone_id: Z1}}",
		"  - name: mail.example.com",
		"    dns: {route53: {hosted_zone_id: Z2}}",
		"reporting: {mailto: tlsrpt@reports.mail.example.com, email: {receive: true}}",
	)), testFile)
	if err != nil {
		t.Fatal(err)
	}
	if z, ok := c.MailZone(); !ok || z.HostedZoneID != "Z2" || c.MailDomain() != "reports.mail.example.com" {
		t.Errorf("MailZone = %+v, %v; MailDomain %q", z, ok, c.MailDomain())
	}
}

func TestSESRegions(t *testing.T) {
	for region, want := range map[string]bool{"eu-west-1": true, "us-east-1": true, "eu-south-1": false, "us-west-1": false, "": false} {
		if SESReceives(region) != want {
			t.Errorf("SESReceives(%q) = %v", region, !want)
		}
	}
	if got := SESInboundHost("eu-west-1"); got != "inbound-smtp.eu-west-1.amazonaws.com" {
		t.Errorf("SESInboundHost = %q", got)
	}
}
