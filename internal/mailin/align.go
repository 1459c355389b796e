package mailin

import (
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/ststack/ststack/internal/store"
)

// orgDomain returns the organisational domain of name: its registrable
// part, one label below its public suffix (the public suffix list, ICANN
// and private sections, as DMARC uses it: RFC 7489 §3.2), and false for a
// name that is itself a public suffix ("com", "co.uk", "github.io") or no
// usable name.
func orgDomain(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return "", false
	}
	od, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return "", false
	}
	return od, true
}

// aligned reports whether signing domain d speaks for submitter: both
// have the same organisational domain (relaxed alignment, RFC 7489
// §3.1.1), taken from the public suffix list. A public suffix aligns with
// nothing, so "TLS-Report-Submitter: com" matches no *.com signer.
func aligned(d, submitter string) bool {
	a, ok := orgDomain(d)
	if !ok {
		return false
	}
	b, ok := orgDomain(submitter)
	return ok && a == b
}

// organizationAligned reports whether signing domain d speaks for the
// organisation a report names (organization-name, RFC 8460 §4.4): the
// name is itself a domain with d's organisational domain ("Mail.ru" for
// d=corp.mail.ru), or it names the registrable label of d's
// organisational domain as a word or run of words ("Google LLC" for
// d=google.com, "Company-X" for d=company-x.example). RFC 8460 ties no
// domain to an organisation name; this is the strongest tie the report
// itself allows. It does not stop a sender who registers the same label
// under another suffix (google.example): the dashboard shows the signing
// domain beside the name for that reason (docs/reports.md).
func organizationAligned(d, organization string) bool {
	od, ok := orgDomain(d)
	if !ok {
		return false
	}
	name := strings.ToLower(strings.TrimSpace(organization))
	if o, ok := orgDomain(name); ok && strings.Contains(name, ".") && o == od {
		return true
	}
	label, _, _ := strings.Cut(od, ".")
	label = strings.ReplaceAll(label, "-", "")
	if label == "" {
		return false
	}
	words := strings.FieldsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80)
	})
	// The label equals one word or several adjacent words run together.
	for i := range words {
		run := ""
		for _, w := range words[i:] {
			run += w
			if run == label {
				return true
			}
			if len(run) >= len(label) {
				break
			}
		}
	}
	return false
}

// provenanceOf is how far an e-mailed report is authenticated, given the
// DKIM verdict on its message and the organization-name it states:
// store.ProvenanceEmailAligned when a signature passed, by the submitter's
// organisational domain, and that domain is the organisation's; else
// store.ProvenanceEmailUnaligned with the reason.
func provenanceOf(v store.DKIM, organization string) (string, string) {
	switch {
	case v.Result != store.DKIMPass:
		return store.ProvenanceEmailUnaligned, "DKIM " + v.Result
	case !organizationAligned(v.Domain, organization):
		return store.ProvenanceEmailUnaligned, "signed by " + v.Domain + ", which is not the domain of organization-name " +
			reason(strings.TrimSpace(organization))
	}
	return store.ProvenanceEmailAligned, ""
}
