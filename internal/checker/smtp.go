package checker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
)

// probeMXs probes every MX host (at most 8 at once; they are few).
func (r *run) probeMXs(ctx context.Context) {
	hosts := r.mxHosts()
	out := make([][]health.Finding, len(hosts))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = r.c.probeSMTP(ctx, h, r.now, r.dane[h], r.res.Mode)
		}()
	}
	wg.Wait()
	for _, fs := range out {
		r.res.Findings = append(r.res.Findings, fs...)
	}
}

// probeSMTP does what a sending MTA that applies an MTA-STS policy does
// (RFC 8461 §4.2, RFC 3207): connect to host's port 25, EHLO, STARTTLS,
// and check the TLS version and the certificate for host. When host has
// DNSSEC-validated TLSA records (d not nil), the certificate is matched with
// them as a DANE sender does (dane.go), and mode (the domain's MTA-STS mode)
// decides which certificate findings DANE makes false alarms.
func (c *Checker) probeSMTP(ctx context.Context, host string, now time.Time, d *daneHost, mode mtasts.Mode) []health.Finding {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	port := fmt.Sprint(c.cfg.SMTPPort)
	where := net.JoinHostPort(host, port)
	conn, err := c.res.dial(ctx, &net.Dialer{}, host, c.cfg.SMTPPort)
	if err != nil {
		return []health.Finding{finding(health.SeverityError, health.CodeSMTPConnectFailed, host,
			fmt.Sprintf("connecting to %s failed: %s", where, oneLine(err)),
			"make "+host+" accept connections on port "+port+" (from where this check runs, outbound port 25 may be blocked)")}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	fail := func(code health.Code, what string, err error, remedy string) []health.Finding {
		if ctx.Err() != nil || isTimeout(err) {
			return []health.Finding{finding(health.SeverityError, code, host, fmt.Sprintf("%s at %s: timed out", what, where), remedy)}
		}
		return []health.Finding{finding(health.SeverityError, code, host, fmt.Sprintf("%s at %s failed: %s", what, where, oneLine(err)), remedy)}
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return fail(health.CodeSMTPConnectFailed, "SMTP greeting", err, "make "+host+" greet with 220")
	}
	defer cl.Close()
	if err := cl.Hello(c.cfg.HELOName); err != nil {
		return fail(health.CodeSMTPConnectFailed, "EHLO", err, "make "+host+" accept EHLO")
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		return []health.Finding{finding(health.SeverityError, health.CodeSMTPSTARTTLSMissing, host,
			fmt.Sprintf("%s does not offer STARTTLS: senders applying the policy do not deliver to it", where),
			"enable STARTTLS on "+host+" with a certificate valid for that name")}
	}
	// The handshake accepts anything so that inspectChain can say what is
	// wrong; a sender would abort on any certificate finding.
	err = cl.StartTLS(&tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
	})
	if err != nil {
		return fail(health.CodeSMTPTLSFailed, "TLS handshake", err, "fix the TLS configuration of "+host)
	}
	cs, _ := cl.TLSConnectionState()
	var fs []health.Finding
	// RFC 8996 §2, §3: TLS 1.0 and 1.1 MUST NOT be used.
	if cs.Version < tls.VersionTLS12 {
		fs = append(fs, finding(health.SeverityError, health.CodeSMTPTLSVersion, host,
			fmt.Sprintf("%s negotiated %s; TLS 1.2 or later is required", where, tls.VersionName(cs.Version)),
			"enable TLS 1.2 and 1.3 on "+host))
	}
	rep := inspectChain(cs.PeerCertificates, host, now, c.cfg.RootCAs)
	fs = append(fs, certFindings(rep, host, smtpCertCodes, now, "renew the certificate of "+host)...)
	if d != nil {
		fs = applyDANE(d, matchDANE(d, cs.PeerCertificates, host, now), mode, host, fs)
	}
	_ = cl.Quit()
	return fs
}
