package tlsrpt

import (
	"errors"
	"strconv"
)

// Sentinel errors, one per failure class. Returned errors wrap one of them
// (test with errors.Is) and add the field or part at fault.
var (
	// ErrTooLarge: the input, or what it decompresses to, exceeds Limits.
	ErrTooLarge = errors.New("tlsrpt: report too large")
	// ErrMalformed: not gzip or JSON, not a JSON object, a JSON syntax
	// error, trailing data after the object, or an unparsable e-mail.
	ErrMalformed = errors.New("tlsrpt: malformed report")
	// ErrInvalid: well-formed JSON that is not a valid report; the error
	// names the field as a JSON path.
	ErrInvalid = errors.New("tlsrpt: invalid report")
	// ErrTooDeep: JSON nesting deeper than Limits.MaxDepth, MIME nesting
	// deeper than MaxMIMEDepth (or Limits.MaxDepth when lower).
	ErrTooDeep = errors.New("tlsrpt: nesting too deep")
	// ErrTooMany: more policies or failure details than Limits allow.
	ErrTooMany = errors.New("tlsrpt: too many elements")
	// ErrNoRecord: no TXT record starting with v=TLSRPTv1.
	ErrNoRecord = errors.New("tlsrpt: no TLSRPT record")
	// ErrMultipleRecords: more than one TXT record starting with v=TLSRPTv1
	// (RFC 8460 §3: then there is no valid record).
	ErrMultipleRecords = errors.New("tlsrpt: multiple TLSRPT records")
	// ErrRecordSyntax: a TLSRPT record or rua URI that does not follow
	// RFC 8460 §3.
	ErrRecordSyntax = errors.New("tlsrpt: bad TLSRPT record")
	// ErrNotReport: an e-mail that carries no TLS report.
	ErrNotReport = errors.New("tlsrpt: no report in message")
)

// ReportError describes why a report was refused. Err is one of the sentinel
// errors (ErrMalformed, ErrInvalid, ErrTooDeep, ErrTooMany), Path the JSON path
// of the field at fault ("policies[0].summary.total-failure-session-count",
// empty for the document as a whole), Offset the byte offset in the
// (decompressed) JSON for syntax errors, -1 otherwise.
type ReportError struct {
	Err    error
	Path   string
	Offset int
	Msg    string
}

func (e *ReportError) Error() string {
	s := e.Err.Error() + ": "
	if e.Path != "" {
		s += e.Path + ": "
	}
	s += e.Msg
	if e.Offset >= 0 {
		s += " (at byte " + strconv.Itoa(e.Offset) + ")"
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *ReportError) Unwrap() error { return e.Err }
