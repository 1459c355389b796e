package mailin

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Bounds of a message's header section, checked before any DKIM signature
// is verified (issue 14 §4). Verifying a signature picks each field its h=
// tag names among all the header fields (RFC 6376 §5.4.2), and the DKIM
// library does it by a scan per name: without bounds a header of N fields
// and a signature naming K absent fields cost K×N (N=K=40,000 in 361 KB
// took 22 s). Within these bounds the worst message is verified in
// milliseconds (BenchmarkHostileHeader). Real report e-mails stay far
// below them: the e-mails in testdata/tlsrpt have at most 69 fields,
// 194 lines (20 in one field), 13.4 KB of header (Microsoft's, after
// Fastmail's relay), one signature naming at most 15 fields.
const (
	// MaxHeaderBytes bounds the header section (RFC 5322 §2.1), line ends
	// included.
	MaxHeaderBytes = 256 << 10
	// MaxHeaderFields bounds the header fields (RFC 5322 §2.2).
	MaxHeaderFields = 1000
	// MaxHeaderLines bounds the lines of the header section, folded
	// continuation lines (RFC 5322 §2.2.3) included.
	MaxHeaderLines = 5000
	// MaxFieldLines bounds the lines of one folded field: the DKIM
	// library unfolds a field by appending line after line, so that its
	// cost is lines × bytes of the field.
	MaxFieldLines = 200
	// MaxSignatures bounds the DKIM-Signature fields (RFC 6376 §3.5).
	MaxSignatures = 5
	// MaxSignedFields bounds the names in one signature's h= tag (RFC 6376
	// §3.5), repeated names (over-signing) included.
	MaxSignedFields = 200
)

// ErrHeaderLimit is wrapped by the refusal of a message whose header
// section is beyond one of the bounds above.
var ErrHeaderLimit = errors.New("mailin: message header beyond a limit")

// checkHeader returns an error wrapping ErrHeaderLimit when the header
// section of msg is beyond a bound; it reads msg once, in linear time. It
// delimits fields as the DKIM library does: a line starting with a space or
// a tab continues the field before it (RFC 5322 §2.2.3), the first empty
// line (or the end) ends the header.
func checkHeader(msg []byte) error {
	var (
		size, lines, fields, sigs int
		fieldLines                int             // lines of the current field
		sig                       strings.Builder // the DKIM-Signature being read
		inSig                     bool
	)
	endSig := func() error {
		if !inSig {
			return nil
		}
		inSig = false
		if n := signedFields(sig.String()); n > MaxSignedFields {
			return fmt.Errorf("%w: DKIM-Signature %d signs more than %d header fields (h= names %d)",
				ErrHeaderLimit, sigs, MaxSignedFields, n)
		}
		sig.Reset()
		return nil
	}
	for rest := msg; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		size += len(line)
		if size > MaxHeaderBytes {
			return fmt.Errorf("%w: header larger than %d bytes", ErrHeaderLimit, MaxHeaderBytes)
		}
		if lines++; lines > MaxHeaderLines {
			return fmt.Errorf("%w: more than %d header lines", ErrHeaderLimit, MaxHeaderLines)
		}
		text := bytes.TrimRight(line, "\r\n")
		if len(text) == 0 {
			break // the end of the header section
		}
		if fields > 0 && (text[0] == ' ' || text[0] == '\t') {
			if fieldLines++; fieldLines > MaxFieldLines {
				return fmt.Errorf("%w: header field %d folded into more than %d lines", ErrHeaderLimit, fields, MaxFieldLines)
			}
			if inSig {
				sig.Write(text)
			}
			continue
		}
		if err := endSig(); err != nil {
			return err
		}
		if fields++; fields > MaxHeaderFields {
			return fmt.Errorf("%w: more than %d header fields", ErrHeaderLimit, MaxHeaderFields)
		}
		fieldLines = 1
		name, value, _ := bytes.Cut(text, []byte(":"))
		if !strings.EqualFold(string(bytes.TrimSpace(name)), "DKIM-Signature") {
			continue
		}
		if sigs++; sigs > MaxSignatures {
			return fmt.Errorf("%w: more than %d DKIM-Signature fields", ErrHeaderLimit, MaxSignatures)
		}
		inSig = true
		sig.Write(value)
	}
	return endSig()
}

// signedFields counts the names in the h= tag of a DKIM-Signature value
// (RFC 6376 §3.5: "h=" is a colon-separated list); 0 without one.
func signedFields(value string) int {
	for tag := range strings.SplitSeq(value, ";") {
		k, v, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(k) == "h" {
			return strings.Count(v, ":") + 1
		}
	}
	return 0
}
