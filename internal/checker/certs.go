package checker

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/health"
)

// certReport is what the checker learned of a server's certificate chain,
// each property judged on its own so that one finding does not hide another.
type certReport struct {
	leaf     *x509.Certificate
	expired  bool // or not yet valid
	daysLeft int
	nameErr  error
	trustErr error
}

func (r certReport) ok() bool { return !r.expired && r.nameErr == nil && r.trustErr == nil }

// inspectChain judges chain (leaf first, as the server sent it) for name at
// time now: validity period, name (RFC 6125, as RFC 8461 §3.3 and §4.2
// require) and trust in roots (nil: the system's). Trust is judged at a time
// inside the leaf's validity period so that an expired certificate from a
// trusted CA is reported as expired, not also as untrusted.
func inspectChain(chain []*x509.Certificate, name string, now time.Time, roots *x509.CertPool) certReport {
	if len(chain) == 0 {
		return certReport{trustErr: fmt.Errorf("server sent no certificate")}
	}
	leaf := chain[0]
	r := certReport{leaf: leaf}
	r.expired = now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)
	r.daysLeft = daysLeft(leaf, now)
	r.nameErr = leaf.VerifyHostname(name)
	at := now
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	} else if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, r.trustErr = leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return r
}

// daysLeft is the number of whole days from now until c expires.
func daysLeft(c *x509.Certificate, now time.Time) int {
	return int(c.NotAfter.Sub(now) / (24 * time.Hour))
}

// certCodes names the finding codes of one place certificates are checked.
type certCodes struct {
	expired, expiring, name, untrusted health.Code
}

var (
	policyCertCodes = certCodes{health.CodeCertExpired, health.CodeCertExpiring, health.CodeCertNameMismatch, health.CodeCertUntrusted}
	smtpCertCodes   = certCodes{health.CodeSMTPCertExpired, health.CodeSMTPCertExpiring, health.CodeSMTPCertNameMismatch, health.CodeSMTPCertUntrusted}
)

// certFindings turns a report on host's certificate into findings.
func certFindings(r certReport, host string, codes certCodes, now time.Time, renew string) []health.Finding {
	var fs []health.Finding
	if r.leaf != nil {
		switch {
		case now.Before(r.leaf.NotBefore):
			fs = append(fs, finding(health.SeverityError, codes.expired, host,
				fmt.Sprintf("certificate of %s is not valid before %s", host, r.leaf.NotBefore.UTC().Format(time.RFC3339)),
				"check the clock of the server or CA that issued it, or install a certificate valid now"))
		case r.expired:
			fs = append(fs, finding(health.SeverityError, codes.expired, host,
				fmt.Sprintf("certificate of %s expired on %s", host, r.leaf.NotAfter.UTC().Format(time.DateOnly)),
				renew))
		case r.daysLeft < health.CertErrorDays:
			fs = append(fs, finding(health.SeverityError, codes.expiring, host,
				fmt.Sprintf("certificate of %s expires in %d days (%s)", host, r.daysLeft, r.leaf.NotAfter.UTC().Format(time.DateOnly)),
				renew))
		case r.daysLeft < health.CertWarnDays:
			fs = append(fs, finding(health.SeverityWarning, codes.expiring, host,
				fmt.Sprintf("certificate of %s expires in %d days (%s)", host, r.daysLeft, r.leaf.NotAfter.UTC().Format(time.DateOnly)),
				renew))
		}
	}
	if r.nameErr != nil {
		fs = append(fs, finding(health.SeverityError, codes.name, host,
			fmt.Sprintf("certificate of %s is for %s, not %s", host, certNames(r.leaf), host),
			"install a certificate whose subject alternative names include "+host))
	}
	if r.trustErr != nil {
		fs = append(fs, finding(health.SeverityError, codes.untrusted, host,
			fmt.Sprintf("certificate of %s is not trusted: %v", host, oneLine(r.trustErr)),
			"install a certificate from a public CA, with its intermediate certificates"))
	}
	return fs
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	names := c.DNSNames
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = []string{c.Subject.CommonName}
	}
	if len(names) == 0 {
		return "no name"
	}
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(" and %d more", len(names)-4)
	}
	return strings.Join(names, ", ")
}

// oneLine flattens an error message onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
