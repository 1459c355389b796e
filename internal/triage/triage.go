// Package triage gives each cluster of failed sessions in stored TLS
// reports (domain × receiving MX host × result type × day) a verdict with
// its evidence: misconfiguration, possible interception or downgrade,
// sender-side, or not enough data (issue 18 §1). It is pure: it reads the
// facts the stores keep (store.Fact) and the checker's latest result of the
// domain (health.Result) and nothing else.
//
// The rules and every threshold live here and in docs/checker.md
// ("Failure triage"); the two must say the same.
//
// RFC 8460 §4.4 counts successful sessions per policy, not per MX host, and
// gives sending IPs only for failures. So "another organisation succeeded
// against the same MX" is read as: it reported successful sessions for the
// domain that day and no failure of the cluster's type at that MX.
package triage

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Verdict is the class of a cluster; its string is the stable JSON form.
type Verdict string

// Verdicts (issue 18 §1; docs/checker.md, "Failure triage").
const (
	// Misconfiguration: most reporters fail the same way, or the checker
	// shows the cause.
	Misconfiguration Verdict = "misconfiguration"
	// Interception: a minority of reporters or a few sending networks see
	// a TLS failure while others succeed and the checker sees the MX fine.
	Interception Verdict = "possible-interception"
	// SenderSide: one organisation reports a failure of its own side while
	// others succeed and the policy host checks fine.
	SenderSide Verdict = "sender-side"
	// NotEnoughData: the facts do not support any of the above.
	NotEnoughData Verdict = "not-enough-data"
)

// Thresholds are the numbers the rules use. Default is the one set in use;
// docs/checker.md gives the reasoning for each.
type Thresholds struct {
	// MinFailedSessions: a cluster with fewer failed sessions is not
	// enough data (a handful of sessions can be one retrying message).
	MinFailedSessions int64
	// MinReporters: fewer organisations reporting the domain that day
	// leaves nobody to compare with.
	MinReporters int
	// MajorityPercent: more than this share (in percent) of the reporting
	// organisations failing is "most senders" (misconfiguration).
	MajorityPercent int
	// MinorityPercent: at most this share failing is "a minority"
	// (interception); between the two the cluster is not enough data.
	MinorityPercent int
	// FewNetworks: failures from at most this many sending networks (/24,
	// /48) are "a few networks" (interception).
	FewNetworks int
}

// Default are the thresholds in use.
var Default = Thresholds{
	MinFailedSessions: 5,
	MinReporters:      2,
	MajorityPercent:   50,
	MinorityPercent:   34,
	FewNetworks:       2,
}

// Key identifies a cluster. MXHost is "" when reports did not name it.
type Key struct {
	Domain     string            `json:"domain"`
	MXHost     string            `json:"mx_host"`
	ResultType tlsrpt.ResultType `json:"result_type"`
	Day        store.Day         `json:"day"`
}

// Cluster is one cluster's verdict and the evidence it rests on.
type Cluster struct {
	Key
	Verdict Verdict `json:"verdict"`
	// Reason is one line saying which rule gave the verdict and why.
	Reason string `json:"reason"`
	// FailedSessions is the cluster's failed session count.
	FailedSessions int64 `json:"failed_sessions"`
	// Reporters are the organisations that reported the domain that day;
	// Failing those with failures in the cluster; Succeeding those with
	// successful sessions and no failure in the cluster. Sorted.
	Reporters  []string `json:"reporters"`
	Failing    []string `json:"failing"`
	Succeeding []string `json:"succeeding"`
	// Networks are the sending networks (/24 or /48) of the cluster's
	// failures; "" when a report gave no sending IP. Sorted.
	Networks []string `json:"networks"`
	// Reports are the report keys (store.Receipt.Key) of the failing
	// reports, then of the succeeding ones, each sorted.
	Reports []string `json:"reports"`
	// Checks are the findings of the check result the verdict rests on:
	// those explaining the failure (misconfiguration) or, for the other
	// verdicts, none (an MX or policy host that checks fine). CheckedAt is
	// when that result was taken; zero when there was none.
	Checks    []health.Finding `json:"checks"`
	CheckedAt string           `json:"checked_at,omitempty"`
}

// interceptionTypes are the result types an attacker on the path produces
// by stripping STARTTLS or presenting their own certificate (RFC 8460
// §4.3.2.1).
var interceptionTypes = []tlsrpt.ResultType{
	tlsrpt.ResultSTARTTLSNotSupported, tlsrpt.ResultCertificateHostMismatch,
	tlsrpt.ResultCertificateNotTrusted, tlsrpt.ResultValidationFailure,
}

// senderTypes are the result types of the policy fetch (RFC 8460 §4.3.2.2)
// that point at the sender's side when the policy host checks fine: its
// resolver, its trust store, its HTTPS client.
var senderTypes = []tlsrpt.ResultType{
	tlsrpt.ResultSTSPolicyFetchError, tlsrpt.ResultSTSWebPKIInvalid, tlsrpt.ResultSTSPolicyInvalid,
}

// causes maps a result type to the check codes that explain it. Codes
// about an MX host explain it only with that host as subject (mxCodes).
var causes = map[tlsrpt.ResultType][]health.Code{
	tlsrpt.ResultSTARTTLSNotSupported:    {health.CodeSMTPSTARTTLSMissing},
	tlsrpt.ResultCertificateHostMismatch: {health.CodeSMTPCertNameMismatch, health.CodeMXNotCovered},
	tlsrpt.ResultCertificateExpired:      {health.CodeSMTPCertExpired},
	tlsrpt.ResultCertificateNotTrusted:   {health.CodeSMTPCertUntrusted},
	tlsrpt.ResultValidationFailure:       {health.CodeMXNotCovered, health.CodeSMTPTLSFailed, health.CodeSMTPTLSVersion},
	tlsrpt.ResultSTSPolicyFetchError: {health.CodePolicyFetchFailed, health.CodePolicyStatus, health.CodePolicyRedirect,
		health.CodePolicyContentType, health.CodePolicyTooLarge, health.CodeCertExpired, health.CodeCertNameMismatch,
		health.CodeCertUntrusted, health.CodeSTSRecordMissing, health.CodeSTSRecordMultiple, health.CodeSTSRecordInvalid},
	tlsrpt.ResultSTSWebPKIInvalid: {health.CodeCertExpired, health.CodeCertNameMismatch, health.CodeCertUntrusted},
	// DANE (RFC 8460 §4.3.1, RFC 7672): the checker's TLSA lookup of the
	// MX host (internal/checker dane.go) shows the cause.
	tlsrpt.ResultTLSAInvalid:      {health.CodeDANEMismatch, health.CodeDANEUnusable},
	tlsrpt.ResultDNSSECInvalid:    {health.CodeDANEInsecure, health.CodeDANELookup},
	tlsrpt.ResultDANERequired:     {health.CodeDANELookup, health.CodeDANEInsecure, health.CodeDANEUnusable},
	tlsrpt.ResultSTSPolicyInvalid: {health.CodePolicyInvalid, health.CodeSTSRecordInvalid, health.CodeSTSRecordMultiple},
}

// mxCodes are the check codes whose subject is an MX host.
var mxCodes = []health.Code{
	health.CodeMXNotCovered, health.CodeSMTPConnectFailed, health.CodeSMTPSTARTTLSMissing,
	health.CodeSMTPTLSFailed, health.CodeSMTPTLSVersion, health.CodeSMTPCertExpired,
	health.CodeSMTPCertExpiring, health.CodeSMTPCertNameMismatch, health.CodeSMTPCertUntrusted,
	health.CodeDANEInsecure, health.CodeDANEUnusable, health.CodeDANEMismatch, health.CodeDANELookup,
}

// policyCodes are the check codes about the policy host, its record and
// its certificate: none of them of severity error means it "checks fine".
var policyCodes = []health.Code{
	health.CodePolicyFetchFailed, health.CodePolicyStatus, health.CodePolicyRedirect,
	health.CodePolicyContentType, health.CodePolicyTooLarge, health.CodePolicyInvalid,
	health.CodeCertExpired, health.CodeCertNameMismatch, health.CodeCertUntrusted,
	health.CodeSTSRecordMissing, health.CodeSTSRecordMultiple, health.CodeSTSRecordInvalid,
}

// Network returns the sending network of ip: its /24 for IPv4 (and
// IPv4-mapped IPv6), its /48 for IPv6; "" when ip is empty or invalid.
func Network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// Input is what Triage reads for one domain.
type Input struct {
	Domain string
	// Facts are the stored facts of the domain (others are ignored);
	// Counting says which of them count, as for store.Summary.
	Facts    []store.Fact
	Counting store.Counting
	// Check is the checker's latest result of the domain; nil when none.
	Check *health.Result
}

type acc struct {
	failed  int64
	orgs    map[string]bool
	nets    map[string]bool
	reports map[string]bool
}

type dayOrg struct {
	day store.Day
	org string
}

// Triage returns the clusters of in's failed sessions with their
// verdicts, ordered by day (newest first), then failed sessions (most
// first), then MX host and result type.
func Triage(in Input, th Thresholds) []Cluster {
	clusters := map[Key]*acc{}
	reporters := map[store.Day]map[string]bool{}
	succeeded := map[dayOrg][]string{} // report keys with successes
	failedAt := map[dayOrg]map[Key]bool{}
	for _, f := range in.Facts {
		if f.Domain != in.Domain || !in.Counting.Counts(f) {
			continue
		}
		if reporters[f.Day] == nil {
			reporters[f.Day] = map[string]bool{}
		}
		reporters[f.Day][f.Organization] = true
		do := dayOrg{f.Day, f.Organization}
		if f.Success > 0 {
			succeeded[do] = append(succeeded[do], f.ReportKey)
		}
		for _, r := range f.Failures {
			if r.Count <= 0 {
				continue
			}
			k := Key{in.Domain, r.MXHost, r.ResultType, f.Day}
			a := clusters[k]
			if a == nil {
				a = &acc{orgs: map[string]bool{}, nets: map[string]bool{}, reports: map[string]bool{}}
				clusters[k] = a
			}
			a.failed += r.Count
			a.orgs[f.Organization] = true
			a.nets[Network(r.SendingIP)] = true
			a.reports[f.ReportKey] = true
			if failedAt[do] == nil {
				failedAt[do] = map[Key]bool{}
			}
			failedAt[do][k] = true
		}
	}
	out := make([]Cluster, 0, len(clusters))
	for k, a := range clusters {
		c := Cluster{Key: k, FailedSessions: a.failed,
			Reporters: sorted(reporters[k.Day]), Failing: sorted(a.orgs), Networks: sorted(a.nets)}
		var okReports []string
		for _, org := range c.Reporters {
			do := dayOrg{k.Day, org}
			if len(succeeded[do]) > 0 && !failedAt[do][k] {
				c.Succeeding = append(c.Succeeding, org)
				okReports = append(okReports, succeeded[do]...)
			}
		}
		if c.Succeeding == nil {
			c.Succeeding = []string{}
		}
		slices.Sort(okReports)
		c.Reports = append(sorted(a.reports), slices.Compact(okReports)...)
		c.Checks = []health.Finding{}
		if in.Check != nil {
			c.CheckedAt = in.Check.CheckedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		c.Verdict, c.Reason, c.Checks = judge(c, in.Check, th)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(b.Day, a.Day), cmp.Compare(b.FailedSessions, a.FailedSessions),
			cmp.Compare(a.MXHost, b.MXHost), cmp.Compare(a.ResultType, b.ResultType))
	})
	return out
}

// judge applies the rules in order; the first that matches gives the
// verdict (docs/checker.md, "Failure triage").
func judge(c Cluster, check *health.Result, th Thresholds) (Verdict, string, []health.Finding) {
	none := []health.Finding{}
	// Rule 1: the checker shows the cause.
	if cause := explaining(c.Key, check); len(cause) > 0 {
		return Misconfiguration, fmt.Sprintf("the checker found the cause (%s)", cause[0].Code), cause
	}
	// Rule 2: too little to compare.
	if c.FailedSessions < th.MinFailedSessions {
		return NotEnoughData, fmt.Sprintf("%d failed sessions, fewer than %d", c.FailedSessions, th.MinFailedSessions), none
	}
	if len(c.Reporters) < th.MinReporters {
		return NotEnoughData, fmt.Sprintf("%d organisation(s) reported the domain that day, fewer than %d to compare",
			len(c.Reporters), th.MinReporters), none
	}
	share := 100 * len(c.Failing) / len(c.Reporters)
	// Rule 3: most reporters fail the same way.
	if share > th.MajorityPercent {
		return Misconfiguration, fmt.Sprintf("%d of %d reporting organisations (%d%%, more than %d%%) fail this way",
			len(c.Failing), len(c.Reporters), share, th.MajorityPercent), none
	}
	// Rule 4: a minority or a few networks, others fine, MX checks fine.
	if slices.Contains(interceptionTypes, c.ResultType) && len(c.Succeeding) > 0 {
		few := share <= th.MinorityPercent || countKnown(c.Networks) <= th.FewNetworks && countKnown(c.Networks) > 0
		switch {
		case !few:
			return NotEnoughData, fmt.Sprintf("%d of %d organisations (%d%%) from %d networks fail: neither most nor few",
				len(c.Failing), len(c.Reporters), share, countKnown(c.Networks)), none
		case check == nil:
			return NotEnoughData, "a minority of senders fail, but there is no check result to say the MX is healthy", none
		case len(mxFindings(c.MXHost, check)) > 0:
			return NotEnoughData, "a minority of senders fail, but the checker has findings about this MX", mxFindings(c.MXHost, check)
		}
		return Interception, fmt.Sprintf("%d of %d organisations (%d%%) from %d network(s) fail while %d succeed and the MX checks fine",
			len(c.Failing), len(c.Reporters), share, countKnown(c.Networks), len(c.Succeeding)), none
	}
	// Rule 5: one organisation, a failure of its own side, policy host fine.
	if slices.Contains(senderTypes, c.ResultType) && len(c.Failing) == 1 && len(c.Succeeding) > 0 {
		if check == nil {
			return NotEnoughData, "only " + c.Failing[0] + " fails, but there is no check result of the policy host", none
		}
		if p := policyErrors(check); len(p) > 0 {
			return NotEnoughData, "only " + c.Failing[0] + " fails, but the checker has findings about the policy host", p
		}
		return SenderSide, fmt.Sprintf("only %s reports %s while %d other organisation(s) succeed and the policy host checks fine",
			c.Failing[0], c.ResultType, len(c.Succeeding)), none
	}
	return NotEnoughData, fmt.Sprintf("%d of %d organisations fail; no rule applies", len(c.Failing), len(c.Reporters)), none
}

// explaining returns the findings of check that explain k's failures:
// codes causes maps k's result type to, about k's MX host for MX codes.
func explaining(k Key, check *health.Result) []health.Finding {
	if check == nil {
		return nil
	}
	var l []health.Finding
	for _, f := range check.Findings {
		if f.Severity < health.SeverityWarning || !slices.Contains(causes[k.ResultType], f.Code) {
			continue
		}
		if slices.Contains(mxCodes, f.Code) && (k.MXHost == "" || f.Subject != k.MXHost) {
			continue
		}
		l = append(l, f)
	}
	return l
}

// mxFindings returns check's warnings and errors about MX host mx.
func mxFindings(mx string, check *health.Result) []health.Finding {
	var l []health.Finding
	for _, f := range check.Findings {
		if f.Severity >= health.SeverityWarning && slices.Contains(mxCodes, f.Code) && f.Subject == mx {
			l = append(l, f)
		}
	}
	return l
}

// policyErrors returns check's errors about the policy host.
func policyErrors(check *health.Result) []health.Finding {
	var l []health.Finding
	for _, f := range check.Findings {
		if f.Severity == health.SeverityError && slices.Contains(policyCodes, f.Code) {
			l = append(l, f)
		}
	}
	return l
}

func countKnown(nets []string) int {
	n := 0
	for _, s := range nets {
		if s != "" {
			n++
		}
	}
	return n
}

func sorted(m map[string]bool) []string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}
