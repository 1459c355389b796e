package policyhost

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/mtasts"
)

// Errors of fetchPolicy, one per rule a sender applies.
var (
	errRedirect  = errors.New("redirect")
	errStatus    = errors.New("status is not 200")
	errMediaType = errors.New("media type is not text/plain")
	errTooLarge  = errors.New("policy too large")
)

// fetchPolicy fetches and parses domain's policy as an RFC 8461 sender
// does: HTTPS to mta-sts.<domain> with a certificate valid for that name
// (§3.3), no redirect followed (§3.3: "MUST NOT follow HTTP redirects"),
// only a 200 accepted, media type text/plain (§3.2), the body bounded
// (§3.3: senders may limit it to 64 KiB), a timeout.
func fetchPolicy(ctx context.Context, client *http.Client, domain string) (mtasts.Policy, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://mta-sts."+domain+WellKnownPath, nil)
	if err != nil {
		return mtasts.Policy{}, err
	}
	res, err := client.Do(req)
	if err != nil {
		return mtasts.Policy{}, err
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return mtasts.Policy{}, fmt.Errorf("%w: %d to %q", errRedirect, res.StatusCode, res.Header.Get("Location"))
	case res.StatusCode != http.StatusOK:
		return mtasts.Policy{}, fmt.Errorf("%w: %d", errStatus, res.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return mtasts.Policy{}, fmt.Errorf("%w: %q", errMediaType, res.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, mtasts.MaxPolicySize+1))
	if err != nil {
		return mtasts.Policy{}, err
	}
	if len(body) > mtasts.MaxPolicySize {
		return mtasts.Policy{}, errTooLarge
	}
	return mtasts.ParsePolicy(body)
}

// senderClient returns a client that trusts only root, follows no
// redirect, and connects to addr whatever host name a URL has (the test's
// DNS).
func senderClient(root *x509.CertPool, addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: root, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// selfSigned returns a certificate for names and a pool trusting it.
func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// startTLS serves h over HTTPS (HTTP/2 and HTTP/1.1) with cert.
func startTLS(t *testing.T, h http.Handler, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the client fails on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestSenderFetch fetches every configured policy the way a sender does and
// checks it parses back to the configured policy.
func TestSenderFetch(t *testing.T) {
	h, cfg := newTestHandler(t)
	cert, root := selfSigned(t, h.Hosts()...)
	srv := startTLS(t, h, cert)
	client := senderClient(root, srv.Listener.Addr().String())
	for _, d := range cfg.Domains {
		t.Run(d.Name, func(t *testing.T) {
			got, err := fetchPolicy(t.Context(), client, d.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, d.Policy) {
				t.Errorf("fetched policy %+v, configured %+v", got, d.Policy)
			}
			if got.String() != d.PolicyText() {
				t.Errorf("fetched policy renders as %q, configured %q", got.String(), d.PolicyText())
			}
		})
	}
	t.Run("unconfigured domain", func(t *testing.T) {
		cert, root := selfSigned(t, "mta-sts.other.example")
		srv := startTLS(t, h, cert)
		_, err := fetchPolicy(t.Context(), senderClient(root, srv.Listener.Addr().String()), "other.example")
		if !errors.Is(err, errStatus) {
			t.Errorf("fetch of an unconfigured domain: %v, want %v", err, errStatus)
		}
	})
}

// TestSenderFetchRules shows that fetchPolicy applies each rule, so that
// TestSenderFetch passing means the handler satisfies them.
func TestSenderFetchRules(t *testing.T) {
	policy := "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n"
	tests := []struct {
		name string
		h    http.HandlerFunc
		want error // nil: the fetch succeeds
	}{
		{"valid", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, policy)
		}, nil},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://mta-sts.example.com/other.txt", http.StatusFound)
		}, errRedirect},
		{"html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, policy)
		}, errMediaType},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, errStatus},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, policy+strings.Repeat("x: y\r\n", mtasts.MaxPolicySize/6+1))
		}, errTooLarge},
		{"not a policy", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello\n")
		}, mtasts.ErrPolicySyntax},
	}
	cert, root := selfSigned(t, "mta-sts.example.com")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTLS(t, tt.h, cert)
			_, err := fetchPolicy(t.Context(), senderClient(root, srv.Listener.Addr().String()), "example.com")
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("fetch: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("certificate for another name", func(t *testing.T) {
		other, root := selfSigned(t, "www.example.com")
		srv := startTLS(t, tests[0].h, other)
		var certErr *tls.CertificateVerificationError
		_, err := fetchPolicy(t.Context(), senderClient(root, srv.Listener.Addr().String()), "example.com")
		if !errors.As(err, &certErr) {
			t.Errorf("fetch with a certificate for another name: %v, want a verification error", err)
		}
	})
}
