package checktest

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// HTTPS is a loopback HTTPS server for many host names on one port: each
// host has its own certificate (chosen by SNI) and handler (chosen by Host).
type HTTPS struct {
	// Port is the TCP port on 127.0.0.1; give it to the checker as its HTTPS
	// port and point the hosts' A records at 127.0.0.1.
	Port int

	mu    sync.RWMutex
	sites map[string]site
}

type site struct {
	cert    *tls.Certificate
	handler http.Handler
}

// NewHTTPS starts the server; it is stopped when the test ends.
func NewHTTPS(tb testing.TB) *HTTPS {
	tb.Helper()
	s := &HTTPS{sites: map[string]site{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("checktest: https: %v", err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{
		Handler: s,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.certificate,
		},
		// Handshakes the checker aborts (untrusted, expired …) are expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// Handle serves host with cert and h, replacing an earlier registration.
func (s *HTTPS) Handle(host string, cert tls.Certificate, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sites[strings.ToLower(host)] = site{cert: &cert, handler: h}
}

func (s *HTTPS) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.sites[strings.ToLower(hello.ServerName)]
	if !ok {
		return nil, errors.New("checktest: no certificate for " + strconv.Quote(hello.ServerName))
	}
	return st.cert, nil
}

// ServeHTTP dispatches on the Host header.
func (s *HTTPS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	s.mu.RLock()
	st, ok := s.sites[strings.ToLower(host)]
	s.mu.RUnlock()
	if !ok {
		http.Error(w, "unknown host", http.StatusMisdirectedRequest)
		return
	}
	st.handler.ServeHTTP(w, r)
}

// PolicyPath is where RFC 8461 §3.2 puts the policy.
const PolicyPath = "/.well-known/mta-sts.txt"

// Policy returns a handler that serves body as a policy should be served:
// 200, text/plain, at PolicyPath; everything else is 404.
func Policy(body string) http.Handler {
	return PolicyWith(http.StatusOK, "text/plain; charset=utf-8", body)
}

// PolicyWith serves body at PolicyPath with the given status and
// Content-Type; everything else is 404.
func PolicyWith(status int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PolicyPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// Redirect answers every request with a 301 to location.
func Redirect(location string) http.Handler {
	return http.RedirectHandler(location, http.StatusMovedPermanently)
}
