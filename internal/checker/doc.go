// Package checker verifies, for each mail domain, what a sending server
// relies on under MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460), and
// returns findings: a severity, a stable code, a one-line message and the
// remedy.
//
// For each domain it checks the _mta-sts TXT record; the policy fetched as
// senders fetch it (HTTPS to mta-sts.<domain>, certificate, no redirect,
// status, media type, size, timeout) and its equality with the configured
// policy; that the MX hosts and the policy's mx patterns cover each other;
// the _smtp._tls TXT record; each MX host's DANE state (RFC 7672: TLSA
// records, the resolver's AD bit, and with the probe the certificate
// match; dane.go); optionally a STARTTLS probe of each MX host;
// and, from stored reports (ReportStats), sts failures and whether a domain
// in mode testing is ready to enforce.
//
// Everything that reaches outside is injected through Config: the DNS
// server asked (github.com/miekg/dns; every name, including those connected
// to, is resolved there), the trusted roots, the HTTPS and SMTP ports,
// timeouts and the clock, so tests run against loopback fixtures (package
// checktest). Network failures are findings, never errors.
//
// Monitor runs the checks on a schedule, compares each domain's result with
// the previous one (History) and alerts (Alerter) only on findings that
// appeared or cleared.
package checker
