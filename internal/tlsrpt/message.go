package tlsrpt

import (
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
// §5.3): the first attachment of type application/tlsrpt+gzip,
// application/tlsrpt+json or application/tlsrpt; failing that, the first of
// type application/gzip, application/x-gzip, application/octet-stream or
// application/json whose file name ends in .json, .json.gz or .gz; failing
// that, for a message that is not multipart, its whole body if it starts like
// JSON or gzip. Multiparts (any subtype, not only multipart/report) and
// attached messages (message/rfc822) are searched to a depth of
// MaxMIMEDepth (or lim.MaxDepth when lower), as streams: an attached
// message is not copied, and a part that is no report is skipped unread;
// all levels together decode at most maxDecoded bytes (twice the largest
// message read). Base64 and quoted-printable transfer encodings are decoded.
// The bytes are returned as found (gzip or JSON) for ParseReport; a gzip
// report larger than lim.MaxCompressed or a JSON report larger than
// lim.MaxDecompressed is ErrTooLarge. No report is ErrNotReport.
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
	case x.body != nil:
		found = x.body
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
	body     []byte // a non-multipart message body that looks like a report
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
	case mt == "message/rfc822" && depth > 0:
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

	kind := classifyPart(mt, params, h)
	if kind == partOther && depth > 0 {
		return nil
	}
	data, err := x.decode(h, body, where)
	if err != nil {
		if kind == partOther && x.overrun == nil {
			return nil // a body that is not a report after all
		}
		return err
	}
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
	default:
		// RFC 8460 §5.3 wants multipart/report, but a message whose
		// whole body is the report has a clear meaning.
		if trimmed := bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"); isGzip(data) || len(trimmed) > 0 && trimmed[0] == '{' {
			x.body = data
		}
	}
	return nil
}

type partKind int

const (
	partOther  partKind = iota
	partReport          // application/tlsrpt+gzip, +json
	partNamed           // generic type, report by file name
)

func classifyPart(mt string, params map[string]string, h textproto.MIMEHeader) partKind {
	switch mt {
	// RFC 8460 §5.3 and §6.4, 6.5: the media types of reports.
	case "application/tlsrpt+gzip", "application/tlsrpt+json", "application/tlsrpt":
		return partReport
	case "application/gzip", "application/x-gzip", "application/octet-stream", "application/json":
		name := params["name"]
		if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
			name = dp["filename"]
		}
		name = strings.ToLower(name)
		if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".gz") {
			return partNamed
		}
	}
	return partOther
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
