package policyhost

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// hostCases are Host values and their lookup form ("" when refused).
var hostCases = []struct {
	in, want string
}{
	{"mta-sts.example.com", "mta-sts.example.com"},
	{"MTA-STS.Example.COM", "mta-sts.example.com"},
	{"mta-sts.example.com.", "mta-sts.example.com"},
	{"mta-sts.example.com:443", "mta-sts.example.com"},
	{"mta-sts.example.com.:8443", "mta-sts.example.com"},
	{"mta-sts.example.com:", "mta-sts.example.com"},
	{"xn--bcher-kva.example", "xn--bcher-kva.example"},
	{"a", "a"},
	{strings.Repeat("a", 253), strings.Repeat("a", 253)},
	{strings.Repeat("a", 253) + ".", strings.Repeat("a", 253)},
	// Refused.
	{"", ""},
	{".", ""},
	{":443", ""},
	{"mta-sts.example.com..", ""},
	{".mta-sts.example.com", ""},
	{"mta-sts..example.com", ""},
	{"mta-sts.example.com:https", ""},
	{"mta-sts.example.com:443:443", ""},
	{"mta-sts.example.com:-1", ""},
	{"[::1]", ""},
	{"[::1]:443", ""},
	{"::1", ""},
	{"mta-sts.exämple.com", ""},
	{"mta sts.example.com", ""},
	{"mta-sts.example.com/", ""},
	{"mta_sts.example.com", ""},
	{"mta-sts.example.com\x00", ""},
	{"user@mta-sts.example.com", ""},
	{strings.Repeat("a", 254), ""},
}

func TestNormaliseHost(t *testing.T) {
	for _, tt := range hostCases {
		var buf [maxHostLen]byte
		n, ok := normaliseHost(buf[:], tt.in)
		if got := string(buf[:n]); ok != (tt.want != "") || got != tt.want {
			t.Errorf("normaliseHost(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	// A destination shorter than the host is refused, not overrun.
	var small [4]byte
	if n, ok := normaliseHost(small[:], "abcde"); ok {
		t.Errorf("normaliseHost into 4 bytes = %d, true", n)
	}
}

// etagCases are If-None-Match values and whether they match etag.
const etag = `"0123abc"`

var etagCases = []struct {
	in   []string
	want bool
}{
	{[]string{`"0123abc"`}, true},
	{[]string{`W/"0123abc"`}, true},
	{[]string{`*`}, true},
	{[]string{` * `}, true},
	{[]string{`"a", "0123abc"`}, true},
	{[]string{`"a",W/"0123abc" , "b"`}, true},
	{[]string{`,, "0123abc",`}, true},
	{[]string{`"a"`, `"0123abc"`}, true},
	{[]string{`x`, `"0123abc"`}, true},
	// No match.
	{nil, false},
	{[]string{``}, false},
	{[]string{`"0123ABC"`}, false},
	{[]string{`0123abc`}, false},
	{[]string{`"0123abc`}, false},
	{[]string{`w/"0123abc"`}, false},
	{[]string{`W/ "0123abc"`}, false},
	{[]string{`"a" "0123abc"`}, false},
	{[]string{`x, "0123abc"`}, false},
	{[]string{`*x`}, false},
	{[]string{`"*"`}, false},
	{[]string{`"0123abc"x`}, false},
	{[]string{`W/`}, false},
}

func TestETagMatch(t *testing.T) {
	for _, tt := range etagCases {
		if got := etagMatch(tt.in, etag); got != tt.want {
			t.Errorf("etagMatch(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzNormaliseHost(f *testing.F) {
	for _, tt := range hostCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, host string) {
		var buf, again [maxHostLen]byte
		n, ok := normaliseHost(buf[:], host)
		if !ok {
			if n != 0 {
				t.Fatalf("refused with length %d", n)
			}
			return
		}
		out := string(buf[:n])
		if n == 0 || n > maxHostLen || strings.HasPrefix(out, ".") || strings.HasSuffix(out, ".") || strings.Contains(out, "..") {
			t.Fatalf("normaliseHost(%q) = %q", host, out)
		}
		for i := 0; i < n; i++ {
			c := out[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("normaliseHost(%q) = %q: byte %q", host, out, c)
			}
		}
		if !strings.EqualFold(out, strings.TrimSuffix(strings.SplitN(host, ":", 2)[0], ".")) {
			t.Fatalf("normaliseHost(%q) = %q is not the host without port and dot", host, out)
		}
		// Idempotent, and blind to letter case.
		m, ok := normaliseHost(again[:], strings.ToUpper(out))
		if !ok || string(again[:m]) != out {
			t.Fatalf("normaliseHost(upper(%q)) = %q, %v", out, again[:m], ok)
		}
	})
}

func FuzzETagMatch(f *testing.F) {
	for _, tt := range etagCases {
		f.Add(strings.Join(tt.in, "\n"))
	}
	f.Fuzz(func(t *testing.T, header string) {
		values := strings.Split(header, "\n")
		if etagMatch(values, etag) && !strings.Contains(header, etag) && !strings.Contains(header, "*") {
			t.Fatalf("%q matches %s without naming it", header, etag)
		}
		// Another field line holding the tag matches, whatever came
		// before it.
		if !etagMatch(append(values, etag), etag) {
			t.Fatalf("%q followed by %s does not match", header, etag)
		}
	})
}

// FuzzServeHTTP sends requests as net/http parses them off the wire and
// checks the answer is always one of the four the handler may give.
func FuzzServeHTTP(f *testing.F) {
	for _, tt := range serveCases {
		f.Add(tt.method, tt.host, tt.target, tt.inm)
	}
	h, cfg := newTestHandler(f)
	etags := etagReplacer(f, cfg)
	bodies := map[string]bool{}
	for _, d := range cfg.Domains {
		bodies[d.PolicyText()] = true
	}
	f.Fuzz(func(t *testing.T, method, host, target, inm string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nIf-None-Match: " + etags.Replace(inm) + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http would have answered 400 itself
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Fatalf("Location %q", loc)
		}
		if bytes.ContainsAny(rec.Body.Bytes(), "<>") {
			t.Fatalf("markup in body %q", body)
		}
		served := req.URL.Path == WellKnownPath && req.URL.RawPath == "" && h.IsPolicyHost(req.Host)
		switch rec.Code {
		case 200:
			if !served || !(bodies[body] || req.Method == "HEAD" && body == "") {
				t.Fatalf("200 with body %q for %q", body, raw)
			}
		case 304:
			if !served || body != "" || rec.Header().Get("ETag") == "" {
				t.Fatalf("304 with body %q for %q", body, raw)
			}
		case 404:
			if served {
				t.Fatalf("404 for %q", raw)
			}
		case 405:
			if !served || req.Method == "GET" || req.Method == "HEAD" {
				t.Fatalf("405 for %q", raw)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, raw)
		}
	})
}

// TestCheckHost: a configured policy host must be a domain name already in
// dnsname's wire form.
func TestCheckHost(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"mta-sts.example.com", true},
		{"mta-sts.xn--bcher-kva.example", true},
		{"MTA-STS.example.com", false},
		{"mta-sts.example.com.", false},
		{"mta-sts.bücher.example", false},
		{"*.example.com", false},
		{"mta_sts.example.com", false},
		{"-mta-sts.example.com", false},
		{"", false},
	} {
		got, err := checkHost(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.in) {
			t.Errorf("checkHost(%q) = %q, %v; want ok %v", tt.in, got, err, tt.ok)
		}
	}
}
