package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// ErrNotFound is returned (wrapped) when a report or raw body is not stored.
var ErrNotFound = errors.New("store: not found")

// ErrInvalidEntry is returned (wrapped) by SaveReport when an Entry breaks the
// rules of NewEntry: a bad key, no facts, facts of another report.
var ErrInvalidEntry = errors.New("store: invalid entry")

// Content types of stored raw bodies.
const (
	ContentTypeGzip = "application/tlsrpt+gzip"
	ContentTypeJSON = "application/tlsrpt+json"
)

// Receipt is what is stored about one received report besides its facts
// and raw body: the record of its receipt (named apart from tlsrpt.Report,
// the report itself). It is written last, once, by the first SaveReport
// that completes; a later SaveReport of the same report leaves it as it is.
type Receipt struct {
	// Key is the report's identity key (tlsrpt.Identity.Key): the key of
	// everything stored for the report.
	Key string `json:"key"`
	// Organization is the normalised organization-name (trimmed, lower
	// case); OrganizationName and ReportID are as sent.
	Organization     string    `json:"organization"`
	OrganizationName string    `json:"organization_name"`
	ReportID         string    `json:"report_id"`
	ContactInfo      string    `json:"contact_info,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	// Domains are the served policy domains the report has facts for.
	Domains []string `json:"domains"`
	// Success and Failure are summed over the facts (served domains).
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
	// ReceivedAt is when the first complete SaveReport happened (UTC).
	ReceivedAt time.Time `json:"received_at"`
	// Channel is how the report arrived: "https" or "email".
	Channel string `json:"channel"`
	// ContentType is ContentTypeGzip or ContentTypeJSON, from the raw
	// body's first bytes; Size is the raw body's length.
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// Quirks are the report's tolerated deviations (tlsrpt.Report.Quirks),
	// at most maxQuirks of at most maxQuirkLen bytes each.
	Quirks []string `json:"quirks,omitempty"`
	// DKIM is the DKIM verdict of a report received by e-mail (RFC 8460
	// §5.3; set by package mailin); nil for other channels.
	DKIM *DKIM `json:"dkim,omitempty"`
	// Provenance says how far the report is authenticated: one of
	// ProvenanceHTTPS, ProvenanceEmailAligned, ProvenanceEmailUnaligned
	// ("" in records stored before it was recorded; see ProvenanceOf).
	Provenance string `json:"provenance"`
	// Digest is the content identity of the report (Digest; "" in records
	// stored before it was recorded).
	Digest string `json:"digest,omitempty"`
	// Conflicts are the keys of the other bodies stored for the same
	// identity with other content, sorted: on the body stored first every
	// variant, on a variant the identity key (see Saved).
	Conflicts []string `json:"conflicts,omitempty"`
}

// Provenances of a stored report (Report.Provenance, Fact.Provenance):
// what vouches for the organisation the report names.
const (
	// ProvenanceHTTPS: posted to the HTTPS endpoint, which anyone can do;
	// nothing ties it to the organisation it names.
	ProvenanceHTTPS = "https"
	// ProvenanceEmailAligned: e-mailed with a passing DKIM signature
	// (RFC 8460 §5.3) whose signing domain has the organisational domain
	// of the submitter and of the report's organization-name.
	ProvenanceEmailAligned = "email-aligned"
	// ProvenanceEmailUnaligned: e-mailed unsigned, with no passing
	// signature, or signed by a domain that is not the submitter's or
	// the organisation's.
	ProvenanceEmailUnaligned = "email-unaligned"
)

// Provenances lists every provenance, most trusted first.
func Provenances() []string {
	return []string{ProvenanceEmailAligned, ProvenanceEmailUnaligned, ProvenanceHTTPS}
}

// ProvenanceOf is the provenance of a report record, also of one stored
// before provenance was recorded: its channel tells HTTPS from e-mail, and
// an old e-mailed record counts as unaligned (its organisation was never
// checked against the signer).
func (r Receipt) ProvenanceOf() string {
	switch {
	case r.Provenance != "":
		return r.Provenance
	case r.Channel == "email":
		return ProvenanceEmailUnaligned
	}
	return ProvenanceHTTPS
}

// DKIM results of an e-mailed report (DKIM.Result).
const (
	DKIMPass = "pass" // a valid signature by the submitter's domain
	DKIMFail = "fail" // signed, but no signature passed
	DKIMNone = "none" // not signed
)

// DKIM is the verdict on the DKIM signatures (RFC 6376) of the e-mail a
// report arrived in. Result is DKIMPass, DKIMFail or DKIMNone; Domain is
// the signing domain (d=) of the passing signature, or of the signature
// the Reason is about; Reason says why the result is not pass, at most
// MaxFieldLen bytes.
type DKIM struct {
	Result string `json:"result"`
	Domain string `json:"domain,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Fact is one report's contribution for one policy domain: the stored unit
// of report data, one per (domain, day, organisation, report-id). Sums are
// derived from facts by Summarize.
type Fact struct {
	Domain string `json:"domain"` // lower-case A-label
	// Day is the UTC day the report's date range starts on.
	Day              Day       `json:"day"`
	ReportKey        string    `json:"report_key"`
	Organization     string    `json:"organization"` // normalised
	OrganizationName string    `json:"organization_name"`
	ReportID         string    `json:"report_id"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	// ReceivedAt is when the report was received (Receipt.ReceivedAt):
	// how silent-sender alerts tell a report that arrived late from one
	// that did not arrive. Zero in facts stored before it was recorded.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// Success and Failure are the session counts summed over the
	// report's policies for Domain.
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
	// Policies splits the counts by policy type, in type order.
	Policies []PolicyTotals `json:"policies"`
	// MXHosts are the policies' mx-host values, distinct and sorted, at
	// most MaxMXHosts.
	MXHosts []string `json:"mx_hosts,omitempty"`
	// Failures are the failure details grouped by every field but the
	// count, largest count first. When a report has more than
	// MaxFailureRows groups (or they would exceed MaxFailureBytes) the
	// smallest are folded into one row per result type with the other
	// fields empty, and Folded is true: totals by result type stay exact.
	Failures []FailureCount `json:"failures,omitempty"`
	Folded   bool           `json:"folded,omitempty"`
	// MXPolicies are the report's policies for Domain that name MX hosts
	// (RFC 8460 §4.4 mx-host) or are of type "tlsa", with their counts:
	// what tells sessions per MX host apart (internal/mxhealth). Equal
	// policies (type, hosts, records) are summed; at most MaxMXPolicies,
	// bounded as NewEntry says.
	MXPolicies []MXPolicy `json:"mx_policies,omitempty"`
	// Provenance is the report's (Report.Provenance; "" for facts stored
	// before it was recorded).
	Provenance string `json:"provenance,omitempty"`
	// Conflict is true when the fact's report is one of several bodies
	// stored for one identity (Report.Conflicts): until resolved, sums
	// leave it out by default.
	Conflict bool `json:"conflict,omitempty"`
}

// PolicyTotals are the session counts of one policy type.
type PolicyTotals struct {
	Type    tlsrpt.PolicyType `json:"type"`
	Success int64             `json:"success"`
	Failure int64             `json:"failure"`
}

// MXPolicy is one policy of a report that names MX hosts, or of type
// "tlsa" (DANE, RFC 7672): the type, the mx-host values (sorted, at most
// MaxPolicyMXHosts), for "tlsa" the TLSA records
// (tlsrpt.PolicyResult.TLSARecords, at most MaxTLSARecords of at most
// MaxTLSARecordLen bytes; a longer record is cut and ends in "…"), and
// the policy's session counts.
type MXPolicy struct {
	Type    tlsrpt.PolicyType `json:"type"`
	MXHosts []string          `json:"mx_hosts,omitempty"`
	Records []string          `json:"records,omitempty"`
	Success int64             `json:"success"`
	Failure int64             `json:"failure"`
}

// FailureCount is a number of failed sessions sharing a result type,
// receiving MX host, receiving IP, sending IP and reason code.
type FailureCount struct {
	ResultType  tlsrpt.ResultType `json:"result_type"`
	MXHost      string            `json:"mx_host,omitempty"`
	ReceivingIP string            `json:"receiving_ip,omitempty"`
	SendingIP   string            `json:"sending_ip,omitempty"`
	ReasonCode  string            `json:"reason_code,omitempty"`
	Count       int64             `json:"count"`
}

// Entry is everything SaveReport stores for one report: the raw body, its
// Receipt and one fact per served domain. Build it with NewEntry.
type Entry struct {
	Report Receipt
	Raw    []byte
	Facts  []Fact
}

// RawKey is the S3 object key of the raw body of the report with identity
// key key: "reports/" and the key, which never holds "/", ".." or control
// characters. (The embedded store keeps raw bodies in its database.)
func RawKey(key string) string { return "reports/" + key }

// ValidKey checks that key has the shape of a tlsrpt.Identity key: 1 to 255
// bytes of ASCII letters, digits and "-_.!", and is not "." or "..". Stores
// use it before a key reaches a file name or object key.
func ValidKey(key string) error {
	if key == "" || len(key) > 255 {
		return fmt.Errorf("%w: report key: length %d, want 1 to 255", ErrInvalidEntry, len(key))
	}
	if key == "." || key == ".." {
		return fmt.Errorf("%w: report key %q", ErrInvalidEntry, key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '!') {
			return fmt.Errorf("%w: report key: byte %#x at %d", ErrInvalidEntry, c, i)
		}
	}
	return nil
}

// Check verifies what every store relies on before writing: a valid key, a
// raw body, at least one fact, every fact of this report with a valid day
// and a domain, no domain twice.
func (e *Entry) Check() error {
	if err := ValidKey(e.Report.Key); err != nil {
		return err
	}
	if len(e.Raw) == 0 {
		return fmt.Errorf("%w: empty raw body", ErrInvalidEntry)
	}
	if len(e.Facts) == 0 {
		return fmt.Errorf("%w: no facts", ErrInvalidEntry)
	}
	seen := make(map[string]bool, len(e.Facts))
	for i, f := range e.Facts {
		switch {
		case f.ReportKey != e.Report.Key:
			return fmt.Errorf("%w: facts[%d]: report key %q, want %q", ErrInvalidEntry, i, f.ReportKey, e.Report.Key)
		case f.Domain == "":
			return fmt.Errorf("%w: facts[%d]: empty domain", ErrInvalidEntry, i)
		case !f.Day.Valid():
			return fmt.Errorf("%w: facts[%d]: day %q", ErrInvalidEntry, i, f.Day)
		case seen[f.Domain]:
			return fmt.Errorf("%w: facts[%d]: domain %q twice", ErrInvalidEntry, i, f.Domain)
		}
		seen[f.Domain] = true
	}
	return nil
}
