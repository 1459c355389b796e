package checker

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// policyURL is where RFC 8461 §3.2 puts a domain's policy.
func policyURL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

// checkPolicy fetches the policy as a sender does (RFC 8461 §3.3), checks
// the certificate of the policy host, parses the policy and, for a
// configured domain, compares it with the configured one.
func (r *run) checkPolicy(ctx context.Context) {
	body, ok := r.fetchPolicy(ctx)
	if !ok {
		return
	}
	p, err := mtasts.ParsePolicy(body)
	if err != nil {
		r.add(finding(health.SeverityError, health.CodePolicyInvalid, "",
			fmt.Sprintf("policy at %s is invalid: %s", policyURL(r.domain), oneLine(err)),
			policyRemedy(r.t)))
		return
	}
	r.served = &p
	for _, pr := range p.Problems() {
		if pr.Field == "mode" && pr.Severity != mtasts.SeverityError {
			// testing and none are deliberate; readiness speaks of testing.
			continue
		}
		if pr.Severity == mtasts.SeverityError {
			// ParsePolicy accepted it: a MUST broken in a way parsing tolerates.
			r.add(finding(health.SeverityError, health.CodePolicyInvalid, pr.Field,
				fmt.Sprintf("policy %s: %s", pr.Field, pr.Message), policyRemedy(r.t)))
			continue
		}
		r.add(finding(health.SeverityWarning, health.CodePolicyWarning, pr.Field,
			fmt.Sprintf("policy %s: %s", pr.Field, pr.Message), policyRemedy(r.t)))
	}
	if r.t.Policy != nil {
		if diff := policyDiff(*r.t.Policy, p); diff != "" {
			r.add(finding(health.SeverityError, health.CodePolicyMismatch, "",
				"served policy differs from the configured one: "+diff,
				"deploy the configuration (ststack serves exactly the configured policy), or wait for the CDN cache to expire"))
		}
	}
}

func policyRemedy(t Target) string {
	if t.Policy != nil {
		return "deploy the configured policy"
	}
	return "serve a policy as RFC 8461 §3.2 defines it: version, mode, mx and max_age lines"
}

// fetchPolicy gets the policy body; ok is false when a sender would not
// have one (each reason a finding).
func (r *run) fetchPolicy(ctx context.Context) (body []byte, ok bool) {
	u := policyURL(r.domain)
	host := "mta-sts." + r.domain
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.add(finding(health.SeverityError, health.CodePolicyFetchFailed, "", fmt.Sprintf("%s: %s", u, oneLine(err)), ""))
		return nil, false
	}
	resp, err := r.c.http.Do(req)
	if err != nil {
		var ce *certError
		if errors.As(err, &ce) {
			r.recordCert(ce.rep.leaf, host)
			for _, f := range certFindings(ce.rep, host, policyCertCodes, r.now, certRemedy(r.t)) {
				r.add(f)
			}
			return nil, false
		}
		r.add(finding(health.SeverityError, health.CodePolicyFetchFailed, "",
			fmt.Sprintf("fetching %s failed: %s", u, fetchError(err)),
			"serve the policy over HTTPS at "+host+" (its A/AAAA records and port 443)"))
		return nil, false
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		// VerifyConnection passed it: only its expiry can be worth a word.
		leaf := resp.TLS.PeerCertificates[0]
		r.recordCert(leaf, host)
		rep := certReport{leaf: leaf, daysLeft: daysLeft(leaf, r.now)}
		for _, f := range certFindings(rep, host, policyCertCodes, r.now, certRemedy(r.t)) {
			r.add(f)
		}
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed".
		r.add(finding(health.SeverityError, health.CodePolicyRedirect, "",
			fmt.Sprintf("%s redirects (%s to %q); senders do not follow redirects", u, resp.Status, resp.Header.Get("Location")),
			"serve the policy itself at "+u+" with status 200"))
		return nil, false
	case resp.StatusCode != http.StatusOK:
		// RFC 8461 §3.3: only a 200 response carries a policy.
		r.add(finding(health.SeverityError, health.CodePolicyStatus, "",
			fmt.Sprintf("%s answered %s, want 200 OK", u, resp.Status),
			"serve the policy at "+u+" with status 200"))
		return nil, false
	}
	// RFC 8461 §3.2: the policy is served with media type text/plain.
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "text/plain" {
		r.add(finding(health.SeverityError, health.CodePolicyContentType, "",
			fmt.Sprintf("%s is served as %q, want text/plain", u, ct),
			"serve the policy with Content-Type: text/plain"))
		return nil, false
	}
	// RFC 8461 §3.3: senders may limit the size; 64 KiB is the common bound.
	if resp.ContentLength > mtasts.MaxPolicySize {
		r.add(tooLarge(u, resp.ContentLength))
		return nil, false
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, mtasts.MaxPolicySize+1))
	if err != nil {
		r.add(finding(health.SeverityError, health.CodePolicyFetchFailed, "",
			fmt.Sprintf("reading %s failed: %s", u, fetchError(err)),
			"serve the policy quickly and completely"))
		return nil, false
	}
	if len(body) > mtasts.MaxPolicySize {
		r.add(tooLarge(u, -1))
		return nil, false
	}
	return body, true
}

// recordCert keeps the validity period of the certificate leaf (nil: none)
// that host presented in the result.
func (r *run) recordCert(leaf *x509.Certificate, host string) {
	if leaf == nil {
		return
	}
	r.res.Certificate = &health.CertInfo{Host: host, NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()}
}

func tooLarge(u string, n int64) health.Finding {
	size := fmt.Sprintf("more than %d bytes", mtasts.MaxPolicySize)
	if n >= 0 {
		size = fmt.Sprintf("%d bytes, more than %d", n, mtasts.MaxPolicySize)
	}
	return finding(health.SeverityError, health.CodePolicyTooLarge, "",
		fmt.Sprintf("policy at %s is %s; senders refuse it", u, size),
		"serve only the policy: version, mode, mx and max_age lines")
}

func certRemedy(t Target) string {
	if t.Policy != nil {
		return "renew the certificate of the policy host (ACM renews it when its DNS validation records are in place)"
	}
	return "renew the certificate"
}

// fetchError says why a fetch failed in one line, without the request
// details http.Client adds.
func fetchError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return oneLine(err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// policyDiff names the fields in which got differs from want; "" if none.
func policyDiff(want, got mtasts.Policy) string {
	if want.String() == got.String() {
		return ""
	}
	var d []string
	if want.Mode != got.Mode {
		d = append(d, fmt.Sprintf("mode %s, configured %s", got.Mode, want.Mode))
	}
	if want.MaxAge != got.MaxAge {
		d = append(d, fmt.Sprintf("max_age %d, configured %d", got.MaxAge, want.MaxAge))
	}
	if a, b := mxList(got.MX), mxList(want.MX); a != b {
		d = append(d, fmt.Sprintf("mx %s, configured %s", a, b))
	}
	if len(d) == 0 {
		d = append(d, "version or extensions")
	}
	return strings.Join(d, "; ")
}

func mxList(mx []mtasts.MX) string {
	if len(mx) == 0 {
		return "(none)"
	}
	s := make([]string, len(mx))
	for i, m := range mx {
		s[i] = m.String()
	}
	return strings.Join(s, ",")
}
