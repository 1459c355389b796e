package policyhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/mtasts"
)

// testYAML is an organisation file with one domain per mode.
const testYAML = `organization: Test Org
region: eu-west-1
domains:
  - name: example.com
    dns: { external: true }
    policy: { mode: enforce, max_age: 604800, mx: [mx1.example.com, "*.mail.example.net"] }
  - name: example.org
    dns: { external: true }
    policy: { mode: testing, max_age: 86400, mx: [mx.example.org] }
  - name: retired.example
    dns: { external: true }
    policy: { mode: none, max_age: 86400 }
reporting:
  mailto: tlsrpt@example.com
`

func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(testYAML), "test.yaml")
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	return cfg
}

func newTestHandler(t testing.TB, opts ...Options) (*Handler, *config.Config) {
	t.Helper()
	cfg := testConfig(t)
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	h, err := New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h, cfg
}

// policyOf returns the configured policy text and ETag of domain.
func policyOf(t testing.TB, cfg *config.Config, domain string) (text, etag string) {
	t.Helper()
	d, ok := cfg.Domain(domain)
	if !ok {
		t.Fatalf("no domain %s in test config", domain)
	}
	return d.PolicyText(), `"` + d.STSRecord().ID + `"`
}

// checkCommon asserts what every response has, whatever its status.
func checkCommon(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	if loc := res.Header.Get("Location"); loc != "" {
		t.Errorf("Location %q: a policy host never redirects", loc)
	}
	if res.StatusCode >= 300 && res.StatusCode < 400 && res.StatusCode != http.StatusNotModified {
		t.Errorf("status %d: a policy host never redirects", res.StatusCode)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != hstsValue {
		t.Errorf("Strict-Transport-Security = %q, want %q", got, hstsValue)
	}
	if res.StatusCode != http.StatusNotModified {
		if got := res.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", got)
		}
	}
	if bytes.ContainsAny(body, "<>") {
		t.Errorf("body %q looks like markup", body)
	}
}

// serveCase is one request to the handler built from testYAML and what it
// must answer. The fuzz test starts from the same requests.
type serveCase struct {
	name   string
	method string
	host   string
	target string
	inm    string // If-None-Match, "" for none
	status int
	// domain whose policy (200) and ETag (200, 304) the response has; for
	// 404 and 405 the body is the fixed error text.
	domain string
}

const (
	policyHost = "mta-sts.example.com"
	// comETag and orgETag in serveCases stand for the ETags of
	// example.com and example.org, "{com-bare}" for the former without
	// quotes; etagReplacer puts them in.
	comETag = "{com}"
	orgETag = "{org}"
)

// etagReplacer replaces comETag and orgETag with the real ETags.
func etagReplacer(t testing.TB, cfg *config.Config) *strings.Replacer {
	_, com := policyOf(t, cfg, "example.com")
	_, org := policyOf(t, cfg, "example.org")
	return strings.NewReplacer(comETag, com, orgETag, org, "{com-bare}", strings.Trim(com, `"`))
}

var serveCases = []serveCase{
	// Served.
	{"get", "GET", policyHost, WellKnownPath, "", 200, "example.com"},
	{"head", "HEAD", policyHost, WellKnownPath, "", 200, "example.com"},
	{"host upper case", "GET", "MTA-STS.Example.COM", WellKnownPath, "", 200, "example.com"},
	{"host with port", "GET", "mta-sts.example.com:443", WellKnownPath, "", 200, "example.com"},
	{"host trailing dot", "GET", "mta-sts.example.com.", WellKnownPath, "", 200, "example.com"},
	{"host trailing dot and port", "GET", "Mta-Sts.Example.Com.:8443", WellKnownPath, "", 200, "example.com"},
	{"host empty port", "GET", "mta-sts.example.com:", WellKnownPath, "", 200, "example.com"},
	{"query on policy path", "GET", policyHost, WellKnownPath + "?v=1", "", 200, "example.com"},
	{"other domain", "GET", "mta-sts.example.org", WellKnownPath, "", 200, "example.org"},
	{"mode none", "GET", "mta-sts.retired.example", WellKnownPath, "", 200, "retired.example"},
	// Conditional GET (RFC 9110 §13.1.2).
	{"if-none-match same", "GET", policyHost, WellKnownPath, comETag, 304, "example.com"},
	{"if-none-match weak", "GET", policyHost, WellKnownPath, "W/" + comETag, 304, "example.com"},
	{"if-none-match list", "GET", policyHost, WellKnownPath, `"x",, ` + comETag, 304, "example.com"},
	{"if-none-match star", "GET", policyHost, WellKnownPath, "*", 304, "example.com"},
	{"if-none-match head", "HEAD", policyHost, WellKnownPath, comETag, 304, "example.com"},
	{"if-none-match other policy", "GET", policyHost, WellKnownPath, orgETag, 200, "example.com"},
	{"if-none-match unquoted", "GET", policyHost, WellKnownPath, "{com-bare}", 200, "example.com"},
	{"if-none-match after garbage", "GET", policyHost, WellKnownPath, `x, ` + comETag, 200, "example.com"},
	{"if-none-match star in list", "GET", policyHost, WellKnownPath, `*x`, 200, "example.com"},
	// Not served: host.
	{"unknown host", "GET", "mta-sts.unknown.example", WellKnownPath, "", 404, ""},
	{"bare domain", "GET", "example.com", WellKnownPath, "", 404, ""},
	{"no host", "GET", "", WellKnownPath, "", 404, ""},
	{"ipv6 literal", "GET", "[::1]:80", WellKnownPath, "", 404, ""},
	{"ipv4", "GET", "127.0.0.1", WellKnownPath, "", 404, ""},
	{"port not decimal", "GET", "mta-sts.example.com:https", WellKnownPath, "", 404, ""},
	{"two trailing dots", "GET", "mta-sts.example.com..", WellKnownPath, "", 404, ""},
	{"subdomain of policy host", "GET", "a.mta-sts.example.com", WellKnownPath, "", 404, ""},
	{"u-label", "GET", "mta-sts.exämple.com", WellKnownPath, "", 404, ""},
	// Not served: path.
	{"root", "GET", policyHost, "/", "", 404, ""},
	{"trailing slash", "GET", policyHost, WellKnownPath + "/", "", 404, ""},
	{"double slash", "GET", policyHost, "/" + WellKnownPath, "", 404, ""},
	{"inner double slash", "GET", policyHost, "/.well-known//mta-sts.txt", "", 404, ""},
	{"dot dot", "GET", policyHost, "/.well-known/../.well-known/mta-sts.txt", "", 404, ""},
	{"dot", "GET", policyHost, "/.well-known/./mta-sts.txt", "", 404, ""},
	{"encoded hyphen", "GET", policyHost, "/.well-known/mta%2Dsts.txt", "", 404, ""},
	{"encoded slash", "GET", policyHost, "/.well-known%2Fmta-sts.txt", "", 404, ""},
	{"encoded dot", "GET", policyHost, "/%2Ewell-known/mta-sts.txt", "", 404, ""},
	{"upper-case path", "GET", policyHost, "/.WELL-KNOWN/MTA-STS.TXT", "", 404, ""},
	{"other path with query", "GET", policyHost, "/index.html?url=" + WellKnownPath, "", 404, ""},
	{"other path head", "HEAD", policyHost, "/robots.txt", "", 404, ""},
	// Not served: method.
	{"post", "POST", policyHost, WellKnownPath, "", 405, ""},
	{"put", "PUT", policyHost, WellKnownPath, "", 405, ""},
	{"delete", "DELETE", policyHost, WellKnownPath, "", 405, ""},
	{"options", "OPTIONS", policyHost, WellKnownPath, "", 405, ""},
	{"post unknown host", "POST", "mta-sts.unknown.example", WellKnownPath, "", 404, ""},
}

func TestServeHTTP(t *testing.T) {
	h, cfg := newTestHandler(t)
	etags := etagReplacer(t, cfg)
	for _, tt := range serveCases {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			req.Host = tt.host
			if tt.inm != "" {
				req.Header.Set("If-None-Match", etags.Replace(tt.inm))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body := rec.Body.Bytes()
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tt.status, body)
			}
			checkCommon(t, res, body)
			var wantBody, wantETag string
			switch tt.status {
			case 200, 304:
				text, etag := policyOf(t, cfg, tt.domain)
				wantETag = etag
				if tt.status == 200 {
					wantBody = text
					if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(text)) {
						t.Errorf("Content-Length = %s, want %d", got, len(text))
					}
				}
				if got := res.Header.Get("Cache-Control"); got != CacheControl {
					t.Errorf("Cache-Control = %q, want %q", got, CacheControl)
				}
			case 404:
				wantBody = "not found\n"
			case 405:
				wantBody = "method not allowed\n"
			}
			if tt.status >= 400 {
				if got := res.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
			}
			if tt.method == "HEAD" {
				wantBody = ""
			}
			if string(body) != wantBody {
				t.Errorf("body = %q, want %q", body, wantBody)
			}
			if got := res.Header.Get("ETag"); got != wantETag {
				t.Errorf("ETag = %q, want %q", got, wantETag)
			}
			if got := res.Header.Get("Allow"); (tt.status == 405) != (got == "GET, HEAD") {
				t.Errorf("Allow = %q with status %d", got, tt.status)
			}
		})
	}
}

// TestServeHTTPOverTheWire checks what net/http makes of the handler's
// responses (Content-Length of HEAD, no body on 304, no added headers).
func TestServeHTTPOverTheWire(t *testing.T) {
	h, cfg := newTestHandler(t)
	text, etag := policyOf(t, cfg, "example.org")
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tests := []struct {
		method, host, inm string
		status            int
		length            int64
		body              string
	}{
		{"GET", "mta-sts.example.org", "", 200, int64(len(text)), text},
		{"HEAD", "mta-sts.example.org", "", 200, int64(len(text)), ""},
		{"GET", "mta-sts.example.org", etag, 304, 0, ""},
		{"GET", "mta-sts.nope.example", "", 404, int64(len("not found\n")), "not found\n"},
		{"HEAD", "mta-sts.nope.example", "", 404, int64(len("not found\n")), ""},
		{"DELETE", "mta-sts.example.org", "", 405, int64(len("method not allowed\n")), "method not allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.host+" "+tt.inm, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+WellKnownPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			if tt.inm != "" {
				req.Header.Set("If-None-Match", tt.inm)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(res.Body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || res.ContentLength != tt.length || buf.String() != tt.body {
				t.Errorf("got %d, length %d, body %q; want %d, %d, %q",
					res.StatusCode, res.ContentLength, buf.String(), tt.status, tt.length, tt.body)
			}
			checkCommon(t, res, buf.Bytes())
		})
	}
}

func TestHostHeader(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, cfg := newTestHandler(t, Options{HostHeader: "x-forwarded-host", Logger: log})
	text, _ := policyOf(t, cfg, "example.com")
	const lambdaHost = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
	tests := []struct {
		name      string
		host      string
		forwarded []string
		status    int
		warn      bool
	}{
		{"forwarded", lambdaHost, []string{"mta-sts.example.com"}, 200, false},
		{"forwarded mixed case and port", lambdaHost, []string{"MTA-STS.example.COM:443"}, 200, false},
		{"forwarded unknown", lambdaHost, []string{"mta-sts.other.example"}, 404, false},
		{"forwarded list", lambdaHost, []string{"mta-sts.example.com, mta-sts.example.org"}, 404, false},
		{"no forwarded header", lambdaHost, nil, 404, true},
		{"Host ignored", "mta-sts.example.com", nil, 404, true},
		{"two forwarded headers", lambdaHost, []string{"mta-sts.example.com", "mta-sts.example.com"}, 404, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest("GET", WellKnownPath, nil)
			req.Host = tt.host
			for _, v := range tt.forwarded {
				req.Header.Add(ForwardedHostHeader, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.status == 200 && rec.Body.String() != text {
				t.Errorf("body = %q, want %q", rec.Body.String(), text)
			}
			if got := strings.Contains(logs.String(), `"level":"WARN"`); got != tt.warn {
				t.Errorf("warning logged = %v, want %v; logs:\n%s", got, tt.warn, logs.String())
			}
		})
	}
	if h.IsPolicyHost(lambdaHost) || !h.IsPolicyHost("mta-sts.example.com") {
		t.Error("IsPolicyHost must look at the host name given, whatever Options.HostHeader says")
	}
}

func TestLogging(t *testing.T) {
	var logs bytes.Buffer
	tests := []struct {
		level slog.Level
		lines int
	}{
		{slog.LevelDebug, 1},
		{slog.LevelInfo, 0}, // no per-request log at info: the Lambda default
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			logs.Reset()
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tt.level}))
			h, _ := newTestHandler(t, Options{Logger: log})
			req := httptest.NewRequest("GET", "/nope", nil)
			req.Host = "mta-sts.example.com"
			h.ServeHTTP(httptest.NewRecorder(), req)
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if logs.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.lines {
				t.Fatalf("%d log lines, want %d:\n%s", len(lines), tt.lines, logs.String())
			}
			if tt.lines == 0 {
				return
			}
			var rec struct {
				Level, Msg, Method, Host, Path string
				Status                         int
			}
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Level != "DEBUG" || rec.Method != "GET" || rec.Host != "mta-sts.example.com" || rec.Path != "/nope" || rec.Status != 404 {
				t.Errorf("log record %+v", rec)
			}
		})
	}
}

func TestNew(t *testing.T) {
	good := testConfig(t).Domains[0]
	withName := func(name string) config.Domain {
		d := good
		d.Name = name
		return d
	}
	withPolicy := func(mut func(*mtasts.Policy)) config.Domain {
		d := withName("example.net")
		d.Policy.MX = slices.Clone(d.Policy.MX)
		mut(&d.Policy)
		return d
	}
	tests := []struct {
		name    string
		domains []config.Domain
		want    error  // nil: New succeeds
		in      string // part of the error message
	}{
		{"one domain", []config.Domain{good}, nil, ""},
		{"two domains", []config.Domain{good, withName("example.net")}, nil, ""},
		{"no domains", nil, ErrNoDomains, ""},
		{"max_age too large", []config.Domain{withPolicy(func(p *mtasts.Policy) { p.MaxAge = mtasts.MaxMaxAge + 1 })},
			ErrPolicy, `domains[0] "example.net"`},
		{"enforce without mx", []config.Domain{good, withPolicy(func(p *mtasts.Policy) { p.MX = nil })},
			ErrPolicy, `domains[1] "example.net"`},
		{"bad mode", []config.Domain{withPolicy(func(p *mtasts.Policy) { p.Mode = "on" })}, ErrPolicy, "mode"},
		{"bad version", []config.Domain{withPolicy(func(p *mtasts.Policy) { p.Version = "STSv2" })}, ErrPolicy, "version"},
		{"extension breaking the text", []config.Domain{withPolicy(func(p *mtasts.Policy) {
			p.Extensions = []mtasts.Extension{{Key: "x", Value: "a\r\nmode: none"}}
		})}, ErrPolicy, ""},
		{"duplicate host", []config.Domain{good, withName("EXAMPLE.com")}, ErrHost, `domains[1] "EXAMPLE.com"`},
		{"upper-case name", []config.Domain{withName("Example.com")}, ErrHost, "lower-case"},
		{"space in name", []config.Domain{withName("exa mple.com")}, ErrHost, `domains[0]`},
		{"empty name", []config.Domain{withName("")}, ErrHost, ""},
		{"u-label name", []config.Domain{withName("bücher.example")}, ErrHost, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(&config.Config{Organization: "x", Domains: tt.domains}, Options{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if len(h.Hosts()) != len(tt.domains) {
					t.Errorf("Hosts() = %v", h.Hosts())
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("New error = %v, want %v", err, tt.want)
			}
			if h != nil {
				t.Error("New returned a handler with an error")
			}
			if !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not contain %q", err, tt.in)
			}
		})
	}
	if _, err := New(nil, Options{}); !errors.Is(err, ErrNoDomains) {
		t.Errorf("New(nil, Options{}) = %v, want ErrNoDomains", err)
	}
}

func TestHostsAndIsPolicyHost(t *testing.T) {
	h, _ := newTestHandler(t)
	want := []string{"mta-sts.example.com", "mta-sts.example.org", "mta-sts.retired.example"}
	if got := h.Hosts(); !slices.Equal(got, want) {
		t.Errorf("Hosts() = %v, want %v", got, want)
	}
	h.Hosts()[0] = "changed"
	if h.Hosts()[0] != want[0] {
		t.Error("Hosts returned the handler's own slice")
	}
	tests := []struct {
		host string
		want bool
	}{
		{"mta-sts.example.com", true},
		{"MTA-STS.EXAMPLE.ORG", true},
		{"mta-sts.retired.example.:80", true},
		{"mta-sts.example.com:", true},
		{"example.com", false},
		{"mta-sts.example.net", false},
		{"mta-sts.example.com:x", false},
		{"[mta-sts.example.com]", false},
		{"", false},
		{".", false},
		{strings.Repeat("a.", 200) + "mta-sts.example.com", false},
	}
	for _, tt := range tests {
		if got := h.IsPolicyHost(tt.host); got != tt.want {
			t.Errorf("IsPolicyHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// TestExampleConfig serves every domain of the repository's example
// organisation file.
func TestExampleConfig(t *testing.T) {
	cfg, err := config.Load("../../ststack.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cfg.Domains {
		req := httptest.NewRequest("GET", WellKnownPath, nil)
		req.Host = d.PolicyHost()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != d.PolicyText() {
			t.Errorf("%s: %d %q, want 200 %q", d.Name, rec.Code, rec.Body.String(), d.PolicyText())
		}
		if got, want := rec.Header().Get("ETag"), `"`+d.STSRecord().ID+`"`; got != want {
			t.Errorf("%s: ETag %s, want the TXT id %s", d.Name, got, want)
		}
	}
}

// nopWriter is a ResponseWriter that keeps nothing, for allocation counts
// and benchmarks of the handler alone.
type nopWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *nopWriter) Header() http.Header { return w.h }
func (w *nopWriter) WriteHeader(s int)   { w.status = s }
func (w *nopWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

func (w *nopWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

func TestServeHTTPDoesNotAllocate(t *testing.T) {
	h, _ := newTestHandler(t, Options{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	tests := []struct {
		name, host, path string
		inm              string
		status           int
	}{
		{"policy", "MTA-STS.example.com.:443", WellKnownPath, "", 200},
		{"if-none-match other", "mta-sts.example.com", WellKnownPath, `W/"x", "y"`, 200},
		{"not found", "mta-sts.example.com", "/x", "", 404},
		{"unknown host", "www.example.com", WellKnownPath, "", 404},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.path, nil)
		req.Host = tt.host
		if tt.inm != "" {
			req.Header.Set("If-None-Match", tt.inm)
		}
		w := &nopWriter{h: make(http.Header, 8)}
		allocs := testing.AllocsPerRun(100, func() {
			w.reset()
			h.ServeHTTP(w, req)
		})
		if w.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, w.status, tt.status)
		}
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per request, want 0", tt.name, allocs)
		}
	}
}
