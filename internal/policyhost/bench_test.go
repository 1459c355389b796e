package policyhost

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchServer measures requests for the policy of example.com through a
// real net/http server over loopback, one keep-alive connection.
func benchServer(b *testing.B, h http.Handler, wantBody int) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	req, err := http.NewRequest("GET", srv.URL+WellKnownPath, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Host = policyHost
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || int(n) != wantBody {
			b.Fatalf("status %d, %d bytes, %v", res.StatusCode, n, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkHandler is the policy Handler behind net/http.
func BenchmarkHandler(b *testing.B) {
	h, cfg := newTestHandler(b)
	text, _ := policyOf(b, cfg, "example.com")
	benchServer(b, h, len(text))
}

// BenchmarkBareHandler is the baseline for BenchmarkHandler: a handler
// writing the same body as a constant, nothing else.
func BenchmarkBareHandler(b *testing.B) {
	text, _ := policyOf(b, testConfig(b), "example.com")
	body := []byte(text)
	benchServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}), len(body))
}

// benchServeHTTP measures h.ServeHTTP alone, without a server.
func benchServeHTTP(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", WellKnownPath, nil)
	req.Host = "MTA-STS.example.com:443"
	w := &nopWriter{h: make(http.Header, 8)}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	if w.n == 0 {
		b.Fatal("no body written")
	}
}

// BenchmarkServeHTTP is the Handler alone: host normalisation, lookup,
// headers, body.
func BenchmarkServeHTTP(b *testing.B) {
	h, _ := newTestHandler(b)
	benchServeHTTP(b, h)
}

// BenchmarkServeHTTPBare is the baseline for BenchmarkServeHTTP.
func BenchmarkServeHTTPBare(b *testing.B) {
	text, _ := policyOf(b, testConfig(b), "example.com")
	body := []byte(text)
	benchServeHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
}
