package mailin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/store"
)

// lookupTimeout bounds one key lookup.
const lookupTimeout = 10 * time.Second

// Verifier checks the DKIM signatures (RFC 6376) of report e-mails the way
// RFC 8460 §5.3 asks. It is safe for concurrent use.
type Verifier struct {
	resolver dnsresolve.Resolver
}

// NewVerifier returns a Verifier fetching keys with r (nil: the system's
// resolver, dnsresolve.Std).
func NewVerifier(r dnsresolve.Resolver) *Verifier {
	if r == nil {
		r, _ = dnsresolve.NewStd("")
	}
	return &Verifier{resolver: r}
}

// Verify returns the DKIM verdict on msg, a whole e-mail:
//
//   - store.DKIMPass when a signature verifies, its key may sign TLS reports
//     and its signing domain (d=) is the submitter's (RFC 8460 §5.3: "a valid
//     DKIM signature by the reporting domain");
//   - store.DKIMNone when msg has no DKIM-Signature;
//   - store.DKIMFail otherwise, with the reason.
//
// The submitter is the TLS-Report-Submitter header (RFC 8460 §5.3), else the
// domain of the From address. A signing domain matches it when both have
// the same organisational domain by the public suffix list (relaxed, as
// DMARC aligns; see aligned), so a public suffix never matches. A key whose service
// type (s=, RFC 6376 §3.6.1) names neither tlsrpt nor * does not pass (RFC
// 8460 §5.3: the key SHOULD say s=tlsrpt; keys without s= serve all
// services). A signature with l= never passes (RFC 8460 §5.3: MUST NOT).
//
// A message whose header is beyond the bounds of checkHeader
// (MaxHeaderFields, MaxSignatures, MaxSignedFields…) is not verified: the
// error wraps ErrHeaderLimit. The only other error is ErrTemporary
// (wrapped), when no signature passed and a key could not be fetched for a
// reason worth retrying.
func (v *Verifier) Verify(ctx context.Context, msg []byte) (store.DKIM, error) {
	if err := checkHeader(msg); err != nil {
		return store.DKIM{}, err
	}
	submitter := submitterOf(msg)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return v.lookupKey(ctx, name) },
		MaxVerifications: MaxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return store.DKIM{Result: store.DKIMFail, Reason: reason(err.Error())}, nil
	}
	if len(verifs) == 0 {
		return store.DKIM{Result: store.DKIMNone, Reason: "no DKIM-Signature"}, nil
	}
	var (
		first     *store.DKIM // the verdict on the first signature by the submitter, else the first
		temporary error
	)
	note := func(d store.DKIM, bySubmitter bool) {
		if first == nil || bySubmitter && !aligned(first.Domain, submitter) {
			first = &d
		}
	}
	for _, vf := range verifs {
		domain := strings.ToLower(strings.TrimSuffix(vf.Domain, "."))
		ok := aligned(domain, submitter)
		switch {
		case vf.Err == nil && ok:
			return store.DKIM{Result: store.DKIMPass, Domain: domain}, nil
		case vf.Err == nil && submitter == "":
			note(store.DKIM{Result: store.DKIMFail, Domain: domain,
				Reason: "no TLS-Report-Submitter or From domain to match the signing domain with"}, false)
		case vf.Err == nil:
			note(store.DKIM{Result: store.DKIMFail, Domain: domain,
				Reason: fmt.Sprintf("signed by %s, not by the submitter %s", domain, submitter)}, false)
		default:
			// Only a signature by the submitter could still pass.
			if dkim.IsTempFail(vf.Err) && ok && temporary == nil {
				temporary = vf.Err
			}
			note(store.DKIM{Result: store.DKIMFail, Domain: domain, Reason: reason(vf.Err.Error())}, ok)
		}
	}
	if temporary != nil {
		return store.DKIM{}, fmt.Errorf("%w: DKIM key: %v", ErrTemporary, temporary)
	}
	return *first, nil
}

// lookupKey fetches a DKIM key record and applies RFC 8460 §5.3 to its
// service type: a key that names services (s=) must name tlsrpt or *. The
// s= tag of an acceptable key is removed before the DKIM library sees it,
// as that library accepts only keys for "email" or *.
func (v *Verifier) lookupKey(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	txt, err := v.resolver.LookupTXT(ctx, name)
	if err != nil {
		return nil, keyError{err}
	}
	txts := txt.Joined()
	out := make([]string, len(txts))
	for i, txt := range txts {
		rec, services, ok := withoutServices(txt)
		if ok && !slices.Contains(services, "tlsrpt") && !slices.Contains(services, "*") {
			return nil, fmt.Errorf("key %s is for service %s, not tlsrpt (RFC 8460 §5.3 wants s=tlsrpt or *)",
				name, strings.Join(services, ":"))
		}
		out[i] = rec
	}
	return out, nil
}

// keyError is a failed key lookup as the DKIM library tells a temporary
// failure (worth retrying the message) from a permanent one (no key): a
// net.Error whose Temporary method says which (dnsresolve.ErrTemporary).
type keyError struct{ err error }

func (e keyError) Error() string   { return e.err.Error() }
func (e keyError) Unwrap() error   { return e.err }
func (e keyError) Timeout() bool   { return false }
func (e keyError) Temporary() bool { return errors.Is(e.err, dnsresolve.ErrTemporary) }

var _ net.Error = keyError{}

// withoutServices returns a DKIM key record (RFC 6376 §3.6.1) without its
// s= tag, the services that tag lists, and whether it had one.
func withoutServices(txt string) (string, []string, bool) {
	tags := strings.Split(txt, ";")
	for i, t := range tags {
		k, val, found := strings.Cut(t, "=")
		if !found || strings.TrimSpace(k) != "s" {
			continue
		}
		var services []string
		for s := range strings.SplitSeq(val, ":") {
			services = append(services, strings.ToLower(strings.Join(strings.Fields(s), "")))
		}
		return strings.Join(slices.Delete(tags, i, i+1), ";"), services, true
	}
	return txt, nil, false
}

// submitterOf returns the submitter domain of a report e-mail, lower case:
// the TLS-Report-Submitter header (RFC 8460 §5.3), else the domain of the
// first From address; "" if neither is usable.
func submitterOf(msg []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return ""
	}
	if s := strings.TrimSpace(m.Header.Get("TLS-Report-Submitter")); s != "" && !strings.ContainsAny(s, " \t@<>") {
		return strings.ToLower(strings.TrimSuffix(s, "."))
	}
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) == 0 {
		return ""
	}
	_, domain, ok := strings.Cut(from[0].Address, "@")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}

// reason bounds a reason to store.MaxFieldLen bytes of one line.
func reason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= store.MaxFieldLen {
		return s
	}
	n := store.MaxFieldLen
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
