package tlsrpt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// b64 returns base64 in lines of 76 characters, as in e-mail.
func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	out.WriteString(s + "\r\n")
	return out.String()
}

func qp(b []byte) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// crlf turns the test's line ends into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const mailHeader = "From: reporter@example.net\nTo: tlsrpt@example.com\nSubject: Report Domain: example.com\nMIME-Version: 1.0\n"

func multipartReport(parts ...string) string {
	s := mailHeader + "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"BB\"\n\n"
	for _, p := range parts {
		s += "--BB\n" + p + "\n"
	}
	return s + "--BB--\n"
}

const textPart = "Content-Type: text/plain; charset=us-ascii\n\nThis is an aggregate TLS report from example.net\n"

type extractCase struct {
	name string
	msg  []byte
	lim  Limits
	want []byte // nil: an error
	err  error
}

func extractCases(t testing.TB) []extractCase {
	report := []byte(baseReport)
	gz := gzipBytes(t, report)
	gzPart := "Content-Type: application/tlsrpt+gzip\nContent-Disposition: attachment; filename=\"r.json.gz\"\nContent-Transfer-Encoding: base64\n\n" + b64(gz)
	forwarded := multipartReport(textPart, gzPart)

	return []extractCase{
		{name: "multipart/report, gzip", msg: crlf(multipartReport(textPart, gzPart)), want: gz},
		{name: "LF line ends", msg: []byte(multipartReport(textPart, gzPart)), want: gz},
		{name: "tlsrpt+json, quoted-printable", msg: crlf(multipartReport(textPart,
			"Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(report))), want: crlf(baseReport)},
		{name: "upper case type, 8bit", msg: crlf(multipartReport(textPart,
			"Content-Type: Application/TLSRPT+JSON\nContent-Transfer-Encoding: 8bit\n\n"+baseReport)), want: []byte(strings.ReplaceAll(baseReport, "\n", "\r\n"))},
		{name: "plain application/tlsrpt", msg: crlf(multipartReport(
			"Content-Type: application/tlsrpt\nContent-Transfer-Encoding: base64\n\n" + b64(gz))), want: gz},
		{name: "octet-stream named .json.gz, nested multipart", msg: crlf(mailHeader + "Content-Type: multipart/mixed; boundary=outer\n\n--outer\n" + textPart +
			"\n--outer\nContent-Type: multipart/mixed; boundary=inner\n\n--inner\n" +
			"Content-Type: application/octet-stream; name=\"google.com!example.com!1!2.json.GZ\"\nContent-Transfer-Encoding: base64\n\n" + b64(gz) +
			"\n--inner--\n\n--outer--\n"), want: gz},
		{name: "application/gzip named .gz in disposition", msg: crlf(multipartReport(
			"Content-Type: application/gzip\nContent-Disposition: attachment;\n\tfilename=\"report.gz\"\nContent-Transfer-Encoding: base64\n\n" + b64(gz))), want: gz},
		{name: "application/json named .json", msg: crlf(multipartReport(
			"Content-Type: application/json; name=r.json\n\n" + baseReport)), want: []byte(strings.ReplaceAll(baseReport, "\n", "\r\n"))},
		{name: "tlsrpt type wins over a named part before it", msg: crlf(multipartReport(
			"Content-Type: application/octet-stream; name=other.json\n\n{}",
			gzPart)), want: gz},
		{name: "named part when no tlsrpt type", msg: crlf(multipartReport(textPart,
			"Content-Type: application/octet-stream; name=r.json\n\n{\"a\":1}")), want: []byte(`{"a":1}`)},
		{name: "whole body base64", msg: crlf(mailHeader + "Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n" + b64(gz)), want: gz},
		{name: "whole body JSON, no MIME", msg: crlf(mailHeader + "\n" + baseReport), want: []byte(strings.ReplaceAll(baseReport, "\n", "\r\n"))},
		{name: "base64 without padding, with spaces", msg: crlf(mailHeader + "Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: base64\n\n" +
			strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(`{"a":"b"}`)), "=") + " \n"), want: []byte(`{"a":"b"}`)},
		{name: "forwarded as message/rfc822", msg: crlf(mailHeader + "Content-Type: multipart/mixed; boundary=fw\n\n--fw\n" + textPart +
			"\n--fw\nContent-Type: message/rfc822\n\n" + forwarded + "\n--fw--\n"), want: gz},

		// Shapes found by their name or content (issue 17): each failed
		// before, as ErrNotReport or ErrMalformed.
		{name: "text/plain named .json", msg: crlf(multipartReport(textPart,
			"Content-Type: text/plain; charset=us-ascii; name=\"r.json\"\n\n"+baseReport)), want: crlf(baseReport)},
		{name: "no Content-Type, named .json.gz in disposition", msg: crlf(multipartReport(textPart,
			"Content-Disposition: attachment; filename=\"google.com!example.com!1!2!001.json.gz\"\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "unknown type named .gz", msg: crlf(multipartReport(textPart,
			"Content-Type: application/x-gzip-compressed; name=report.gz\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "application/gzip without a name", msg: crlf(multipartReport(textPart,
			"Content-Type: application/gzip\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "octet-stream without a name, gzip", msg: crlf(multipartReport(textPart,
			"Content-Type: application/octet-stream\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "tlsrpt+gzip, base64 without Content-Transfer-Encoding", msg: crlf(multipartReport(textPart,
			"Content-Type: application/tlsrpt+gzip\n\n"+b64(gz))), want: gz},
		{name: "tlsrpt+json, base64 without Content-Transfer-Encoding", msg: crlf(multipartReport(textPart,
			"Content-Type: application/tlsrpt+json\n\n"+b64(report))), want: report},
		{name: "RFC 2047 encoded name", msg: crlf(multipartReport(textPart,
			"Content-Type: application/octet-stream; name=\"=?UTF-8?Q?google.com!example.com!1!2.json.gz?=\"\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "RFC 2231 encoded filename", msg: crlf(multipartReport(textPart,
			"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''google.com%21example.com%211%212.json.gz\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "unquoted filename with spaces", msg: crlf(multipartReport(textPart,
			"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=TLS report example.com.json.gz\nContent-Transfer-Encoding: base64\n\n"+b64(gz))), want: gz},
		{name: "named part wins over a sniffed one before it", msg: crlf(multipartReport(
			"Content-Type: application/gzip\nContent-Transfer-Encoding: base64\n\n"+b64(gzipBytes(t, []byte(`{"other":1}`))),
			"Content-Type: text/plain; name=r.json\n\n"+baseReport)), want: crlf(baseReport)},
		{name: "forwarded as message/global", msg: crlf(mailHeader + "Content-Type: multipart/mixed; boundary=fw\n\n--fw\n" + textPart +
			"\n--fw\nContent-Type: message/global\n\n" + forwarded + "\n--fw--\n"), want: gz},
		{name: "whole message is an attached message", msg: crlf(mailHeader + "Content-Type: message/rfc822\n\n" + forwarded), want: gz},
		{name: "zip attachment", msg: crlf(multipartReport(textPart,
			"Content-Type: application/zip; name=\"google.com!example.com!1!2.json.zip\"\nContent-Transfer-Encoding: base64\n\nUEsDBAo=\n")), err: ErrNotReport},
		{name: "text part of padding is no report", msg: crlf(multipartReport(textPart, "Content-Type: text/plain\n\nevery day\n")), err: ErrNotReport},

		{name: "saved from an mbox file", msg: crlf("From tlsrpt@sender.example Sat Mar  2 03:00:00 2024\n" + multipartReport(textPart, gzPart)), want: gz},
		{name: "no attachment", msg: crlf(multipartReport(textPart, textPart)), err: ErrNotReport},
		{name: "text body", msg: crlf(mailHeader + "\nHello, no report here.\n"), err: ErrNotReport},
		{name: "unnamed octet-stream, JSON", msg: crlf(multipartReport("Content-Type: application/octet-stream\n\n{}")), want: []byte("{}")},
		{name: "unnamed octet-stream, not a report", msg: crlf(multipartReport("Content-Type: application/octet-stream\n\n%PDF-1.4")), err: ErrNotReport},
		{name: "empty attachment", msg: crlf(multipartReport("Content-Type: application/tlsrpt+gzip\n\n")), err: ErrNotReport},
		{name: "bad base64", msg: crlf(multipartReport("Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\nH4sI*AAA\n")), err: ErrMalformed},
		{name: "unknown transfer encoding", msg: crlf(multipartReport("Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: x-uuencode\n\nxx\n")), err: ErrMalformed},
		{name: "multipart without boundary", msg: crlf(mailHeader + "Content-Type: multipart/report\n\n--x\n"), err: ErrMalformed},
		{name: "unterminated multipart", msg: crlf(mailHeader + "Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: text/plain\n\nabc"), err: ErrMalformed},
		{name: "not an e-mail", msg: []byte(baseReport), err: ErrMalformed},
		{name: "nested too deep", msg: crlf(mailHeader + "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" +
			"Content-Type: multipart/mixed; boundary=c\n\n--c\n" + gzPart + "\n--c--\n\n--b--\n\n--a--\n"), lim: Limits{MaxDepth: 2}, err: ErrTooDeep},
		{name: "nested just deep enough", msg: crlf(mailHeader + "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" +
			"Content-Type: multipart/mixed; boundary=c\n\n--c\n" + gzPart + "\n--c--\n\n--b--\n\n--a--\n"), lim: Limits{MaxDepth: 3}, want: gz},
		{name: "message too large", msg: crlf(multipartReport(textPart+strings.Repeat("padding\n", 1<<17), gzPart)), lim: Limits{MaxDecompressed: 100}, err: ErrTooLarge},
		{name: "message large, limit large", msg: crlf(multipartReport(textPart+strings.Repeat("padding\n", 1<<17), gzPart)), want: gz},
		{name: "gzip attachment too large", msg: crlf(multipartReport(textPart, gzPart)), lim: Limits{MaxCompressed: int64(len(gz)) - 1}, err: ErrTooLarge},
		{name: "gzip attachment at limit", msg: crlf(multipartReport(textPart, gzPart)), lim: Limits{MaxCompressed: int64(len(gz))}, want: gz},
		{name: "too many parts", msg: crlf(multipartReport(strings.Split(strings.Repeat(textPart+"\x00", 1001), "\x00")[:1001]...)), err: ErrTooMany},
	}
}

func TestExtractFromMessage(t *testing.T) {
	for _, tt := range extractCases(t) {
		got, err := ExtractFromMessage(tt.msg, tt.lim)
		if tt.want == nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: %v (%d bytes), want %v", tt.name, err, len(got), tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestExtractFromMessageSamples(t *testing.T) {
	tests := []struct{ file, id, domain string }{
		{"google-2024-09.eml", "2024-09-03T00:00:00Z_cardinalhealth.ca", "cardinalhealth.ca"},
		{"microsoft-2023.eml", "133198585438131172+test.xmox.nl", "test.xmox.nl"},
		{"google-2022-09.eml", "2022-09-15T00:00:00Z_test.xmox.nl", "test.xmox.nl"},
	}
	for _, tt := range tests {
		msg, err := os.ReadFile(filepath.Join(samplesDir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ExtractFromMessage(msg, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !isGzip(b) {
			t.Errorf("%s: extracted %q, want the gzip attachment", tt.file, b[:min(len(b), 20)])
		}
		r, err := ParseReport(b, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if r.ReportID != tt.id || len(r.Domains()) != 1 || r.Domains()[0] != tt.domain {
			t.Errorf("%s: report-id %q, domains %q; want %q, %q", tt.file, r.ReportID, r.Domains(), tt.id, tt.domain)
		}
	}
}
