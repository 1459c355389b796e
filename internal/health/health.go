// Package health is the model of check results: what the checker finds
// about a mail domain (a Finding: severity, stable code, subject, message,
// remedy), a domain's Result, and how two results differ (Diff). It is
// plain data shared by the checker, which produces it, the stores, which
// keep it (checker.History), and the dashboard, notify and the CLI, which
// show it; none of them needs the checker itself to read a result.
package health

import (
	"fmt"
	"slices"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// Certificate expiry thresholds, in whole days left: a certificate with
// fewer than CertWarnDays days left is a warning, with fewer than
// CertErrorDays an error (codes cert-expiring and smtp-cert-expiring).
const (
	CertWarnDays  = 21
	CertErrorDays = 7
)

// Severity says how bad a finding is. The zero value is SeverityInfo; a
// greater value is worse.
type Severity int

// Severities, in increasing order.
const (
	// SeverityInfo is news, not a problem (for example "ready to enforce").
	SeverityInfo Severity = iota
	// SeverityWarning will become a problem or costs reports or robustness.
	SeverityWarning
	// SeverityError makes senders fail or ignore the policy, or fails mail.
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText gives the String form, which is also the JSON form.
func (s Severity) MarshalText() ([]byte, error) {
	switch s {
	case SeverityInfo, SeverityWarning, SeverityError:
		return []byte(s.String()), nil
	}
	return nil, fmt.Errorf("health: invalid severity %d", int(s))
}

// UnmarshalText parses "info", "warning" or "error".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = SeverityInfo
	case "warning":
		*s = SeverityWarning
	case "error":
		*s = SeverityError
	default:
		return fmt.Errorf("health: severity %q: want info, warning or error", b)
	}
	return nil
}

// Code identifies a kind of finding. Codes are stable: alerts, history and
// the CLI's JSON output use them, so a code is never renamed or reused.
type Code string

// Finding codes, grouped by check.
const (
	// The domain itself.
	CodeDomainInvalid  Code = "domain-invalid"
	CodeDomainNXDomain Code = "domain-nxdomain"
	CodeDNSError       Code = "dns-error"

	// _mta-sts TXT (RFC 8461 §3.1).
	CodeSTSRecordMissing  Code = "sts-record-missing"
	CodeSTSRecordMultiple Code = "sts-record-multiple"
	CodeSTSRecordInvalid  Code = "sts-record-invalid"
	CodeSTSIDMismatch     Code = "sts-id-mismatch"

	// The policy at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2, §3.3).
	CodePolicyFetchFailed Code = "policy-fetch-failed"
	CodePolicyRedirect    Code = "policy-redirect"
	CodePolicyStatus      Code = "policy-status"
	CodePolicyContentType Code = "policy-content-type"
	CodePolicyTooLarge    Code = "policy-too-large"
	CodePolicyInvalid     Code = "policy-invalid"
	CodePolicyWarning     Code = "policy-warning"
	CodePolicyMismatch    Code = "policy-mismatch"

	// The certificate of mta-sts.<domain>.
	CodeCertExpired      Code = "cert-expired"
	CodeCertExpiring     Code = "cert-expiring"
	CodeCertNameMismatch Code = "cert-name-mismatch"
	CodeCertUntrusted    Code = "cert-untrusted"

	// MX hosts against the policy's mx patterns (RFC 8461 §4.1).
	CodeMXNotCovered   Code = "mx-not-covered"
	CodeMXPatternStale Code = "mx-pattern-stale"
	CodeMXNull         Code = "mx-null"
	CodeMXNone         Code = "mx-none"

	// _smtp._tls TXT (RFC 8460 §3).
	CodeTLSRPTRecordMissing   Code = "tlsrpt-record-missing"
	CodeTLSRPTRecordMultiple  Code = "tlsrpt-record-multiple"
	CodeTLSRPTRecordInvalid   Code = "tlsrpt-record-invalid"
	CodeTLSRPTMissingEndpoint Code = "tlsrpt-rua-missing-endpoint"

	// The optional STARTTLS probe of each MX host (RFC 3207, RFC 8461 §4.2).
	CodeSMTPConnectFailed    Code = "smtp-connect-failed"
	CodeSMTPSTARTTLSMissing  Code = "smtp-starttls-missing"
	CodeSMTPTLSFailed        Code = "smtp-tls-failed"
	CodeSMTPTLSVersion       Code = "smtp-tls-version"
	CodeSMTPCertExpired      Code = "smtp-cert-expired"
	CodeSMTPCertExpiring     Code = "smtp-cert-expiring"
	CodeSMTPCertNameMismatch Code = "smtp-cert-name-mismatch"
	CodeSMTPCertUntrusted    Code = "smtp-cert-untrusted"

	// DANE for SMTP (RFC 7672) at each MX host: the TLSA records at
	// _25._tcp.<mx>, whether the resolver validated them (AD bit), and,
	// with the STARTTLS probe, whether they match the host's certificate.
	CodeDANEValid    Code = "dane-valid"
	CodeDANEInsecure Code = "dane-insecure"
	CodeDANEUnusable Code = "dane-unusable"
	CodeDANEMismatch Code = "dane-mismatch"
	CodeDANELookup   Code = "dane-lookup-failed"
	CodeDANECovered  Code = "dane-covered"

	// Stored TLS reports (RFC 8460 §4).
	CodeReportsSTSFailures Code = "reports-sts-failures"
	CodeReportsUnavailable Code = "reports-unavailable"
	// CodeReportsConflicting: reports in the readiness window have a
	// second, different body under the same organisation and report-id
	// (one may be forged); they are left out of readiness and alerts.
	CodeReportsConflicting Code = "reports-conflicting"
	// CodeReportsTriage: a cluster of failed sessions (subject "DAY MX
	// RESULT-TYPE") with its triage verdict and evidence (internal/triage):
	// one finding per cluster, so each new cluster alerts once.
	CodeReportsTriage Code = "reports-triage"
	// CodeReportsMXFailing: an MX host (subject) that was healthy in the
	// reports started failing for many senders (internal/mxhealth).
	CodeReportsMXFailing Code = "reports-mx-failing"
	// CodeSenderSilent (subject: the organisation): an organisation that
	// reported the domain regularly has sent nothing for longer than
	// checker.silence.sender_days or two of its intervals.
	// CodeReportsSilent: no report at all for the domain for longer than
	// checker.silence.domain_days. Both usually mean the rua broke.
	CodeSenderSilent  Code = "sender-silent"
	CodeReportsSilent Code = "reports-silent"

	// A retiring domain (RFC 8461 §8.3): waiting, or free to be removed.
	CodeRetiring Code = "retiring"
	CodeRetired  Code = "retired"

	// Client domains by delegation: one of the client's three CNAMEs
	// (subject: its name) is missing or points elsewhere.
	CodeDelegationCNAMEMissing   Code = "delegation-cname-missing"
	CodeDelegationCNAMEElsewhere Code = "delegation-cname-elsewhere"

	// Readiness to move from mode testing to enforce.
	CodeReadyToEnforce Code = "ready-to-enforce"
	CodeNotReady       Code = "not-ready"

	// The rollout plan (docs/rollout.md): a step up is available (info;
	// subject: the step) or a step back to testing is advised (warning).
	CodeRolloutStep     Code = "rollout-step"
	CodeRolloutStepBack Code = "rollout-step-back"
)

// Finding is one thing the checker found about a domain.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	// Subject is what the finding is about within the domain when a code can
	// occur more than once: an MX host, an mx pattern, a DNS name, a rua, a
	// day. Empty when the code occurs at most once per domain.
	Subject string `json:"subject,omitempty"`
	// Message is one line saying what is wrong, with the facts found.
	Message string `json:"message"`
	// Remedy is one line saying how to fix it; empty for news.
	Remedy string `json:"remedy,omitempty"`
}

// key identifies a finding across runs, for alerting on transitions: the
// message may change from run to run (days left, counts) without the finding
// appearing or clearing; a change of severity is a transition.
type key struct {
	code     Code
	subject  string
	severity Severity
}

func (f Finding) key() key { return key{f.Code, f.Subject, f.Severity} }

// Result is the outcome of checking one domain.
type Result struct {
	Domain    string    `json:"domain"`
	CheckedAt time.Time `json:"checked_at"`
	// Mode is the policy mode in force for the domain: the configured one,
	// else the one served; empty when neither is known.
	Mode     mtasts.Mode `json:"mode,omitempty"`
	Findings []Finding   `json:"findings"`
	// Certificate is the certificate the policy host mta-sts.<domain>
	// presented, valid or not (the findings judge it); nil when the check
	// got no certificate from it (no policy fetched, host unreachable).
	// Results stored before the field existed read back without it.
	Certificate *CertInfo `json:"certificate,omitempty"`
	// DANE is the DANE state of each MX host that publishes TLSA records
	// (RFC 7672), in MX order; hosts without TLSA records are not listed.
	DANE []DANEState `json:"dane,omitempty"`
}

// DANEState is what a check found of one MX host's DANE for SMTP.
type DANEState struct {
	// Host is the MX host; the records are at _25._tcp.<Host>.
	Host string `json:"host"`
	// Records are the TLSA records in presentation form
	// ("3 1 1 <hex>": usage, selector, matching type, data).
	Records []string `json:"records"`
	// Validated is the resolver's AD bit on the TLSA answer: it validated
	// the records with DNSSEC. ststack does not validate DNSSEC itself.
	Validated bool `json:"validated"`
	// Usable is the number of records a DANE sender uses (RFC 7672 §3.1.3:
	// usage DANE-TA(2) or DANE-EE(3), known selector and matching type).
	Usable int `json:"usable"`
	// Match is "match" or "mismatch" when the STARTTLS probe compared the
	// host's certificate with the usable records, empty when it did not.
	Match string `json:"match,omitempty"`
}

// CertInfo is what a check records of the certificate of a host.
type CertInfo struct {
	// Host is the name the certificate was checked for.
	Host string `json:"host"`
	// NotBefore and NotAfter bound the certificate's validity period, in UTC.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// DaysLeft is the number of whole days from now until the certificate
// expires, rounded down: 0 on its last day, negative once expired. For a
// valid certificate it is the number the cert-expiring finding gives.
func (c CertInfo) DaysLeft(now time.Time) int {
	const day = 24 * time.Hour
	d := c.NotAfter.Sub(now)
	n := d / day
	if d%day < 0 {
		n--
	}
	return int(n)
}

// Count returns the number of findings of severity s.
func (r Result) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Has reports whether r has a finding with code c.
func (r Result) Has(c Code) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Code == c })
}

// Diff compares the findings of two runs for one domain: appeared are those
// of cur that prev does not have, cleared those of prev that cur does not
// have. Findings are the same when code, subject and severity are.
func Diff(prev, cur []Finding) (appeared, cleared []Finding) {
	had := make(map[key]bool, len(prev))
	for _, f := range prev {
		had[f.key()] = true
	}
	has := make(map[key]bool, len(cur))
	for _, f := range cur {
		has[f.key()] = true
		if !had[f.key()] {
			appeared = append(appeared, f)
		}
	}
	for _, f := range prev {
		if !has[f.key()] {
			cleared = append(cleared, f)
		}
	}
	return appeared, cleared
}
