package tlsrpt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
)

// maxMIMEParts bounds the number of MIME parts looked at in one message.
const maxMIMEParts = 1000

// MaxMIMEDepth bounds the nesting of MIME entities in a message,
// multiparts and attached messages (message/rfc822) together, whatever
// Limits.MaxDepth allows JSON (the lower of the two applies). A report
// e-mail is 2 deep (multipart/report, its parts); forwarded as an
// attachment, 4; the bound allows 3 such forwardings.
const MaxMIMEDepth = 8

// maxMessageSize is the largest e-mail ExtractFromMessage reads: the base64
// form of the largest report (4/3 of it, plus line breaks) and room for
// headers.
func maxMessageSize(lim Limits) int64 {
	return lim.MaxDecompressed/2*3 + 1<<20
}

// maxDecoded bounds the bytes decoded in one message, all levels counted:
// a byte of a message attached n deep is decoded n times (once per
// attached message around it, then as part of its own part). Twice the
// largest message: one forwarding of the largest report fits.
func maxDecoded(lim Limits) int64 { return 2 * maxMessageSize(lim) }

// ExtractFromMessage returns the report carried by an e-mail (RFC 8460
// §5.3), found in every shape real senders use (docs/reports.md, "Report
// e-mails"), in this order of preference:
//
//  1. the first part of type application/tlsrpt+gzip, application/tlsrpt+json
//     or application/tlsrpt;
//  2. failing that, the first part of any other type, or none, whose file
//     name (Content-Disposition filename or Content-Type name, RFC 2231 and
//     RFC 2047 encodings undone, read leniently when the field is
//     malformed) ends in .json or .gz (.json.gz);
//  3. failing that, the first part of any type whose content starts like a
//     report: gzip, a JSON object, or either in base64 under no
//     Content-Transfer-Encoding;
//  4. failing that, for a message that is not multipart, its whole body if
//     it starts like a report.
//
// A part whose content is base64 text of gzip or JSON while no
// Content-Transfer-Encoding says so is decoded. Zip archives are not read
// (no TLS-RPT sender is known to send them): a message whose only candidate
// is one is ErrNotReport, saying so. Multiparts (any subtype, not only
// multipart/report) and attached messages (message/rfc822, message/global)
// are searched to a depth of MaxMIMEDepth (or lim.MaxDepth when lower), as
// streams: an attached message is not copied, and a part that is no report
// is skipped after its first bytes; all levels together decode at most
// maxDecoded bytes (twice the largest message read). Base64 and
// quoted-printable transfer encodings are decoded, 7bit, 8bit and binary
// taken as they are. The bytes are returned as found (gzip or JSON) for
// ParseReport; a gzip report larger than lim.MaxCompressed or a JSON report
// larger than lim.MaxDecompressed is ErrTooLarge. No report is
// ErrNotReport.
func ExtractFromMessage(msg []byte, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	if max := maxMessageSize(lim); int64(len(msg)) > max {
		return nil, fmt.Errorf("%w: message larger than %s", ErrTooLarge, sizeString(max))
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("%w: message header: %v", ErrMalformed, err)
	}
	x := extractor{lim: lim, maxDepth: min(lim.MaxDepth, MaxMIMEDepth), budget: maxDecoded(lim)}
	if err := x.entity(textproto.MIMEHeader(m.Header), m.Body, 0, "message"); err != nil {
		return nil, err
	}
	var found []byte
	switch {
	case x.report != nil:
		found = x.report
	case x.named != nil:
		found = x.named
	case x.sniffed != nil:
		found = x.sniffed
	case x.body != nil:
		found = x.body
	case x.zip != "":
		return nil, fmt.Errorf("%w: %s is a zip archive, which is not read: TLS reports are gzip or JSON "+
			"(RFC 8460 §5.3) and no sender is known to zip them", ErrNotReport, x.zip)
	default:
		return nil, ErrNotReport
	}
	if isGzip(found) {
		if int64(len(found)) > lim.MaxCompressed {
			return nil, fmt.Errorf("%w: gzip report larger than %s", ErrTooLarge, sizeString(lim.MaxCompressed))
		}
	} else if int64(len(found)) > lim.MaxDecompressed {
		return nil, fmt.Errorf("%w: JSON report larger than %s", ErrTooLarge, sizeString(lim.MaxDecompressed))
	}
	return found, nil
}

type extractor struct {
	lim      Limits
	maxDepth int
	parts    int
	budget   int64  // bytes that may still be decoded (maxDecoded)
	overrun  error  // the error of the read that exceeded the budget
	report   []byte // first application/tlsrpt+* part
	named    []byte // first part recognised by its file name
	sniffed  []byte // first part whose content starts like a report
	body     []byte // a non-multipart message body that looks like a report
	zip      string // where the first zip archive is, for the error
}

// entity looks at one MIME entity; where names it for errors ("message part
// 2.1").
func (x *extractor) entity(h textproto.MIMEHeader, body io.Reader, depth int, where string) error {
	if x.report != nil {
		return nil
	}
	x.parts++
	if x.parts > maxMIMEParts {
		return fmt.Errorf("%w: more than %d MIME parts", ErrTooMany, maxMIMEParts)
	}
	mt, params := mediaType(h.Get("Content-Type"))
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= x.maxDepth {
			return fmt.Errorf("%w: %s: MIME parts nested more than %d deep", ErrTooDeep, where, x.maxDepth)
		}
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("%w: %s: %s without boundary", ErrMalformed, where, mt)
		}
		mr := multipart.NewReader(body, boundary)
		for i := 1; x.report == nil; i++ {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return x.readError(fmt.Sprintf("%s part %d", where, i), err)
			}
			if err := x.entity(p.Header, p, depth+1, where+" part "+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	// RFC 2046 §5.2.1 and RFC 6532 §3.7 (message/global: an attached
	// message with UTF-8 header fields).
	case mt == "message/rfc822" || mt == "message/global":
		if depth >= x.maxDepth {
			return fmt.Errorf("%w: %s: messages nested more than %d deep", ErrTooDeep, where, x.maxDepth)
		}
		// A stream: the attached message is read as its part is, never
		// copied (issue 14 §5).
		inner, err := x.decoder(h, body, where)
		if err != nil {
			return err
		}
		m, err := mail.ReadMessage(inner)
		if err != nil {
			return x.readError(where+": attached message", err)
		}
		return x.entity(textproto.MIMEHeader(m.Header), m.Body, depth+1, where+" (attached message)")
	}

	kind, name := classifyPart(mt, params, h)
	switch kind {
	case partZip:
		if x.zip == "" {
			x.zip = where
			if name != "" {
				x.zip += " " + strconv.Quote(name)
			}
		}
		return nil
	case partNamed:
		if x.named != nil {
			return nil // the first named part is the one used
		}
	case partOther:
		return x.sniff(h, body, depth, where)
	}
	data, err := x.decode(h, body, where)
	if err != nil {
		return err
	}
	data = undoUndeclaredBase64(data)
	if len(data) == 0 {
		return nil
	}
	switch kind {
	case partReport:
		x.report = data
	case partNamed:
		if x.named == nil {
			x.named = data
		}
	}
	return nil
}

// sniffLen is how much of a part that is not labelled a report is read
// to see whether its content starts like one.
const sniffLen = 64

// sniff looks at the first bytes of a part that neither its type nor its
// name make a report: when they start like one (startsLikeReport) the part
// is read whole, else skipped unread. Senders have labelled reports
// application/gzip or application/octet-stream without a name, and a
// message whose whole body is the report has a clear meaning, although RFC
// 8460 §5.3 wants multipart/report.
func (x *extractor) sniff(h textproto.MIMEHeader, body io.Reader, depth int, where string) error {
	if x.sniffed != nil && depth > 0 {
		return nil
	}
	r, err := x.decoder(h, body, where)
	if err != nil {
		return nil // an unknown transfer encoding on a part that is not a report
	}
	br := bufio.NewReaderSize(r, sniffLen)
	head, _ := br.Peek(sniffLen)
	if x.overrun != nil {
		return x.overrun
	}
	if !startsLikeReport(head) {
		return nil
	}
	data, err := x.readPart(br, where)
	if err != nil {
		if x.overrun == nil {
			return nil // not a report after all, or larger than any
		}
		return err
	}
	data = undoUndeclaredBase64(data)
	if !startsLikeReport(data) || !isGzip(data) && !jsonObject(data) {
		return nil
	}
	if depth == 0 {
		x.body = data
	} else {
		x.sniffed = data
	}
	return nil
}

// startsLikeReport says whether b starts as a report does: gzip, a JSON
// object (after a byte order mark and white space), or base64 of either
// ("H4sI" is gzip's first three bytes, "ey", "ew", "e3" a "{" followed by
// a quote, white space or a brace).
func startsLikeReport(b []byte) bool {
	if isGzip(b) || jsonObject(b) {
		return true
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	return bytes.HasPrefix(t, []byte("H4sI")) || len(t) >= 2 && t[0] == 'e' && (t[1] == 'y' || t[1] == 'w' || t[1] == '3')
}

// jsonObject says whether b starts with "{", after a UTF-8 byte order
// mark and white space.
func jsonObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
	return len(t) > 0 && t[0] == '{'
}

// undoUndeclaredBase64 returns data decoded from base64 when it is base64
// text of gzip or JSON that no Content-Transfer-Encoding declared (a sender
// that forgot the field, RFC 2045 §6.1: the default is 7bit), else data.
func undoUndeclaredBase64(data []byte) []byte {
	if isGzip(data) || jsonObject(data) {
		return data
	}
	for _, c := range data {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			return data
		}
	}
	dec, err := io.ReadAll(base64.NewDecoder(base64.RawStdEncoding, &base64Text{r: bytes.NewReader(data)}))
	if err != nil || !isGzip(dec) && !jsonObject(dec) {
		return data
	}
	return dec
}

type partKind int

const (
	partOther  partKind = iota
	partReport          // application/tlsrpt+gzip, +json
	partNamed           // a report by its file name, whatever its type
	partZip             // a zip archive, not read
)

// classifyPart says what a leaf part is by its type and file name, and
// returns the name.
func classifyPart(mt string, params map[string]string, h textproto.MIMEHeader) (partKind, string) {
	name := fileName(params, h)
	lower := strings.ToLower(name)
	switch {
	// RFC 8460 §5.3 and §6.4, 6.5: the media types of reports.
	case mt == "application/tlsrpt+gzip" || mt == "application/tlsrpt+json" || mt == "application/tlsrpt":
		return partReport, name
	// Any other type, a wrong one (text/plain) or none: the name decides,
	// as senders name reports "<submitter>!<domain>!<start>!<end>!<id>.json.gz".
	case strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".gz"):
		return partNamed, name
	case strings.HasSuffix(lower, ".zip") || mt == "application/zip" || mt == "application/x-zip-compressed" || mt == "application/x-zip":
		return partZip, name
	}
	return partOther, name
}

// fileName returns a part's file name: Content-Disposition's filename,
// else Content-Type's name (params), RFC 2231 continuations and encodings
// undone by mime.ParseMediaType, an RFC 2047 encoded word decoded, and read
// leniently from a field that does not parse (an unquoted name with spaces).
func fileName(params map[string]string, h textproto.MIMEHeader) string {
	name := params["name"]
	if name == "" {
		name = lenientParam(h.Get("Content-Type"), "name")
	}
	if cd := h.Get("Content-Disposition"); cd != "" {
		_, dp, err := mime.ParseMediaType(cd)
		switch {
		case err == nil && dp["filename"] != "":
			name = dp["filename"]
		case err != nil:
			if n := lenientParam(cd, "filename"); n != "" {
				name = n
			}
		}
	}
	if strings.Contains(name, "=?") {
		if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = d
		}
	}
	return strings.TrimSpace(name)
}

// lenientParam returns the value of parameter key in a header field that
// mime.ParseMediaType refused: after "key=" (any case), a quoted string or
// everything up to the next ";".
func lenientParam(v, key string) string {
	i := strings.Index(strings.ToLower(v), key+"=")
	for i > 0 && !strings.ContainsRune("; \t", rune(v[i-1])) {
		j := strings.Index(strings.ToLower(v[i+1:]), key+"=")
		if j < 0 {
			return ""
		}
		i += 1 + j
	}
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(v[i+len(key)+1:], " \t")
	if strings.HasPrefix(rest, `"`) {
		if end := strings.IndexByte(rest[1:], '"'); end >= 0 {
			return rest[1 : 1+end]
		}
		return rest[1:]
	}
	rest, _, _ = strings.Cut(rest, ";")
	return strings.TrimSpace(rest)
}

// mediaType returns the lower-case media type and parameters of a
// Content-Type header, text/plain when absent (RFC 2045 §5.2). Parameters
// are best effort: a bad parameter does not hide the type.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "text/plain", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil && mt == "" {
		mt, _, _ = strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt, params
}

// decode reads a part's body, bounded, and undoes its
// Content-Transfer-Encoding (RFC 2045 §6).
func (x *extractor) decode(h textproto.MIMEHeader, body io.Reader, where string) ([]byte, error) {
	r, err := x.decoder(h, body, where)
	if err != nil {
		return nil, err
	}
	return x.readPart(r, where)
}

// readPart reads a decoded part, bounded.
func (x *extractor) readPart(r io.Reader, where string) ([]byte, error) {
	// Larger than the largest report is no report (ExtractFromMessage
	// says which bound it exceeds).
	max := max(x.lim.MaxCompressed, x.lim.MaxDecompressed)
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, x.readError(where, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s: larger than %s decoded", ErrTooLarge, where, sizeString(max))
	}
	return data, nil
}

// readError is the error of reading a part: the budget's when it ran out
// (whoever read, the multipart reader included), the decoder's, else
// ErrMalformed.
func (x *extractor) readError(where string, err error) error {
	switch {
	case x.overrun != nil:
		return x.overrun
	case errors.Is(err, ErrMalformed):
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, where, err)
}

// decoder returns a part's body with its Content-Transfer-Encoding (RFC
// 2045 §6) undone as it is read, counted against the budget.
func (x *extractor) decoder(h textproto.MIMEHeader, body io.Reader, where string) (io.Reader, error) {
	var r io.Reader
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "base64":
		r = &base64Reader{r: base64.NewDecoder(base64.RawStdEncoding, &base64Text{r: body}), where: where}
	case "quoted-printable":
		r = &qpReader{r: quotedprintable.NewReader(body), where: where}
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		return nil, fmt.Errorf("%w: %s: unknown Content-Transfer-Encoding %q", ErrMalformed, where, cte)
	}
	return &budgetReader{r: r, x: x, where: where}, nil
}

// budgetReader counts the bytes read through it against the budget of
// the message.
type budgetReader struct {
	r     io.Reader
	x     *extractor
	where string
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.x.budget -= int64(n)
	if b.x.budget < 0 {
		if b.x.overrun == nil {
			b.x.overrun = fmt.Errorf("%w: %s: more than %d bytes decoded in the message, all levels counted",
				ErrTooLarge, b.where, maxDecoded(b.x.lim))
		}
		return n, b.x.overrun
	}
	return n, err
}

// base64Text passes base64 text on without white space and padding, as
// base64.RawStdEncoding reads it: line breaks and other white space may
// stand anywhere, padding is optional, but nothing may follow it.
type base64Text struct {
	r      io.Reader
	padded bool
}

func (b *base64Text) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		out := 0
		for _, c := range p[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
			case '=':
				b.padded = true
			default:
				if b.padded {
					return 0, errors.New("data after the padding")
				}
				p[out] = c
				out++
			}
		}
		if out > 0 || err != nil {
			return out, err
		}
	}
}

// base64Reader names the error of a base64 decoder.
type base64Reader struct {
	r     io.Reader
	where string
}

func (b *base64Reader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %s: base64: %v", ErrMalformed, b.where, err)
	}
	return n, err
}

// qpReader names the error of a quoted-printable decoder.
type qpReader struct {
	r     io.Reader
	where string
}

func (q *qpReader) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %s: quoted-printable: %v", ErrMalformed, q.where, err)
	}
	return n, err
}
