package config_test

import (
	"fmt"

	"github.com/ststack/ststack/internal/config"
)

// Parse validates an organisation file and derives what is published for
// each domain: the complete policy (defaults applied) and its _mta-sts
// record, whose id follows the policy's content.
func ExampleParse() {
	file := []byte(`organization: Example Corp
region: eu-west-1
defaults:
  policy: {mode: testing, max_age: 604800}
domains:
  - name: example.com
    dns: {external: true}
    policy: {mx: [mx1.example.com, "*.mail.example.net"]}
reporting:
  mailto: tlsrpt@example.com
`)
	c, err := config.Parse(file, "ststack.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.StackName())
	for _, d := range c.Domains {
		fmt.Println(d.PolicyHost(), d.Policy.Mode, d.Policy.MaxAge)
		fmt.Printf("%q\n", d.PolicyText()) // CRLF lines, RFC 8461 §3.2
		fmt.Println(d.STSRecord())
	}
	fmt.Println(c.TLSRPTRecord(""))

	// Every problem names the file, the line and the field.
	_, err = config.Parse([]byte("organization: Example Corp\nregion: eu-west-1\ndomains:\n  - name: example.com\n    dns: {external: true}\n    policy: {mode: enforced}\nreporting: {https: true}\n"), "ststack.yaml")
	fmt.Println(err)
	// Output:
	// ststack-example-corp
	// mta-sts.example.com testing 604800
	// "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmx: *.mail.example.net\r\nmax_age: 604800\r\n"
	// v=STSv1; id=bee0f6a760a95247d6e354f0804fa2a6
	// v=TLSRPTv1; rua=mailto:tlsrpt@example.com
	// ststack.yaml:6: domains[0].policy.mode: "enforced" is not enforce, testing or none
}
