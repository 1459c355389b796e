package tlsrpt_test

import (
	"errors"
	"fmt"

	"github.com/ststack/ststack/internal/tlsrpt"
)

func ExampleParseReport() {
	// A report as Microsoft sends them: date-times without a time zone,
	// mx-host as a string.
	body := []byte(`{
	  "organization-name": "Example Sender",
	  "date-range": {"start-datetime": "2024-03-01T00:00:00", "end-datetime": "2024-03-01T23:59:59"},
	  "contact-info": "tlsrpt@sender.example",
	  "report-id": "133548192000000000+example.com",
	  "policies": [{
	    "policy": {"policy-type": "sts", "policy-domain": "Example.COM", "mx-host": "*.mail.example.com"},
	    "summary": {"total-successful-session-count": 120, "total-failure-session-count": 2},
	    "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "2001:DB8::1",
	      "receiving-mx-hostname": "mx1.mail.example.com.", "receiving-ip": "192.0.2.10", "failed-session-count": 2}]
	  }]
	}`)
	r, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
	if err != nil {
		fmt.Println(err)
		return
	}
	p := r.Policies[0]
	fmt.Println(r.OrganizationName, r.Start, r.Identity().Key())
	fmt.Println(p.Domain, p.MXHosts, p.Success, p.Failure)
	f := p.Failures[0]
	fmt.Println(f.ResultType, f.SendingMTAIP, f.ReceivingMXHostname, f.Count)
	for _, q := range r.Quirks {
		fmt.Println("quirk:", q)
	}
	// Output:
	// Example Sender 2024-03-01 00:00:00 +0000 UTC example_20sender.133548192000000000_2bexample_2ecom
	// example.com [*.mail.example.com] 120 2
	// certificate-expired 2001:db8::1 mx1.mail.example.com 2
	// quirk: date-range.start-datetime: "2024-03-01T00:00:00" has no time zone, taken as UTC
	// quirk: date-range.end-datetime: "2024-03-01T23:59:59" has no time zone, taken as UTC
	// quirk: policies[0].policy.mx-host: a string, not an array (RFC 8460 erratum 6241)
}

func ExampleParseReport_error() {
	_, err := tlsrpt.ParseReport([]byte(`{"organization-name": "o", "report-id": "r",
	  "date-range": {"start-datetime": "2024-03-01T00:00:00Z", "end-datetime": "2024-03-01T23:59:59Z"},
	  "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com"},
	    "summary": {"total-successful-session-count": 1, "total-failure-session-count": -1}}]}`), tlsrpt.DefaultLimits())
	fmt.Println(errors.Is(err, tlsrpt.ErrInvalid))
	var re *tlsrpt.ReportError
	if errors.As(err, &re) {
		fmt.Println(re.Path)
	}
	fmt.Println(err)
	// Output:
	// true
	// policies[0].summary.total-failure-session-count
	// tlsrpt: invalid report: policies[0].summary.total-failure-session-count: -1: must not be negative
}
