package mailin

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/store"
)

// shapeReport is a report of success sessions about domain ("" for a
// policy without policy-domain), dated before shapeNow.
func shapeReport(domain string, success int) []byte {
	pd := ""
	if domain != "" {
		pd = fmt.Sprintf(`,"policy-domain":%q`, domain)
	}
	return fmt.Appendf(nil, `{"organization-name":"Sender Example","date-range":{"start-datetime":"2024-03-01T00:00:00Z",`+
		`"end-datetime":"2024-03-01T23:59:59Z"},"contact-info":"tlsrpt@sender.example","report-id":"2024-03-01-%d",`+
		`"policies":[{"policy":{"policy-type":"no-policy-found"%s},"summary":{"total-successful-session-count":%d,`+
		`"total-failure-session-count":0}}]}`, success, pd, success)
}

var shapeNow = time.Date(2024, 3, 3, 12, 0, 0, 0, time.UTC)

// lines76 is base64 of b in lines of 76 characters.
func lines76(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return out.String() + s + "\n"
}

func qpEncode(b []byte) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// shapeHeader is the header of a report e-mail with the given subject and
// Content-Type (none when ct is "").
func shapeHeader(subject, ct string) string {
	h := "From: tlsrpt@sender.example\nTo: tlsrpt@reports.example.com\nDate: Sat, 02 Mar 2024 03:00:00 +0000\n" +
		"Message-ID: <shape@sender.example>\nSubject: " + subject + "\nMIME-Version: 1.0\n"
	if ct != "" {
		h += "Content-Type: " + ct + "\n"
	}
	return h
}

const shapeSubject = "Report Domain: example.com Submitter: sender.example Report-ID: <2024-03-01@sender.example>"

// shapeMultipart is a multipart/report of a text part and the given
// attachment part (its header lines, a blank line, its body).
func shapeMultipart(part string) string {
	return shapeHeader(shapeSubject, `multipart/report; report-type="tlsrpt"; boundary="B"`) +
		"\n--B\nContent-Type: text/plain; charset=UTF-8\n\nThis is an aggregate TLS report from sender.example\n\n--B\n" +
		part + "\n--B--\n"
}

// TestShapes is the conformance table of the report e-mails ststack
// accepts (docs/reports.md, "Report e-mails"): each shape that real senders
// use, or that a sender's or a forwarder's mistake produces while the report
// stays clear, is stored with its counts. The cases marked "issue 17" were
// not stored before it.
func TestShapes(t *testing.T) {
	rep := func(n int) []byte { return shapeReport("example.com", n) }
	gz := func(n int) []byte { return gzipped(t, rep(n)) }
	attached := func(n int) string {
		return shapeMultipart("Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(n)))
	}
	cases := []struct {
		name    string
		msg     string
		lf      bool // keep LF line ends (else CRLF)
		want    Kind
		domain  string // the domain stored
		success int64
		reason  string // for other kinds: in Outcome.Reason
	}{
		// RFC 8460 §5.3 and the big senders.
		{name: "RFC 8460 §5.3 (Google): multipart/report, tlsrpt+gzip, base64, named", msg: shapeMultipart(
			"Content-Type: application/tlsrpt+gzip;\n\tname=\"sender.example!example.com!1709251200!1709337599!001.json.gz\"\n" +
				"Content-Disposition: attachment;\n\tfilename=\"sender.example!example.com!1709251200!1709337599!001.json.gz\"\n" +
				"Content-Transfer-Encoding: base64\n\n" + lines76(gz(1))), want: KindStored, domain: "example.com", success: 1},
		{name: "Microsoft: folded subject, Report-ID without brackets, boundary first", msg: shapeHeader(
			"Report Domain: example.com Submitter: microsoft.com Report-ID:\n 133561180919336230+example.com",
			"multipart/report;\n\tboundary=\"_b1f0_\"; report-type=tlsrpt") +
			"\n--_b1f0_\nContent-Type: text/plain; charset=\"us-ascii\"\n\nThis is an aggregate TLS report from microsoft.com\n" +
			"\n--_b1f0_\nContent-Type: application/tlsrpt+gzip\nContent-Disposition: attachment;\n\tfilename=\"microsoft.com!example.com!1709251200!1709337599!133561180919336230.json.gz\"\n" +
			"Content-Transfer-Encoding: base64\n\n" + lines76(gz(2)) + "\n--_b1f0_--\n", want: KindStored, domain: "example.com", success: 2},
		{name: "Postfix (sys4 tlsrpt-reporter): Python's multipart, a MIME-Version in the part", msg: shapeHeader(shapeSubject,
			"multipart/report; report-type=tlsrpt; boundary=\"===============1234567890==\"") + "TLS-Report-Domain: example.com\n" +
			"TLS-Report-Submitter: sender.example\nTLS-Required: No\n\n--===============1234567890==\nContent-Type: text/plain; charset=\"us-ascii\"\n" +
			"Content-Transfer-Encoding: 7bit\n\nThis is an aggregate TLS report from Sender\n\n--===============1234567890==\n" +
			"Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n" +
			" filename=\"sender.example!example.com!1709251200!1709337599!1.json.gz\"\nMIME-Version: 1.0\n\n" + lines76(gz(3)) +
			"\n--===============1234567890==--\n", want: KindStored, domain: "example.com", success: 3},

		// Content types.
		{name: "tlsrpt+json, quoted-printable", msg: shapeMultipart("Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: quoted-printable\n\n" + qpEncode(rep(4))),
			want: KindStored, domain: "example.com", success: 4},
		{name: "tlsrpt+json, 7bit", msg: shapeMultipart("Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: 7bit\n\n" + string(rep(5))),
			want: KindStored, domain: "example.com", success: 5},
		{name: "tlsrpt+json, 8bit", msg: shapeMultipart("Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: 8bit\n\n" + string(rep(6))),
			want: KindStored, domain: "example.com", success: 6},
		{name: "tlsrpt+gzip, binary", msg: shapeMultipart("Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: binary\n\n" + string(gz(7))),
			lf: true, want: KindStored, domain: "example.com", success: 7},
		{name: "upper case type and encoding", msg: shapeMultipart("Content-Type: Application/TLSRPT+GZIP\nContent-Transfer-Encoding: BASE64\n\n" + lines76(gz(8))),
			want: KindStored, domain: "example.com", success: 8},
		{name: "application/gzip named .json.gz", msg: shapeMultipart("Content-Type: application/gzip\nContent-Disposition: attachment; filename=\"r.json.gz\"\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(9))),
			want: KindStored, domain: "example.com", success: 9},
		{name: "application/octet-stream named by name= (Amazon SES style)", msg: shapeMultipart("Content-Type: application/octet-stream;\n\tname=sender.example!example.com!1709251200!1709337599.json.gz\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(10))),
			want: KindStored, domain: "example.com", success: 10},
		{name: "application/json named .json", msg: shapeMultipart("Content-Type: application/json; name=\"r.json\"\n\n" + string(rep(11))),
			want: KindStored, domain: "example.com", success: 11},
		{name: "application/x-gzip named .gz", msg: shapeMultipart("Content-Type: application/x-gzip; name=\"r.gz\"\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(12))),
			want: KindStored, domain: "example.com", success: 12},
		{name: "issue 17: text/plain named .json", msg: shapeMultipart("Content-Type: text/plain; name=\"r.json\"\n\n" + string(rep(13))),
			want: KindStored, domain: "example.com", success: 13},
		{name: "issue 17: no Content-Type, named .json.gz", msg: shapeMultipart("Content-Disposition: attachment; filename=\"r.json.gz\"\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(14))),
			want: KindStored, domain: "example.com", success: 14},
		{name: "issue 17: an unknown type named .json.gz", msg: shapeMultipart("Content-Type: application/x-unknown; name=\"r.json.gz\"\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(15))),
			want: KindStored, domain: "example.com", success: 15},
		{name: "issue 17: application/gzip without a name", msg: shapeMultipart("Content-Type: application/gzip\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(16))),
			want: KindStored, domain: "example.com", success: 16},
		{name: "issue 17: application/octet-stream without a name", msg: shapeMultipart("Content-Type: application/octet-stream\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(17))),
			want: KindStored, domain: "example.com", success: 17},
		{name: "issue 17: base64 without Content-Transfer-Encoding", msg: shapeMultipart("Content-Type: application/tlsrpt+gzip\n\n" + lines76(gz(18))),
			want: KindStored, domain: "example.com", success: 18},
		{name: "issue 17: RFC 2047 encoded name", msg: shapeMultipart("Content-Type: application/octet-stream; name=\"=?UTF-8?Q?sender.example!example.com!1!2.json.gz?=\"\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(19))),
			want: KindStored, domain: "example.com", success: 19},
		{name: "RFC 2231 encoded filename", msg: shapeMultipart("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''sender.example%21example.com%211%212.json.gz\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(20))),
			want: KindStored, domain: "example.com", success: 20},
		{name: "issue 17: unquoted filename with spaces", msg: shapeMultipart("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=TLS report example.com.json.gz\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(21))),
			want: KindStored, domain: "example.com", success: 21},

		// Nesting and forwarding.
		{name: "multipart/mixed inside multipart/mixed", msg: shapeHeader(shapeSubject, "multipart/mixed; boundary=O") +
			"\n--O\nContent-Type: text/plain\n\nSee the attachment.\n\n--O\nContent-Type: multipart/mixed; boundary=I\n\n--I\n" +
			"Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n" + lines76(gz(22)) + "\n--I--\n\n--O--\n",
			want: KindStored, domain: "example.com", success: 22},
		{name: "forwarded as message/rfc822", msg: shapeHeader("Fwd: "+shapeSubject, "multipart/mixed; boundary=F") +
			"\n--F\nContent-Type: text/plain\n\nForwarded.\n\n--F\nContent-Type: message/rfc822\n\n" + attached(23) + "\n--F--\n",
			want: KindStored, domain: "example.com", success: 23},
		{name: "forwarded as message/rfc822, base64", msg: shapeHeader("Fwd: "+shapeSubject, "multipart/mixed; boundary=F") +
			"\n--F\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + lines76([]byte(strings.ReplaceAll(attached(24), "\n", "\r\n"))) + "\n--F--\n",
			want: KindStored, domain: "example.com", success: 24},
		{name: "issue 17: forwarded as message/global", msg: shapeHeader("Fwd: "+shapeSubject, "multipart/mixed; boundary=F") +
			"\n--F\nContent-Type: message/global\n\n" + attached(25) + "\n--F--\n",
			want: KindStored, domain: "example.com", success: 25},
		{name: "whole body JSON, no MIME", msg: shapeHeader(shapeSubject, "") + "\n" + string(rep(26)), want: KindStored, domain: "example.com", success: 26},
		{name: "whole message tlsrpt+gzip, base64", msg: shapeHeader(shapeSubject, "application/tlsrpt+gzip") + "Content-Transfer-Encoding: base64\n\n" + lines76(gz(27)),
			want: KindStored, domain: "example.com", success: 27},
		{name: "LF line ends", msg: attached(28), lf: true, want: KindStored, domain: "example.com", success: 28},
		{name: "saved from an mbox file (a From separator line first)", msg: "From tlsrpt@sender.example Sat Mar  2 03:00:00 2024\n" + attached(33),
			want: KindStored, domain: "example.com", success: 33},

		// Subject forms: a policy without policy-domain attributed by the
		// e-mail, example.com and example.org both served.
		{name: "issue 17: Report Domain counts, the Submitter does not", msg: strings.Replace(shapeMultipart(
			"Content-Type: application/tlsrpt+json\n\n"+string(shapeReport("", 29))), shapeSubject,
			"Report Domain: example.org Submitter: example.com Report-ID: <29@example.com>", 1),
			want: KindStored, domain: "example.org", success: 29},
		{name: "issue 17: TLS-Report-Domain header, subject of no RFC form (Stalwart's default)", msg: strings.Replace(shapeMultipart(
			"Content-Type: application/tlsrpt+json\n\n"+string(shapeReport("", 30))), "Subject: "+shapeSubject,
			"Subject: TLS Aggregate Report\nTLS-Report-Domain: example.org", 1),
			want: KindStored, domain: "example.org", success: 30},
		{name: "issue 17: Mail.ru: subject \"Report\", the domain in TLS-Report-Domain", msg: strings.Replace(shapeMultipart(
			"Content-Type: application/tlsrpt+gzip;\n name=\"mail.ru!example.org!1709251200!1709337600!001.json.gz\"\nContent-Transfer-Encoding: base64\n"+
				"Content-Disposition: attachment;\n filename=\"mail.ru!example.org!1709251200!1709337600!001.json.gz\"\n\n"+
				lines76(gzipped(t, shapeReport("", 32)))), "Subject: "+shapeSubject,
			"Subject: Report\nTLS-Report-Domain: example.org\nTLS-Report-Submitter: mail.ru", 1),
			want: KindStored, domain: "example.org", success: 32},
		{name: "RFC 2047 encoded subject", msg: strings.Replace(shapeMultipart(
			"Content-Type: application/tlsrpt+json\n\n"+string(shapeReport("", 31))), shapeSubject,
			"=?UTF-8?Q?Report_Domain:_example.org_Submitter:_sender.example?=", 1),
			want: KindStored, domain: "example.org", success: 31},

		// Not stored, with a reason.
		{name: "issue 17: zip attachment, not read, and said so", msg: shapeMultipart("Content-Type: application/zip; name=\"r.json.zip\"\nContent-Transfer-Encoding: base64\n\nUEsDBBQAAAAIAA==\n"),
			want: KindNotReport, reason: "zip archive"},
		{name: "a reply without attachment", msg: shapeHeader("Re: "+shapeSubject, "text/plain") + "\nThanks!\n", want: KindNotReport, reason: "no TLS report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			p := newProcessor(t, st, checktest.NewDNS(t), Options{Domains: []string{"example.com", "example.org"},
				Now: func() time.Time { return shapeNow }})
			msg := []byte(c.msg)
			if !c.lf {
				msg = []byte(strings.ReplaceAll(c.msg, "\n", "\r\n"))
			}
			out, err := p.Process(context.Background(), msg)
			if err != nil || out.Kind != c.want {
				t.Fatalf("Process = %+v, %v; want %s", out, err, c.want)
			}
			if c.want != KindStored {
				if !strings.Contains(out.Reason, c.reason) {
					t.Errorf("reason %q, want it to contain %q", out.Reason, c.reason)
				}
				return
			}
			rec, err := st.Report(context.Background(), out.Key)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Domains) != 1 || rec.Domains[0] != c.domain || rec.Success != c.success {
				t.Errorf("stored for %v with %d sessions, want %s with %d", rec.Domains, rec.Success, c.domain, c.success)
			}
		})
	}
}

// TestShapeMboxSigned: a signed report e-mail saved from an mbox file
// (RFC 4155: a "From " separator line first) keeps its DKIM verdict: the
// header reader takes the line for a field of its own, which no signature
// names.
func TestShapeMboxSigned(t *testing.T) {
	d := checktest.NewDNS(t)
	google := newSigner(t, d, "ed25519", "google.com", "s1", "s=tlsrpt")
	p := newProcessor(t, openStore(t), d, Options{Domains: []string{"example.com"}})
	msg := google.sign(t, reportMessage(t, sample(t, googleJSON), nil))
	out, err := p.Process(context.Background(), append([]byte("From noreply-smtp-tls-reporting@google.com Sun Feb 18 03:00:00 2024\r\n"), msg...))
	if err != nil || out.Kind != KindStored || out.DKIM == nil || out.DKIM.Result != store.DKIMPass {
		t.Fatalf("Process = %+v (dkim %+v), %v; want stored, DKIM pass", out, out.DKIM, err)
	}
}
