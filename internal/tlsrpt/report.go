package tlsrpt

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// ResultType is a failure detail's result-type (RFC 8460 §4.3; the IANA
// "STARTTLS Validation Result Types" registry). Values outside the registry
// are kept as they are, in lower case.
type ResultType string

// The registered result types, RFC 8460 §4.3.
const (
	ResultSTARTTLSNotSupported    ResultType = "starttls-not-supported"
	ResultCertificateHostMismatch ResultType = "certificate-host-mismatch"
	ResultCertificateExpired      ResultType = "certificate-expired"
	ResultCertificateNotTrusted   ResultType = "certificate-not-trusted"
	ResultValidationFailure       ResultType = "validation-failure"
	ResultTLSAInvalid             ResultType = "tlsa-invalid"
	ResultDNSSECInvalid           ResultType = "dnssec-invalid"
	ResultDANERequired            ResultType = "dane-required"
	ResultSTSPolicyFetchError     ResultType = "sts-policy-fetch-error"
	ResultSTSPolicyInvalid        ResultType = "sts-policy-invalid"
	ResultSTSWebPKIInvalid        ResultType = "sts-webpki-invalid"
)

var knownResultTypes = [...]ResultType{
	ResultSTARTTLSNotSupported, ResultCertificateHostMismatch, ResultCertificateExpired,
	ResultCertificateNotTrusted, ResultValidationFailure, ResultTLSAInvalid,
	ResultDNSSECInvalid, ResultDANERequired, ResultSTSPolicyFetchError,
	ResultSTSPolicyInvalid, ResultSTSWebPKIInvalid,
}

// Known reports whether t is one of the registered result types.
func (t ResultType) Known() bool {
	for _, k := range knownResultTypes {
		if t == k {
			return true
		}
	}
	return false
}

// IsSTS reports whether t is one of the MTA-STS specific result types
// (RFC 8460 §4.3.2): the policy could not be fetched, was invalid, or its
// host's certificate did not validate.
func (t ResultType) IsSTS() bool {
	return t == ResultSTSPolicyFetchError || t == ResultSTSPolicyInvalid || t == ResultSTSWebPKIInvalid
}

// PolicyType is a policy's policy-type, RFC 8460 §4.4.
type PolicyType string

// The policy types of RFC 8460 §4.4.
const (
	PolicyTypeSTS           PolicyType = "sts"
	PolicyTypeTLSA          PolicyType = "tlsa"
	PolicyTypeNoPolicyFound PolicyType = "no-policy-found"
)

// Limits bound the work and memory spent on one report. A zero or negative
// field means the DefaultLimits value.
type Limits struct {
	// MaxCompressed bounds a gzip input and a gzip e-mail attachment.
	MaxCompressed int64
	// MaxDecompressed bounds a JSON input, and what a gzip input inflates
	// to. RFC 8460 §5.1 mentions 10 MB as a common receiver limit.
	MaxDecompressed int64
	// MaxDepth bounds JSON nesting (the report object is depth 1; a valid
	// report needs 5), and MIME nesting in e-mails.
	MaxDepth int
	// MaxPolicies bounds the number of policies in a report.
	MaxPolicies int
	// MaxFailureDetails bounds the number of failure details, in total
	// over all policies.
	MaxFailureDetails int
	// MaxListEntries bounds the number of policy-string and mx-host
	// entries, in total over all policies.
	MaxListEntries int
	// MaxString bounds the length of every JSON string (values and member
	// names), in bytes as sent.
	MaxString int
}

// DefaultLimits returns the limits used where a Limits field is not set:
// 10 MiB compressed, 64 MiB decompressed, depth 32, 10000 policies, 100000
// failure details, 100000 policy-string and mx-host entries, strings of
// 64 KiB. Together they bound the memory of one parse: the JSON body, or
// for gzip the compressed body and a decoder buffer of about twice the
// string limit; kept strings of at most 3 times their bytes in the JSON
// (invalid UTF-8 becomes U+FFFD); and for the elements 120 bytes per policy
// and per failure detail and 16 per list entry, at most 34 MB with slice
// growth. At most 4 × MaxDecompressed + 34 MB in all (docs/reports.md).
func DefaultLimits() Limits {
	return Limits{
		MaxCompressed:     10 << 20,
		MaxDecompressed:   64 << 20,
		MaxDepth:          32,
		MaxPolicies:       10000,
		MaxFailureDetails: 100000,
		MaxListEntries:    100000,
		MaxString:         64 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxCompressed <= 0 {
		l.MaxCompressed = d.MaxCompressed
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxPolicies <= 0 {
		l.MaxPolicies = d.MaxPolicies
	}
	if l.MaxFailureDetails <= 0 {
		l.MaxFailureDetails = d.MaxFailureDetails
	}
	if l.MaxListEntries <= 0 {
		l.MaxListEntries = d.MaxListEntries
	}
	if l.MaxString <= 0 {
		l.MaxString = d.MaxString
	}
	return l
}

// Report is an aggregate TLS report, RFC 8460 §4, normalized.
type Report struct {
	OrganizationName string
	ContactInfo      string // "" when absent or null
	ReportID         string
	Start, End       time.Time // UTC
	Policies         []PolicyResult
	// Quirks lists, human-readable, each tolerated deviation from RFC 8460
	// found in the report; nil for a conforming report.
	Quirks []string
}

// PolicyResult is one entry of a report's policies, RFC 8460 §4.4.
type PolicyResult struct {
	Type          PolicyType
	Domain        string   // policy-domain: lower-case A-label, no trailing dot
	PolicyStrings []string // policy-string, as sent
	MXHosts       []string // mx-host: lower case, no trailing dot; may start with "*."
	Success       int64    // total-successful-session-count
	Failure       int64    // total-failure-session-count
	Failures      []FailureDetail
}

// FailureDetail is one entry of a policy's failure-details, RFC 8460 §4.4.
type FailureDetail struct {
	ResultType          ResultType
	SendingMTAIP        string // canonical netip form, "" if absent
	ReceivingIP         string // canonical netip form, "" if absent
	ReceivingMXHostname string // lower case, no trailing dot, "" if absent
	ReceivingMXHelo     string // as sent
	Count               int64  // failed-session-count
	ReasonCode          string // failure-reason-code
	AdditionalInfo      string // additional-information
}

// ParseReport parses an aggregate report, RFC 8460 §4: JSON, or gzip
// (recognised by its magic bytes 1f 8b) holding JSON. The input's size is
// checked first: a gzip input against lim.MaxCompressed, a JSON input against
// lim.MaxDecompressed. JSON is decoded in place; gzip is inflated by
// compress/gzip as it is decoded, never held whole, through a limit of
// lim.MaxDecompressed (a gzip input inflating to more is ErrTooLarge, also
// when its JSON is broken earlier on). The JSON is decoded in one pass that
// checks nesting depth, element counts and string lengths before it
// allocates what they bound: see Limits.
//
// Duplicate JSON object keys: the last one wins, as with encoding/json; an
// object or array value replaces the earlier one entirely (no merging). Each
// duplicate is recorded in Quirks.
func ParseReport(data []byte, lim Limits) (*Report, error) {
	lim = lim.withDefaults()
	if !isGzip(data) {
		if int64(len(data)) > lim.MaxDecompressed {
			return nil, &ReportError{Err: ErrTooLarge, Offset: -1, Msg: "JSON input larger than " + sizeString(lim.MaxDecompressed)}
		}
		return decodeReport(data, lim)
	}
	if int64(len(data)) > lim.MaxCompressed {
		return nil, &ReportError{Err: ErrTooLarge, Offset: -1, Msg: "gzip input larger than " + sizeString(lim.MaxCompressed)}
	}
	return decodeGzip(data, lim)
}

func isGzip(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b
}

func sizeString(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// inflater is the gzip stream the decoder reads: it stops at max bytes
// (ErrTooLarge), and at pending bytes delivered but not yet consumed as
// tokens by the decoder (one token, or white space, longer than every
// string may be), so that the decoder's buffer stays small whatever the
// input. err is the first error it returned.
type inflater struct {
	head    []byte // read first: the start of the stream, already inflated
	r       *gzip.Reader
	max     int64
	n       int64
	dec     *jsontext.Decoder
	pending int64
	err     error
}

var (
	errInflatedTooLarge = errors.New("inflates to more than the limit")
	errTokenTooLong     = errors.New("token too long")
)

func (f *inflater) Read(p []byte) (int, error) {
	if len(f.head) > 0 {
		n := copy(p, f.head)
		f.head = f.head[n:]
		return n, nil
	}
	if f.err != nil {
		return 0, f.err
	}
	switch {
	case f.n > f.max:
		f.err = errInflatedTooLarge
	case f.dec != nil && f.n-f.dec.InputOffset() > f.pending:
		f.err = errTokenTooLong
	}
	if f.err != nil {
		return 0, f.err
	}
	// Never more than one byte past the limit, so that the excess is
	// seen without inflating it.
	if rest := f.max + 1 - f.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	if err != nil {
		f.err = err
	}
	return n, err
}

// drain inflates the rest of the stream without keeping it, up to the
// limit, and returns the error that decides over a decoding error: the
// stream inflates to more than the limit, or it is broken. Inflating on
// costs time, not memory, as inflating the whole input first would.
func (f *inflater) drain() error {
	if f.err == nil || f.err == errTokenTooLong {
		if f.err == errTokenTooLong {
			f.err = nil
		}
		n, err := io.Copy(io.Discard, io.LimitReader(f.r, f.max+1-f.n))
		f.n += n
		if f.n > f.max {
			f.err = errInflatedTooLarge
		} else if err != nil {
			f.err = err
		}
	}
	switch {
	case f.err == errInflatedTooLarge:
		return &ReportError{Err: ErrTooLarge, Offset: -1, Msg: "gzip input inflates to more than " + sizeString(f.max)}
	case f.err != nil && f.err != io.EOF:
		return &ReportError{Err: ErrMalformed, Offset: -1, Msg: "gzip: " + f.err.Error()}
	}
	return nil
}

// Domains returns the distinct policy domains of the report, in order of
// first appearance.
func (r *Report) Domains() []string {
	var l []string
	for _, p := range r.Policies {
		dup := false
		for _, d := range l {
			if d == p.Domain {
				dup = true
				break
			}
		}
		if !dup {
			l = append(l, p.Domain)
		}
	}
	return l
}

// Identity identifies a report across deliveries: RFC 8460 §4.4 makes
// report-id unique per reporting organisation.
type Identity struct {
	Organization string // organization-name, trimmed, lower case
	ReportID     string // report-id, trimmed
}

// Identity returns the report's normalized identity.
func (r *Report) Identity() Identity {
	return Identity{
		Organization: strings.ToLower(strings.TrimSpace(r.OrganizationName)),
		ReportID:     strings.TrimSpace(r.ReportID),
	}
}

// maxKeyLen bounds Key: S3 keys and DynamoDB sort keys allow 1024 bytes.
const maxKeyLen = 200

// Key returns a deterministic string for the identity that is safe as one
// segment of an S3 object key and as part of a DynamoDB sort key: organisation
// and report-id, each escaped so that only ASCII letters, digits and "-" stay
// as they are and every other byte becomes "_" and two lower-case hex digits,
// joined by ".". It thus never holds "/", "..", white space or control
// characters, and distinct identities give distinct keys ("." never occurs
// in an escaped part). A key longer than 200 bytes is cut to 160 and ends in
// a hash of the whole identity ("!" never occurs otherwise):
//
//   - "!" and 32 hex digits of the SHA-256 of organisation, a NUL byte and
//     report-id, when neither holds a NUL byte (the NUL then separates them
//     unambiguously; this is the form keys always had, so stored reports
//     keep their keys);
//   - "!!" and 32 hex digits of the SHA-256 of the escaped key, when one of
//     them holds a NUL byte: organisation + NUL + report-id would no longer
//     say where one ends ("a\x00" + "b" and "a" + "\x00b"), the escaped key
//     does.
//
// Keys are thus injective up to SHA-256 collisions (issue 14 §6).
func (id Identity) Key() string {
	b := make([]byte, 0, len(id.Organization)+len(id.ReportID)+8)
	b = appendKeyEscaped(b, id.Organization)
	b = append(b, '.')
	b = appendKeyEscaped(b, id.ReportID)
	if len(b) <= maxKeyLen {
		return string(b)
	}
	var h [sha256.Size]byte
	marker := "!"
	if strings.IndexByte(id.Organization, 0) < 0 && strings.IndexByte(id.ReportID, 0) < 0 {
		h = sha256.Sum256([]byte(id.Organization + "\x00" + id.ReportID))
	} else {
		h = sha256.Sum256(b)
		marker = "!!"
	}
	b = append(b[:160], marker...)
	b = hex.AppendEncode(b, h[:16])
	return string(b)
}

func appendKeyEscaped(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// The RFC 8460 §4.4 JSON shape, for JSON(). mx-host is written as an array
// (RFC 8460 erratum 6241).
type (
	jsonReport struct {
		OrganizationName string       `json:"organization-name"`
		DateRange        jsonRange    `json:"date-range"`
		ContactInfo      string       `json:"contact-info,omitempty"`
		ReportID         string       `json:"report-id"`
		Policies         []jsonResult `json:"policies"`
	}
	jsonRange struct {
		Start string `json:"start-datetime"`
		End   string `json:"end-datetime"`
	}
	jsonResult struct {
		Policy         jsonPolicy    `json:"policy"`
		Summary        jsonSummary   `json:"summary"`
		FailureDetails []jsonFailure `json:"failure-details,omitempty"`
	}
	jsonPolicy struct {
		Type    PolicyType `json:"policy-type"`
		Strings []string   `json:"policy-string,omitempty"`
		Domain  string     `json:"policy-domain"`
		MXHost  []string   `json:"mx-host,omitempty"`
	}
	jsonSummary struct {
		Success int64 `json:"total-successful-session-count"`
		Failure int64 `json:"total-failure-session-count"`
	}
	jsonFailure struct {
		ResultType          ResultType `json:"result-type"`
		SendingMTAIP        string     `json:"sending-mta-ip,omitempty"`
		ReceivingMXHostname string     `json:"receiving-mx-hostname,omitempty"`
		ReceivingMXHelo     string     `json:"receiving-mx-helo,omitempty"`
		ReceivingIP         string     `json:"receiving-ip,omitempty"`
		Count               int64      `json:"failed-session-count"`
		AdditionalInfo      string     `json:"additional-information,omitempty"`
		ReasonCode          string     `json:"failure-reason-code,omitempty"`
	}
)

// JSON returns the report in the JSON form of RFC 8460 §4.4, normalized: times
// in UTC as RFC 3339, mx-host as an array, absent optional fields left out.
// Quirks are not part of it. ParseReport of the result gives r back (without
// Quirks).
func (r *Report) JSON() ([]byte, error) {
	jr := jsonReport{
		OrganizationName: r.OrganizationName,
		DateRange: jsonRange{
			Start: r.Start.UTC().Format(time.RFC3339Nano),
			End:   r.End.UTC().Format(time.RFC3339Nano),
		},
		ContactInfo: r.ContactInfo,
		ReportID:    r.ReportID,
		Policies:    make([]jsonResult, len(r.Policies)),
	}
	for i, p := range r.Policies {
		res := jsonResult{
			Policy:  jsonPolicy{Type: p.Type, Strings: p.PolicyStrings, Domain: p.Domain, MXHost: p.MXHosts},
			Summary: jsonSummary{Success: p.Success, Failure: p.Failure},
		}
		for _, f := range p.Failures {
			res.FailureDetails = append(res.FailureDetails, f2j(f))
		}
		jr.Policies[i] = res
	}
	return json.Marshal(jr)
}

func f2j(f FailureDetail) jsonFailure {
	return jsonFailure{
		ResultType:          f.ResultType,
		SendingMTAIP:        f.SendingMTAIP,
		ReceivingMXHostname: f.ReceivingMXHostname,
		ReceivingMXHelo:     f.ReceivingMXHelo,
		ReceivingIP:         f.ReceivingIP,
		Count:               f.Count,
		AdditionalInfo:      f.AdditionalInfo,
		ReasonCode:          f.ReasonCode,
	}
}
