package tlsrpt

import (
	"strings"
	"testing"
)

func TestParseSubject(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     Subject
		ok       bool
	}{
		{"RFC 8460 §5.3", "Report Domain: example.net Submitter: mail.sender.example.com Report-ID: <735ff.e317+bf22029@example.net>",
			Subject{"example.net", "mail.sender.example.com", "735ff.e317+bf22029@example.net"}, true},
		{"Google", "Report Domain: test.xmox.nl Submitter: google.com Report-ID: <2022.09.15T00.00.00Z+test.xmox.nl@google.com>",
			Subject{"test.xmox.nl", "google.com", "2022.09.15T00.00.00Z+test.xmox.nl@google.com"}, true},
		{"Microsoft, folded, no angle brackets", "Report Domain: fake.example Submitter: microsoft.com Report-ID:\r\n 111111111111111111+fake.example",
			Subject{"fake.example", "microsoft.com", "111111111111111111+fake.example"}, true},
		{"RFC example folded over three lines", "Report Domain: example.net\r\n    Submitter: mail.sender.example.com\r\n    Report-ID: <735ff.e317+bf22029@example.net>",
			Subject{"example.net", "mail.sender.example.com", "735ff.e317+bf22029@example.net"}, true},
		{"forwarded, lower case labels", "Fwd: report domain: Example.ORG submitter: example.com report-id: <1@example.com>",
			Subject{"Example.ORG", "example.com", "1@example.com"}, true},
		{"other order", "Submitter: example.com Report-ID: 7 Report Domain: example.org",
			Subject{"example.org", "example.com", "7"}, true},
		{"separators", "Report Domain: example.com; Submitter: example.net, Report-ID: <1@example.net>;",
			Subject{"example.com", "example.net", "1@example.net"}, true},
		{"domain only", "Report Domain: example.com", Subject{Domain: "example.com"}, true},
		{"domain followed by words", "Report Domain: example.com (TLS report)", Subject{Domain: "example.com"}, true},
		{"no labels", "TLS report for example.com", Subject{}, false},
		{"submitter only", "Submitter: example.com", Subject{}, false},
		{"empty", "", Subject{}, false},
	} {
		got, ok := ParseSubject(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: ParseSubject(%q) = %+v, %v; want %+v, %v", tt.name, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseSubject(f *testing.F) {
	f.Add("Report Domain: example.net Submitter: mail.sender.example.com Report-ID: <735ff.e317+bf22029@example.net>")
	f.Add("Report Domain: a Report Domain: b Submitter: Submitter: Report-ID:")
	f.Add("report-id: x submitter: y report domain:")
	f.Fuzz(func(t *testing.T, s string) {
		sub, ok := ParseSubject(s)
		if !ok && sub != (Subject{}) {
			t.Fatalf("not ok, but %+v", sub)
		}
		for _, v := range []string{sub.Domain, sub.Submitter} {
			if strings.ContainsAny(v, " \t\r\n") || len(v) > maxSubject {
				t.Fatalf("field %q of %q", v, s)
			}
		}
		if len(sub.ReportID) > maxSubject {
			t.Fatalf("report-id of %d bytes", len(sub.ReportID))
		}
	})
}
