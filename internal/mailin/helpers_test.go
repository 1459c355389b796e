package mailin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/dnsresolve"
)

// Real reports and report e-mails from senders (read-only, beside the repo).
const (
	samples      = "../../testdata/tlsrpt/"
	googleJSON   = samples + "google-2024-02.json" // about example.com
	googleEML    = samples + "google-2024-09.eml"  // about cardinalhealth.ca, signed by google.com (expired)
	microsoftEML = samples + "microsoft-2023.eml"  // about test.xmox.nl, signed by microsoft.com
	mox2022EML   = samples + "google-2022-09.eml"  // about test.xmox.nl, signed by google.com (mox's example)
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// reportMessage is a report e-mail as RFC 8460 §5.3 describes it: a
// multipart/report with the gzip report attached, CRLF line ends. headers
// are added to (and replace) the defaults; a value "" removes the field.
func reportMessage(t testing.TB, report []byte, headers map[string]string) []byte {
	t.Helper()
	h := map[string]string{
		"From":                 "noreply-smtp-tls-reporting@google.com",
		"To":                   "tlsrpt@reports.example.com",
		"Subject":              "Report Domain: example.com Submitter: google.com Report-ID: <2024.02.17T00.00.00Z+example.com@google.com>",
		"Date":                 "Sun, 18 Feb 2024 03:00:00 +0000",
		"Message-ID":           "<test-1@google.com>",
		"TLS-Report-Domain":    "example.com",
		"TLS-Report-Submitter": "google.com",
		"MIME-Version":         "1.0",
		"Content-Type":         `multipart/report; report-type="tlsrpt"; boundary="b1"`,
	}
	for k, v := range headers {
		h[k] = v
	}
	var b strings.Builder
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-ID", "TLS-Report-Domain",
		"TLS-Report-Submitter", "MIME-Version", "Content-Type"} {
		if h[k] != "" {
			b.WriteString(k + ": " + h[k] + "\r\n")
		}
	}
	b.WriteString("\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nThis is an aggregate TLS report.\r\n")
	b.WriteString("--b1\r\nContent-Type: application/tlsrpt+gzip\r\n" +
		"Content-Disposition: attachment; filename=\"google.com!example.com!1708128000!1708214399!001.json.gz\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(gzipped(t, report))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return []byte(b.String())
}

// signer is a DKIM key of a test domain, published in a loopback DNS.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

// newSigner makes a key ("rsa" or "ed25519") and publishes its record at
// selector._domainkey.domain with the given tags (such as "s=tlsrpt"),
// when dns is not nil.
func newSigner(t testing.TB, dns *checktest.DNS, kind, domain, selector, tags string) signer {
	t.Helper()
	s := signer{domain: domain, selector: selector}
	var pub []byte
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		s.key = k
		if pub, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
			t.Fatal(err)
		}
	case "ed25519":
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.key, pub = k, p
		tags = "k=ed25519; " + tags
	default:
		t.Fatalf("key kind %q", kind)
	}
	if dns != nil {
		dns.Add(txtRecord(selector+"._domainkey."+domain+".", "v=DKIM1; "+tags+"; p="+base64.StdEncoding.EncodeToString(pub)))
	}
	return s
}

// txtRecord is a TXT record in zone-file syntax, its text split into
// strings of at most 255 bytes (RFC 1035 §3.3.14).
func txtRecord(name, text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, strconv.Quote(text[:255]))
		text = text[255:]
	}
	parts = append(parts, strconv.Quote(text))
	return fmt.Sprintf("%s 300 IN TXT %s", name, strings.Join(parts, " "))
}

// sign returns msg with a DKIM-Signature of s prepended (relaxed/relaxed,
// over the fields senders sign).
func (s signer) sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: s.domain, Selector: s.selector, Signer: s.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "TLS-Report-Domain",
			"TLS-Report-Submitter", "MIME-Version", "Content-Type"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// lookupFunc is a dnsresolve.Resolver answering with a function.
type lookupFunc func(ctx context.Context, name string) (dnsresolve.TXT, error)

func (f lookupFunc) LookupTXT(ctx context.Context, name string) (dnsresolve.TXT, error) {
	return f(ctx, name)
}

// lookupOf returns the resolver of a loopback DNS server.
func lookupOf(t testing.TB, dns *checktest.DNS) dnsresolve.Resolver {
	t.Helper()
	l, err := dnsresolve.NewStd(dns.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
