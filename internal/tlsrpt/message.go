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

// maxMessageSize is the largest e-mail ExtractFromMessage reads: the base64
// form of the largest report (4/3 of it, plus line breaks) and room for
// headers.
func maxMessageSize(lim Limits) int64 {
	return lim.MaxDecompressed/2*3 + 1<<20
}

// ExtractFromMessage returns the report carried by an e-mail (RFC 8460
// §5.3): the first attachment of type application/tlsrpt+gzip,
// application/tlsrpt+json or application/tlsrpt; failing that, the first of
// type application/gzip, application/x-gzip, application/octet-stream or
// application/json whose file name ends in .json, .json.gz or .gz; failing
// that, for a message that is not multipart, its whole body if it starts like
// JSON or gzip. Multiparts (any subtype, not only multipart/report) and
// attached messages (message/rfc822) are searched to a depth of
// lim.MaxDepth. Base64 and quoted-printable transfer encodings are decoded.
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
	x := extractor{lim: lim}
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
	lim    Limits
	parts  int
	report []byte // first application/tlsrpt+* part
	named  []byte // first part recognised by its file name
	body   []byte // a non-multipart message body that looks like a report
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
		if depth >= x.lim.MaxDepth {
			return fmt.Errorf("%w: %s: MIME parts nested more than %d deep", ErrTooDeep, where, x.lim.MaxDepth)
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
				return fmt.Errorf("%w: %s part %d: %v", ErrMalformed, where, i, err)
			}
			if err := x.entity(p.Header, p, depth+1, where+" part "+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	case mt == "message/rfc822" && depth > 0:
		if depth >= x.lim.MaxDepth {
			return fmt.Errorf("%w: %s: messages nested more than %d deep", ErrTooDeep, where, x.lim.MaxDepth)
		}
		inner, err := decodeTransfer(h, body, x.lim, where)
		if err != nil {
			return err
		}
		m, err := mail.ReadMessage(bytes.NewReader(inner))
		if err != nil {
			return fmt.Errorf("%w: %s: attached message: %v", ErrMalformed, where, err)
		}
		return x.entity(textproto.MIMEHeader(m.Header), m.Body, depth+1, where+" (attached message)")
	}

	kind := classifyPart(mt, params, h)
	if kind == partOther && depth > 0 {
		return nil
	}
	data, err := decodeTransfer(h, body, x.lim, where)
	if err != nil {
		if kind == partOther {
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

// decodeTransfer reads a part's body, bounded, and undoes its
// Content-Transfer-Encoding (RFC 2045 §6).
func decodeTransfer(h textproto.MIMEHeader, body io.Reader, lim Limits, where string) ([]byte, error) {
	max := maxMessageSize(lim)
	raw, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, where, err)
	}
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("%w: %s: larger than %s", ErrTooLarge, where, sizeString(max))
	}
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "base64":
		b, err := decodeBase64(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: base64: %v", ErrMalformed, where, err)
		}
		return b, nil
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: quoted-printable: %v", ErrMalformed, where, err)
		}
		return b, nil
	case "", "7bit", "8bit", "binary":
		return raw, nil
	default:
		return nil, fmt.Errorf("%w: %s: unknown Content-Transfer-Encoding %q", ErrMalformed, where, cte)
	}
}

// decodeBase64 decodes base64 with line breaks and other white space
// anywhere, padding optional.
func decodeBase64(raw []byte) ([]byte, error) {
	clean := make([]byte, 0, len(raw))
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, c)
		}
	}
	clean = bytes.TrimRight(clean, "=")
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("invalid data at byte %d", int64(ce))
		}
		return nil, err
	}
	return out[:n], nil
}
