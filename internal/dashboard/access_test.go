package dashboard

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func must(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCheckBind(t *testing.T) {
	const tok = "0123456789abcdef"
	tests := []struct {
		addr        string
		allowRemote bool
		token       string
		ok          bool
		says        string
	}{
		{"127.0.0.1:8443", false, "", true, ""},
		{"127.0.0.5:0", false, "", true, ""},
		{"[::1]:8443", false, "", true, ""},
		{"[::ffff:127.0.0.1]:8443", false, "", true, ""},
		{"127.0.0.1:8443", false, tok, true, ""},
		{"192.0.2.1:8443", true, tok, true, ""},
		{":8443", true, tok, true, ""},
		{"0.0.0.0:8443", true, tok, true, ""},

		{"0.0.0.0:8443", false, "", false, "--allow-remote"},
		{"0.0.0.0:8443", false, tok, false, "--allow-remote"},
		{":8443", false, "", false, "--allow-remote"},
		{"[::]:8443", true, "", false, "needs a token"},
		{"192.0.2.1:8443", true, "", false, "needs a token"},
		{"192.0.2.1:8443", true, "short", false, "at least 16"},
		{"127.0.0.1:8443", false, "short", false, "at least 16"},
		{"example.com:8443", false, "", false, "--allow-remote"},
		// Names are resolved (hosts file, DNS) when listening: only
		// literal loopback addresses count (issue 14 §6).
		{"dash.localhost:8443", false, "", false, "not a literal loopback address"},
		{"localhost:8443", false, "", false, "127.0.0.1:8443"},
		{"LOCALHOST.:8443", false, tok, false, "--allow-remote"},
		{"dash.localhost:8443", true, tok, true, ""},
		{"127.0.0.1", false, "", false, "HOST:PORT"},
	}
	for _, tc := range tests {
		err := CheckBind(tc.addr, tc.allowRemote, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("CheckBind(%q, %v, %q) = %v, want ok %v", tc.addr, tc.allowRemote, tc.token, err, tc.ok)
			continue
		}
		if err != nil && (!errors.Is(err, ErrBind) || !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("CheckBind(%q): %v, want ErrBind saying %q", tc.addr, err, tc.says)
		}
	}
}

func TestAccessWithoutToken(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true})
	tests := []struct {
		host   string
		status int
	}{
		{"", 200}, // 127.0.0.1:port
		{"localhost", 200},
		{"LOCALHOST.:8443", 200},
		{"[::1]:80", 200},
		{"127.1.2.3", 200},
		{"evil.example", 404},
		{"127.0.0.1.nip.example", 404},
		{"192.0.2.1:8443", 404},
	}
	for _, tc := range tests {
		for _, path := range []string{"/", "/api/v1/overview", "/static/style.css"} {
			req := must(t, "GET", f.srv.URL+path)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("Host %q %s: %d, want %d", tc.host, path, resp.StatusCode, tc.status)
			}
		}
	}
}

func TestAccessWithToken(t *testing.T) {
	const tok = "s3cret-token-of-the-test"
	f := newFixture(t, fixtureOptions{noSample: true, token: tok})
	tests := []struct {
		name    string
		path    string
		hdr     []string
		status  int
		cookie  bool   // a Set-Cookie is expected
		locates string // the Location expected
	}{
		{"nothing", "/", nil, 401, false, ""},
		{"nothing, API", "/api/v1/overview", nil, 401, false, ""},
		{"nothing, asset", "/static/style.css", nil, 401, false, ""},
		{"bearer", "/api/v1/overview", []string{"Authorization", "Bearer " + tok}, 200, false, ""},
		{"bearer, any case", "/", []string{"Authorization", "bearer " + tok}, 200, false, ""},
		{"bearer, wrong", "/api/v1/overview", []string{"Authorization", "Bearer " + tok + "x"}, 401, false, ""},
		{"bearer, prefix", "/api/v1/overview", []string{"Authorization", "Bearer " + tok[:10]}, 401, false, ""},
		{"basic", "/api/v1/overview", []string{"Authorization", "Basic " + tok}, 401, false, ""},
		{"cookie", "/", []string{"Cookie", CookieName + "=" + tok}, 200, false, ""},
		{"cookie, wrong", "/", []string{"Cookie", CookieName + "=nope"}, 401, false, ""},
		{"query", "/domains/example.com?days=7&token=" + tok, nil, 303, true, "/domains/example.com?days=7"},
		{"query only", "/?token=" + tok, nil, 303, true, "/"},
		{"query, wrong", "/?token=wrong", nil, 401, false, ""},
		{"any host with a token", "/", []string{"Authorization", "Bearer " + tok, "Host", "dash.example"}, 200, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := must(t, "GET", f.srv.URL+tc.path)
			for i := 0; i < len(tc.hdr); i += 2 {
				if tc.hdr[i] == "Host" {
					req.Host = tc.hdr[i+1]
				} else {
					req.Header.Set(tc.hdr[i], tc.hdr[i+1])
				}
			}
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d", resp.StatusCode, tc.status)
			}
			var set *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == CookieName {
					set = c
				}
			}
			if tc.cookie != (set != nil) {
				t.Fatalf("cookie %v, want one: %v", set, tc.cookie)
			}
			if set != nil && (set.Value != tok || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/") {
				t.Errorf("cookie %+v", set)
			}
			if got := resp.Header.Get("Location"); got != tc.locates {
				t.Errorf("Location %q, want %q", got, tc.locates)
			}
			if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	if _, err := New(Options{Config: f.cfg, Store: f.st, Token: "short"}); err == nil {
		t.Error("New accepted a short token")
	}
}

// TestCookieSecure: the token cookie is Secure whenever the request came
// over HTTPS: directly, or through a TLS proxy that says so in
// X-Forwarded-Proto or Forwarded (RFC 7239 §5.4) from a trusted address
// (loopback unless TrustedProxies says otherwise), and always with
// Options.SecureCookie, which --allow-remote sets (issue 14 §6).
func TestCookieSecure(t *testing.T) {
	const tok = "s3cret-token-of-the-test"
	f := newFixture(t, fixtureOptions{noSample: true})
	proxies := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	tests := []struct {
		name   string
		o      Options // SecureCookie, TrustedProxies
		remote string
		tls    bool
		hdr    []string
		secure bool
	}{
		{"plain http", Options{}, "127.0.0.1:5000", false, nil, false},
		{"https", Options{}, "127.0.0.1:5000", true, nil, true},
		{"loopback proxy, X-Forwarded-Proto", Options{}, "127.0.0.1:5000", false, []string{"X-Forwarded-Proto", "https"}, true},
		{"loopback proxy, any case, list", Options{}, "[::1]:5000", false, []string{"X-Forwarded-Proto", "HTTPS, http"}, true},
		{"loopback proxy, Forwarded", Options{}, "127.0.0.1:5000", false, []string{"Forwarded", `for=192.0.2.60;Proto="https";by=203.0.113.43`}, true},
		{"loopback proxy, http", Options{}, "127.0.0.1:5000", false, []string{"X-Forwarded-Proto", "http"}, false},
		{"untrusted peer", Options{}, "192.0.2.7:5000", false, []string{"X-Forwarded-Proto", "https"}, false},
		{"trusted proxy", Options{TrustedProxies: proxies}, "10.1.2.3:5000", false, []string{"X-Forwarded-Proto", "https"}, true},
		{"trusted proxies replace loopback", Options{TrustedProxies: proxies}, "127.0.0.1:5000", false, []string{"X-Forwarded-Proto", "https"}, false},
		{"always", Options{SecureCookie: true}, "192.0.2.7:5000", false, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Options{Config: f.cfg, Store: f.st, Token: tok, Logger: slog.New(slog.DiscardHandler),
				SecureCookie: tc.o.SecureCookie, TrustedProxies: tc.o.TrustedProxies})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/?token="+tok, nil)
			req.RemoteAddr = tc.remote
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			for i := 0; i < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var set *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == CookieName {
					set = c
				}
			}
			if rec.Code != 303 || set == nil {
				t.Fatalf("%d, cookie %v; want 303 setting it", rec.Code, set)
			}
			if set.Secure != tc.secure {
				t.Errorf("Secure = %v, want %v", set.Secure, tc.secure)
			}
		})
	}
}
