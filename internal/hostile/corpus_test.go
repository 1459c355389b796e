package hostile

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// corpusDir is the committed corpus.
const corpusDir = "../../testdata/hostile"

// minCases is the least number of requests the corpus must hold.
const minCases = 60

// Case is one request of the corpus.
type Case struct {
	Name    string
	Comment string
	Expect  int // status from ststack serve
	// Lambda is the status from the Lambda function (0: Expect);
	// LambdaSkip says why the request cannot reach a function.
	Lambda     int
	LambdaSkip string
	Stores     bool
	Generate   string   // KIND N, or ""
	Transforms []string // applied to the body in order
	SlowEvery  time.Duration
	SlowChunk  int

	Method, Target, Proto string
	Header                [][2]string // in order, names as written
	Body                  []byte
}

// parseCase parses one corpus file.
func parseCase(name string, data []byte) (Case, error) {
	c := Case{Name: name}
	text := string(data)
	var comments []string
	quoted := false
	// Directives and comments.
	for strings.HasPrefix(text, "#") {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		key, val, ok := strings.Cut(body, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var err error
		switch {
		case !ok || strings.Contains(key, " "):
			comments = append(comments, body)
		case key == "expect":
			c.Expect, err = status(val)
		case key == "lambda":
			if r, isSkip := strings.CutPrefix(val, "skip"); isSkip {
				c.LambdaSkip = strings.TrimSpace(r)
				if c.LambdaSkip == "" {
					err = errors.New("lambda: skip needs a reason")
				}
			} else {
				c.Lambda, err = status(val)
			}
		case key == "stores":
			c.Stores = val == "yes"
			if val != "yes" && val != "no" {
				err = fmt.Errorf("stores: %q, want yes or no", val)
			}
		case key == "body":
			quoted = val == "quoted"
			if !quoted {
				err = fmt.Errorf("body: %q, want quoted", val)
			}
		case key == "generate":
			c.Generate = val
			_, _, err = generateArgs(val)
		case key == "transform":
			c.Transforms = strings.Fields(val)
			for _, t := range c.Transforms {
				if _, ok := transforms[t]; !ok {
					err = fmt.Errorf("transform %q unknown", t)
				}
			}
		case key == "slow":
			d, n, _ := strings.Cut(val, " ")
			c.SlowEvery, err = time.ParseDuration(d)
			if err == nil {
				c.SlowChunk, err = strconv.Atoi(strings.TrimSpace(n))
			}
			if err == nil && (c.SlowEvery <= 0 || c.SlowChunk <= 0) {
				err = errors.New("slow: want a positive duration and chunk size")
			}
		default:
			comments = append(comments, body)
		}
		if err != nil {
			return c, fmt.Errorf("%s: %s: %w", name, line, err)
		}
	}
	c.Comment = strings.Join(comments, " ")
	if c.Expect == 0 {
		return c, fmt.Errorf("%s: no \"# expect: STATUS\" line", name)
	}
	if c.Stores != (c.Expect/100 == 2) {
		return c, fmt.Errorf("%s: a request is stored exactly when it is answered 2xx (expect %d, stores %v)", name, c.Expect, c.Stores)
	}
	// The request.
	head, body, ok := strings.Cut(text, "\n\n")
	if !ok {
		head, body = strings.TrimRight(text, "\n"), ""
	}
	lines := strings.Split(head, "\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 {
		return c, fmt.Errorf("%s: request line %q: want METHOD TARGET PROTO", name, lines[0])
	}
	c.Method, c.Target, c.Proto = f[0], f[1], f[2]
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return c, fmt.Errorf("%s: header line %q", name, l)
		}
		c.Header = append(c.Header, [2]string{k, strings.TrimSpace(v)})
	}
	body = strings.TrimSuffix(body, "\n")
	if quoted {
		b, err := strconv.Unquote(strings.TrimSpace(body))
		if err != nil {
			return c, fmt.Errorf("%s: quoted body: %w", name, err)
		}
		body = b
	}
	c.Body = []byte(body)
	return c, nil
}

func status(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("status %q", s)
	}
	return n, nil
}

// LambdaStatus is the status the Lambda function answers.
func (c Case) LambdaStatus() int {
	if c.Lambda != 0 {
		return c.Lambda
	}
	return c.Expect
}

// get returns the first value of header name (any case), "" if none.
func (c Case) get(name string) (string, bool) {
	for _, h := range c.Header {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// Host is the request's Host header ("" if none).
func (c Case) Host() string {
	h, _ := c.get("Host")
	return h
}

// loadCorpus reads and parses every file of the corpus, then makes each
// body (generate, transforms). Generated bodies are cached per test binary.
func loadCorpus(tb testing.TB) []Case {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.http"))
	if err != nil {
		tb.Fatal(err)
	}
	var cases []Case
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		c, err := parseCase(strings.TrimSuffix(filepath.Base(f), ".http"), data)
		if err != nil {
			tb.Fatal(err)
		}
		if c.Body, err = makeBody(c); err != nil {
			tb.Fatalf("%s: %v", c.Name, err)
		}
		cases = append(cases, c)
	}
	if len(cases) < minCases {
		tb.Fatalf("%d requests in %s, want at least %d", len(cases), corpusDir, minCases)
	}
	return cases
}

var generated sync.Map // Generate → []byte

func makeBody(c Case) ([]byte, error) {
	body := c.Body
	if c.Generate != "" {
		if b, ok := generated.Load(c.Generate); ok {
			body = b.([]byte)
		} else {
			kind, n, err := generateArgs(c.Generate)
			if err != nil {
				return nil, err
			}
			body = generators[kind](n)
			generated.Store(c.Generate, body)
		}
	}
	for _, t := range c.Transforms {
		body = transforms[t](body)
	}
	return body, nil
}

func generateArgs(s string) (string, int, error) {
	kind, ns, _ := strings.Cut(s, " ")
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if _, ok := generators[kind]; !ok || err != nil || n <= 0 {
		return "", 0, fmt.Errorf("generate %q: want KIND N, KIND one of gzip-bomb, gzip-bomb-json, oversized, deep, policies, details, policy-strings, mx-hosts, long-report-id", s)
	}
	return kind, n, nil
}

// validPrefix starts a valid report about example.com whose policies
// array the generators fill.
const validPrefix = `{"organization-name":"Hostile Sender","date-range":{"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"},"report-id":"generated","policies":[`

var generators = map[string]func(n int) []byte{
	// gzip members of 64 MiB of zeros each, n bytes in all (RFC 1952
	// §2.2: a gzip file is a series of members).
	"gzip-bomb": func(n int) []byte {
		member := gzipBytes(make([]byte, 64<<20), gzip.BestCompression)
		var out bytes.Buffer
		for i := 0; i < n; i += 64 << 20 {
			out.Write(member)
		}
		return out.Bytes()
	},
	// A report whose organization-name is n spaces, as gzip members:
	// the start of the JSON, members of 64 MiB of spaces, the end.
	"gzip-bomb-json": func(n int) []byte {
		member := gzipBytes(bytes.Repeat([]byte{' '}, 64<<20), gzip.BestCompression)
		var out bytes.Buffer
		out.Write(gzipBytes([]byte(`{"organization-name":"`), gzip.BestCompression))
		for i := 0; i < n; i += 64 << 20 {
			out.Write(member)
		}
		out.Write(gzipBytes([]byte(`"}`), gzip.BestCompression))
		return out.Bytes()
	},
	// A JSON object of about n bytes: one long string.
	"oversized": func(n int) []byte {
		b := make([]byte, 0, n+32)
		b = append(b, `{"organization-name":"`...)
		b = append(b, bytes.Repeat([]byte{'a'}, n)...)
		return append(b, `"}`...)
	},
	// n nested arrays in an unknown member.
	"deep": func(n int) []byte {
		return []byte(`{"organization-name":"x","deep":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
	},
	// n policies about example.com.
	"policies": func(n int) []byte {
		var b strings.Builder
		b.WriteString(validPrefix)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"policy":{"policy-type":"sts","policy-domain":"example.com"},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}`)
		}
		b.WriteString("]}")
		return []byte(b.String())
	},
	// A valid report about example.com whose report-id is n letters.
	"long-report-id": func(n int) []byte {
		return bytes.Replace(stringArray("policy-string", `"x",`, 1), []byte(`"report-id":"generated"`),
			[]byte(`"report-id":"`+strings.Repeat("r", n)+`"`), 1)
	},
	// One policy whose policy-string array holds n empty strings.
	"policy-strings": func(n int) []byte {
		return stringArray("policy-string", `"",`, n)
	},
	// One policy whose mx-host array holds n times "a".
	"mx-hosts": func(n int) []byte {
		return stringArray("mx-host", `"a",`, n)
	},
	// One policy with n failure details.
	"details": func(n int) []byte {
		var b strings.Builder
		b.WriteString(validPrefix)
		fmt.Fprintf(&b, `{"policy":{"policy-type":"sts","policy-domain":"example.com"},"summary":{"total-successful-session-count":1,"total-failure-session-count":%d},"failure-details":[`, n)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","failed-session-count":1}`)
		}
		b.WriteString("]}]}")
		return []byte(b.String())
	},
}

// stringArray is a report about example.com whose policy has field with n
// times entry (which ends in a comma).
func stringArray(field, entry string, n int) []byte {
	var b bytes.Buffer
	b.Grow(len(validPrefix) + n*len(entry) + 200)
	b.WriteString(validPrefix)
	b.WriteString(`{"policy":{"policy-type":"sts","policy-domain":"example.com","` + field + `":[`)
	for range n {
		b.WriteString(entry)
	}
	b.WriteString(`""]},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}]}`)
	return b.Bytes()
}

func gzipBytes(b []byte, level int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// transforms change a body; the gzip ones expect a gzip member.
var transforms = map[string]func([]byte) []byte{
	"gzip":     func(b []byte) []byte { return gzipBytes(b, gzip.DefaultCompression) },
	"truncate": func(b []byte) []byte { return b[:len(b)/2] },
	"double":   func(b []byte) []byte { return append(bytes.Clone(b), b...) },
	"garbage":  func(b []byte) []byte { return append(bytes.Clone(b), "not gzip, not JSON"...) },
	// RFC 1952 §2.3.1: CRC32 then ISIZE, the last 8 bytes.
	"bad-crc": func(b []byte) []byte {
		b = bytes.Clone(b)
		b[len(b)-8] ^= 0xff
		return b
	},
	"bad-size": func(b []byte) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[len(b)-4:], binary.LittleEndian.Uint32(b[len(b)-4:])+1)
		return b
	},
}

// Wire returns the request head as sent (CRLF lines, Content-Length added
// unless the request sets it or Transfer-Encoding), and whether the body is
// shorter than the Content-Length the request declares.
func (c Case) Wire() (head []byte, short bool) {
	var b bytes.Buffer
	b.WriteString(c.Method + " " + c.Target + " " + c.Proto + "\r\n")
	for _, h := range c.Header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	cl, hasCL := c.get("Content-Length")
	_, hasTE := c.get("Transfer-Encoding")
	if !hasCL && !hasTE && (len(c.Body) > 0 || c.Method == http.MethodPost || c.Method == http.MethodPut) {
		b.WriteString("Content-Length: " + strconv.Itoa(len(c.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	n, err := strconv.Atoi(cl)
	return b.Bytes(), hasCL && err == nil && n > len(c.Body)
}

// ContentType is the request's Content-Type, "" if none.
func (c Case) ContentType() string {
	v, _ := c.get("Content-Type")
	return v
}

// lambdaHeaders are the request's headers as a Lambda event has them:
// lower-case names, repeated ones joined with commas. The Host header is
// left out: the function sees its own host name (API Gateway's, the
// function URL's).
func (c Case) lambdaHeaders() map[string]string {
	m := map[string]string{}
	for _, h := range c.Header {
		k := strings.ToLower(h[0])
		if k == "host" || k == "content-length" {
			continue
		}
		if v, ok := m[k]; ok {
			m[k] = v + "," + h[1]
		} else {
			m[k] = h[1]
		}
	}
	return m
}

func splitTarget(target string) (path, query string) {
	path, query, _ = strings.Cut(target, "?")
	return path, query
}

// APIGatewayEvent is the event API Gateway (HTTP API, payload format 2.0)
// sends the tlsrpt function for the request: the body base64-encoded, as
// API Gateway does for binary media.
func (c Case) APIGatewayEvent() events.APIGatewayV2HTTPRequest {
	path, query := splitTarget(c.Target)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers:         c.lambdaHeaders(),
		Body:            base64.StdEncoding.EncodeToString(c.Body),
		IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = c.Method
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.HTTP.SourceIP = "192.0.2.66"
	ev.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	ev.RequestContext.Stage = "$default"
	return ev
}

// FunctionURLEvent is the function URL event the policy function gets for
// the request through CloudFront: the viewer's Host in X-Forwarded-Host,
// written by the CloudFront Function over whatever the viewer sent.
func (c Case) FunctionURLEvent() events.LambdaFunctionURLRequest {
	path, query := splitTarget(c.Target)
	h := c.lambdaHeaders()
	h["x-forwarded-host"] = c.Host()
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: h,
		Body:            base64.StdEncoding.EncodeToString(c.Body),
		IsBase64Encoded: len(c.Body) > 0,
	}
	ev.RequestContext.HTTP.Method = c.Method
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.DomainName = "t3xq7mkhv2p4ofbjxwz6yru5de0gyqsl.lambda-url.eu-west-1.on.aws"
	return ev
}

// IsPolicy tells the requests for the policy host from those for the
// report endpoint.
func (c Case) IsPolicy() bool {
	p, _ := splitTarget(c.Target)
	if u, err := url.Parse(c.Target); err == nil && u.IsAbs() {
		p = u.Path
	}
	return !strings.HasPrefix(p, "/v1/tlsrpt")
}

// TestCorpus: the corpus is what the issue asks of it, and its parser
// takes good files and refuses bad ones, naming them.
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	var refused, policy, stored, lambda int
	names := map[string]bool{}
	for _, c := range cases {
		if c.Expect/100 == 4 {
			refused++
		}
		if c.IsPolicy() {
			policy++
		}
		if c.Stores {
			stored++
		}
		if c.LambdaSkip == "" {
			lambda++
		}
		names[c.Name] = true
		if c.Comment == "" {
			t.Errorf("%s: no comment saying what it tests", c.Name)
		}
	}
	if refused < minCases || policy < 20 || stored == 0 || lambda < minCases {
		t.Errorf("%d refused, %d for the policy host, %d stored, %d for Lambda", refused, policy, stored, lambda)
	}
	for _, want := range []string{"report-gzip-bomb-1g", "report-deep-unknown-member", "report-invalid-utf8-domain",
		"report-duplicate-policies", "report-content-type-text", "report-gzip-truncated", "report-gzip-concatenated",
		"report-oversized-body", "report-slow-body", "report-id-traversal", "report-foreign-domain",
		"policy-dot-segments", "policy-host-suffix", "report-huge-number"} {
		if !names[want] {
			t.Errorf("corpus lacks %s", want)
		}
	}
	// Generated and transformed bodies are what they claim.
	for _, c := range cases {
		switch c.Name {
		case "report-gzip-bomb-1g":
			if len(c.Body) > 2<<20 || c.Body[0] != 0x1f {
				t.Errorf("bomb: %d bytes", len(c.Body))
			}
		case "report-oversized-body":
			if len(c.Body) <= 10<<20 {
				t.Errorf("oversized body: %d bytes", len(c.Body))
			}
		}
	}
}

func TestParseCase(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		err        string // "" for a valid file
		check      func(Case) bool
	}{
		{"minimal", "# A case.\n# expect: 404\nGET / HTTP/1.1\nHost: x\n", "",
			func(c Case) bool { return c.Expect == 404 && c.Method == "GET" && c.Host() == "x" && len(c.Body) == 0 }},
		{"body", "# A case.\n# expect: 400\nPOST /v1/tlsrpt HTTP/1.1\nHost: x\n\n{}\n", "",
			func(c Case) bool { return string(c.Body) == "{}" }},
		{"quoted body", "# A case.\n# expect: 400\n# body: quoted\nPOST / HTTP/1.1\n\n\"\\xff\\x00\"\n", "",
			func(c Case) bool { return string(c.Body) == "\xff\x00" }},
		{"lambda skip", "# A case.\n# expect: 400\n# lambda: skip not for functions\nGET / HTTP/1.1\n", "",
			func(c Case) bool { return c.LambdaSkip == "not for functions" && c.LambdaStatus() == 400 }},
		{"lambda status", "# A case.\n# expect: 400\n# lambda: 413\nGET / HTTP/1.1\n", "",
			func(c Case) bool { return c.LambdaStatus() == 413 }},
		{"slow", "# A case.\n# expect: 400\n# slow: 10ms 4\nGET / HTTP/1.1\n", "",
			func(c Case) bool { return c.SlowEvery == 10*time.Millisecond && c.SlowChunk == 4 }},
		{"no expect", "# A case.\nGET / HTTP/1.1\n", "no \"# expect", nil},
		{"bad status", "# expect: 99\nGET / HTTP/1.1\n", "status", nil},
		{"skip without reason", "# expect: 400\n# lambda: skip\nGET / HTTP/1.1\n", "reason", nil},
		{"stored but 4xx", "# expect: 400\n# stores: yes\nGET / HTTP/1.1\n", "stored exactly", nil},
		{"2xx not stored", "# expect: 201\nGET / HTTP/1.1\n", "stored exactly", nil},
		{"bad request line", "# expect: 400\nGET /\n", "request line", nil},
		{"bad header", "# expect: 400\nGET / HTTP/1.1\nno colon here\n", "header line", nil},
		{"bad quoted body", "# expect: 400\n# body: quoted\nGET / HTTP/1.1\n\nnot quoted\n", "quoted body", nil},
		{"unknown transform", "# expect: 400\n# transform: rot13\nGET / HTTP/1.1\n", "rot13", nil},
		{"bad generate", "# expect: 400\n# generate: bomb many\nGET / HTTP/1.1\n", "KIND N", nil},
		{"bad slow", "# expect: 400\n# slow: fast 4\nGET / HTTP/1.1\n", "slow", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCase("f", []byte(tc.file))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "f: ") {
					t.Fatalf("err %v, want one naming the file and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("parsed %+v", c)
			}
		})
	}
}

func TestWire(t *testing.T) {
	c, err := parseCase("f", []byte("# expect: 400\nPOST /v1/tlsrpt?a=b HTTP/1.1\nHost: x\nContent-Type: application/json\n\nabc\n"))
	if err != nil {
		t.Fatal(err)
	}
	head, short := c.Wire()
	if string(head) != "POST /v1/tlsrpt?a=b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n" || short {
		t.Errorf("head %q, short %v", head, short)
	}
	ev := c.APIGatewayEvent()
	if ev.RawPath != "/v1/tlsrpt" || ev.RawQueryString != "a=b" || ev.Headers["content-type"] != "application/json" || ev.Headers["host"] != "" {
		t.Errorf("event %+v", ev)
	}
	if b, _ := base64.StdEncoding.DecodeString(ev.Body); string(b) != "abc" {
		t.Errorf("event body %q", ev.Body)
	}
	c.Header = append(c.Header, [2]string{"Content-Length", "10"})
	if head, short = c.Wire(); !short || strings.Count(string(head), "Content-Length") != 1 {
		t.Errorf("explicit length: head %q, short %v", head, short)
	}
	u := c.FunctionURLEvent()
	if u.Headers["x-forwarded-host"] != "x" || u.RequestContext.HTTP.Method != "POST" {
		t.Errorf("function URL event %+v", u)
	}
}
