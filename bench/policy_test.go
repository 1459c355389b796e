package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/policyhost"
)

// orgFile returns an organisation file with n domains d000.example … whose
// policies are in enforce mode with two MX hosts each.
func orgFile(n int) string {
	var sb strings.Builder
	sb.WriteString("organization: Bench Org\nregion: eu-west-1\ndomains:\n")
	for i := range n {
		d := domainName(i)
		fmt.Fprintf(&sb, "  - name: %s\n    dns: {external: true}\n    policy: {mode: enforce, mx: [mx1.%s, mx2.%s]}\n", d, d, d)
	}
	sb.WriteString("reporting: {https: true, mailto: tlsrpt@reports.example}\n")
	return sb.String()
}

func domainName(i int) string { return fmt.Sprintf("d%03d.example", i) }

func domainNames(n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = domainName(i)
	}
	return l
}

func loadOrg(tb testing.TB, n int) *config.Config {
	tb.Helper()
	cfg, err := config.Parse([]byte(orgFile(n)), "bench.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// rawClient sends prepared HTTP/1.1 requests over one keep-alive
// connection and reads each response into a fixed buffer, finding its end
// from Content-Length: it allocates nothing, so allocations counted during
// a benchmark are the server's.
type rawClient struct {
	conn net.Conn
	buf  [16 << 10]byte
}

func dialRaw(tb testing.TB, url string) *rawClient {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn}
}

var (
	crlf2      = []byte("\r\n\r\n")
	clHeader   = []byte("\r\nContent-Length: ")
	errNoCL    = errors.New("response without Content-Length")
	errTooLong = errors.New("response larger than the buffer")
)

// do sends req and returns the response's status and body.
func (c *rawClient) do(req []byte) (int, []byte, error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, err
	}
	n, start, end := 0, 0, -1
	for end < 0 || n < end {
		if n == len(c.buf) {
			return 0, nil, errTooLong
		}
		m, err := c.conn.Read(c.buf[n:])
		n += m
		if err != nil && (end < 0 || n < end) {
			return 0, nil, err
		}
		if end < 0 {
			h := bytes.Index(c.buf[:n], crlf2)
			if h < 0 {
				continue
			}
			i := bytes.Index(c.buf[:h], clHeader)
			if i < 0 {
				return 0, nil, errNoCL
			}
			v := c.buf[i+len(clHeader) : h]
			if j := bytes.IndexByte(v, '\r'); j >= 0 {
				v = v[:j]
			}
			cl := 0
			for _, d := range v {
				cl = cl*10 + int(d-'0')
			}
			start = h + 4
			end = start + cl
		}
	}
	status := int(c.buf[9]-'0')*100 + int(c.buf[10]-'0')*10 + int(c.buf[11]-'0')
	return status, c.buf[start:end], nil
}

// policyServers starts, each behind its own net/http server on loopback:
// the policy handler for a 50-domain organisation, the bare baseline (a
// handler writing the policy as a constant body) and the bare baseline
// setting the same response headers as the policy handler, as constants.
// It returns their URLs in that order, the request all are sent (a
// sender's GET of d007.example's policy) and the policy body.
func policyServers(tb testing.TB) (urls []string, req, body []byte) {
	tb.Helper()
	cfg := loadOrg(tb, 50)
	h, err := policyhost.New(cfg, policyhost.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	d, _ := cfg.Domain(domainName(7))
	body = []byte(d.PolicyText())
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	})
	// What policyhost sets on a 200 (see its tests), as constants.
	hdr := map[string][]string{
		"Strict-Transport-Security": {"max-age=31536000"},
		"X-Content-Type-Options":    {"nosniff"},
		"Cache-Control":             {policyhost.CacheControl},
		"Etag":                      {`"` + d.Policy.ID() + `"`},
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Length":            {strconv.Itoa(len(body))},
	}
	headers := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		wh := w.Header()
		for k, v := range hdr {
			wh[k] = v
		}
		_, _ = w.Write(body)
	})
	for _, h := range []http.Handler{h, bare, headers} {
		s := httptest.NewServer(h)
		tb.Cleanup(s.Close)
		urls = append(urls, s.URL)
	}
	req = []byte("GET " + policyhost.WellKnownPath + " HTTP/1.1\r\nHost: " + d.PolicyHost() + "\r\nUser-Agent: bench\r\n\r\n")
	return urls, req, body
}

// allocsPerRequest counts the heap allocations of n requests.
func allocsPerRequest(tb testing.TB, c *rawClient, req []byte, n int) float64 {
	tb.Helper()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		if st, _, err := c.do(req); err != nil || st != 200 {
			tb.Fatalf("status %d, %v", st, err)
		}
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// BenchmarkPolicyHandler measures policyhost.Handler against the bare
// baseline, a net/http handler writing the same body as a constant, and
// against the bare handler setting the same headers (which tells what the
// headers cost in net/http from what the handler costs). Each runs behind
// its own net/http server on loopback. Every iteration sends one request
// to each, in rotating order, over one keep-alive connection each, timing
// each request: machine load affects all alike. Allocations per request
// (the server's: the client allocates nothing) are counted apart.
func BenchmarkPolicyHandler(b *testing.B) {
	urls, req, body := policyServers(b)
	names := []string{"ststack", "bare", "headers"}
	clients := make([]*rawClient, len(urls))
	allocs := make([]float64, len(urls))
	for i, u := range urls {
		clients[i] = dialRaw(b, u)
		st, got, err := clients[i].do(req)
		if err != nil || st != 200 || !bytes.Equal(got, body) {
			b.Fatalf("%s warm-up: %d %q %v", names[i], st, got, err)
		}
		allocs[i] = allocsPerRequest(b, clients[i], req, 2000)
	}
	spent := make([]time.Duration, len(urls))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		for k := range clients {
			j := (k + n) % len(clients)
			t0 := time.Now()
			st, _, err := clients[j].do(req)
			spent[j] += time.Since(t0)
			if err != nil || st != 200 {
				b.Fatalf("%s: %d %v", names[j], st, err)
			}
		}
	}
	for i, name := range names {
		b.ReportMetric(float64(b.N)/spent[i].Seconds(), name+"-req/s")
		b.ReportMetric(allocs[i], name+"-allocs/req")
	}
}

// BenchmarkPolicyServeHTTP is the handlers alone, without a server or
// connection: what the policy handler adds per request.
func BenchmarkPolicyServeHTTP(b *testing.B) {
	cfg := loadOrg(b, 50)
	h, err := policyhost.New(cfg, policyhost.Options{})
	if err != nil {
		b.Fatal(err)
	}
	d, _ := cfg.Domain(domainName(7))
	body := []byte(d.PolicyText())
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"ststack", h}, {"bare", bare}} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", policyhost.WellKnownPath, nil)
			r.Host = d.PolicyHost()
			w := &discardWriter{h: make(http.Header, 8)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps the header map and drops the
// body.
type discardWriter struct {
	h http.Header
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestPolicyBaseline: every server answers the benchmark's request with
// 200 and the same body, the raw client reads responses back to back, and
// the "headers" baseline sends the header fields the policy handler sends.
func TestPolicyBaseline(t *testing.T) {
	urls, req, body := policyServers(t)
	var headers []http.Header
	for _, u := range urls {
		c := dialRaw(t, u)
		for range 3 {
			st, got, err := c.do(req)
			if err != nil || st != 200 || !bytes.Equal(got, body) {
				t.Fatalf("%s: %d %q %v", u, st, got, err)
			}
		}
		// The raw client agrees with net/http's.
		r, _ := http.NewRequest("GET", u+policyhost.WellKnownPath, nil)
		r.Host = "mta-sts." + domainName(7)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, body) || res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("%s: %d %q", u, res.StatusCode, got)
		}
		res.Header.Del("Date")
		headers = append(headers, res.Header)
	}
	if fmt.Sprint(headers[0]) != fmt.Sprint(headers[2]) {
		t.Errorf("policy handler sends %v, the headers baseline %v", headers[0], headers[2])
	}
	if len(headers[1]) >= len(headers[0]) {
		t.Errorf("bare baseline sends %v: as many fields as the policy handler", headers[1])
	}
}
