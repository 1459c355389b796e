package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/policyhost"
)

const goodYAML = `organization: Test Org
region: eu-west-1
domains:
  - name: example.com
    dns: { external: true }
    policy: { mode: enforce, max_age: 604800, mx: [mx1.example.com, "*.mail.example.net"] }
  - name: example.org
    dns: { external: true }
    policy: { mode: testing, max_age: 86400, mx: [mx.example.org] }
reporting:
  mailto: tlsrpt@example.com
`

// badYAML are organisation files the function must refuse to start with,
// and what the refusal names.
var badYAML = []struct {
	name, yaml, want string
}{
	{"max_age too large", strings.Replace(goodYAML, "86400", "99999999999", 1), "ststack.yaml:9: domains[1].policy.max_age"},
	{"enforce without mx", strings.Replace(goodYAML, `mx: [mx1.example.com, "*.mail.example.net"]`, "mx: []", 1), "ststack.yaml:6: domains[0].policy"},
	{"yaml syntax", goodYAML + "  - name: [\n", "ststack.yaml:"},
	{"no domains", "organization: x\nregion: eu-west-1\nreporting: { mailto: a@example.com }\n", "domains"},
}

// writeConfig writes an organisation file named ststack.yaml into a new
// directory, standing for the deployment asset, and returns the directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestNewHandler(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	good := writeConfig(t, goodYAML)
	t.Run("valid", func(t *testing.T) {
		h, err := newHandler(env(map[string]string{"LAMBDA_TASK_ROOT": good}), discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Hosts(); len(got) != 2 {
			t.Errorf("Hosts() = %v", got)
		}
		// In AWS the host comes from the CloudFront Function's header.
		req := httptest.NewRequest("GET", policyhost.WellKnownPath, nil)
		req.Host = "t3xq7mkhv2p4ofbjxwz6yru5de0gyqsl.lambda-url.eu-west-1.on.aws"
		req.Header.Set(policyhost.ForwardedHostHeader, "mta-sts.example.org")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "mx: mx.example.org\r\n") {
			t.Errorf("got %d %q", rec.Code, rec.Body.String())
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := newHandler(env(map[string]string{"LAMBDA_TASK_ROOT": t.TempDir()}), discard)
		var cerr *config.Error
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "ststack.yaml") {
			t.Errorf("error %v, want a *config.Error naming ststack.yaml", err)
		}
	})
	for _, tt := range badYAML {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.yaml)
			h, err := newHandler(env(map[string]string{"LAMBDA_TASK_ROOT": dir}), discard)
			if err == nil || h != nil {
				t.Fatalf("newHandler = %v, %v; want an error", h, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}

// urlEvent returns testdata/function-url-get.json, a function URL event as
// CloudFront's request for GET https://mta-sts.example.com/.well-known/mta-sts.txt
// reaches the function, changed by edit.
func urlEvent(t *testing.T, edit func(ev map[string]any, headers map[string]any, http map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/function-url-get.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		ctx := ev["requestContext"].(map[string]any)
		edit(ev, ev["headers"].(map[string]any), ctx["http"].(map[string]any))
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// urlResponse is a function URL response as lambdaurl streams it: a JSON
// prelude with status and headers, eight NUL bytes, the body.
type urlResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"-"`
}

func decodeStream(payload []byte) (urlResponse, error) {
	var r urlResponse
	prelude, body, ok := bytes.Cut(payload, make([]byte, 8))
	if !ok {
		return r, fmt.Errorf("no prelude delimiter in %q", payload)
	}
	if err := json.Unmarshal(prelude, &r); err != nil {
		return r, fmt.Errorf("prelude %q: %w", prelude, err)
	}
	r.Body = string(body)
	return r, nil
}

// TestRIE runs the built bootstrap under the Lambda Runtime Interface
// Emulator and sends it function URL events as CloudFront's requests
// arrive.
func TestRIE(t *testing.T) {
	dir := writeConfig(t, goodYAML)
	cfg, err := config.Load(filepath.Join(dir, "ststack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Domain("example.com")
	policy, etag := d.PolicyText(), `"`+d.STSRecord().ID+`"`
	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "policy"), map[string]string{
		"LAMBDA_TASK_ROOT": dir,
		"STSTACK_CONFIG":   "ststack.yaml",
	})
	type edit = func(ev, headers, http map[string]any)
	path := func(p string) edit {
		return func(ev, _, h map[string]any) { ev["rawPath"], h["path"] = p, p }
	}
	tests := []struct {
		name   string
		edit   edit
		status int
		body   string
	}{
		{"get", nil, 200, policy},
		{"head", func(_, _, h map[string]any) { h["method"] = "HEAD" }, 200, ""},
		{"forwarded host case and port", func(_, hd, _ map[string]any) { hd["x-forwarded-host"] = "MTA-STS.Example.com:443" }, 200, policy},
		{"query string", func(ev, _, _ map[string]any) { ev["rawQueryString"] = "v=2" }, 200, policy},
		{"if-none-match", func(_, hd, _ map[string]any) { hd["if-none-match"] = etag }, 304, ""},
		{"unknown host", func(_, hd, _ map[string]any) { hd["x-forwarded-host"] = "mta-sts.example.net" }, 404, "not found\n"},
		{"no forwarded host", func(_, hd, _ map[string]any) { delete(hd, "x-forwarded-host") }, 404, "not found\n"},
		{"other path", path("/"), 404, "not found\n"},
		{"encoded path", path("/.well-known/mta%2Dsts.txt"), 404, "not found\n"},
		{"dot segments", path("/.well-known/../.well-known/mta-sts.txt"), 404, "not found\n"},
		{"post", func(ev, _, h map[string]any) { h["method"], ev["body"] = "POST", "x=1" }, 405, "method not allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := rie.Invoke(t.Context(), urlEvent(t, tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			res, err := decodeStream(payload)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || res.Body != tt.body {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, res.Body, tt.status, tt.body)
			}
			want := map[string]string{
				"Strict-Transport-Security": "max-age=31536000",
				"X-Content-Type-Options":    "nosniff",
				"Content-Type":              "text/plain; charset=utf-8",
				"Cache-Control":             "no-store",
			}
			switch tt.status {
			case 200:
				want["Content-Length"] = fmt.Sprint(len(policy))
				fallthrough
			case 304:
				want["Cache-Control"] = policyhost.CacheControl
				want["Etag"] = etag
			case 405:
				want["Allow"] = "GET, HEAD"
			}
			if tt.status == 304 {
				delete(want, "Content-Type")
			}
			for k, v := range want {
				if got := res.Headers[k]; got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if loc, ok := res.Headers["Location"]; ok {
				t.Errorf("Location %q", loc)
			}
		})
	}
	out := rie.Output()
	if n := strings.Count(out, "policy: serving"); n != 1 {
		t.Errorf("%d start-up log lines, want 1 (one cold start)", n)
	}
	// At the default log level, no per-request line; a request without
	// the forwarded host is a broken deployment and is logged.
	if strings.Contains(out, "message=request") {
		t.Error("per-request log line at the default level")
	}
	if !regexp.MustCompile(`level=WARN message="request without a single forwarded host header".* requestId=`).MatchString(out) {
		t.Errorf("no warning with request id for the request without forwarded host:\n%s", out)
	}
	init := regexp.MustCompile(`INIT REPORT\(durationMs: [0-9.]+\)`).FindString(out)
	t.Logf("cold start under RIE: %v (emulator start, init, first invocation); emulator's %s",
		rie.ColdStart(), init)
}

// TestRefusesToStart runs the bootstrap with bad configurations: it must
// exit non-zero before taking a request, saying why, both on its own and
// under the emulator.
func TestRefusesToStart(t *testing.T) {
	bootstrap := lambdatest.Bootstrap(t, "policy")
	for _, tt := range badYAML {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.yaml)
			cmd := exec.Command(bootstrap)
			cmd.Env = []string{"LAMBDA_TASK_ROOT=" + dir}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("bootstrap: %v, want exit status 1\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("refusing to start")) || !bytes.Contains(out, []byte(tt.want)) {
				t.Errorf("output does not say why (%q):\n%s", tt.want, out)
			}
		})
	}
	t.Run("under the emulator", func(t *testing.T) {
		dir := writeConfig(t, badYAML[0].yaml)
		rie := lambdatest.Start(t, bootstrap, map[string]string{"LAMBDA_TASK_ROOT": dir})
		payload, err := rie.Invoke(t.Context(), urlEvent(t, nil))
		if err == nil {
			t.Fatalf("invoke succeeded: %q", payload)
		}
		// The function's own log line reaches the emulator's output
		// through a pipe and may land after Invoke has returned (seen
		// on a loaded machine): wait for it, a few seconds at most.
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(rie.Output(), "refusing to start") && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(rie.Output(), "refusing to start") {
			t.Errorf("emulator output does not say why:\n%s", rie.Output())
		}
		if rie.ColdStart() != 0 {
			t.Errorf("ColdStart = %v after a failed start", rie.ColdStart())
		}
	})
}

// BenchmarkColdStart starts the emulator and invokes the function once per
// iteration; ms/coldstart is emulator start, init and first invocation.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(goodYAML), 0o644); err != nil {
		b.Fatal(err)
	}
	bootstrap := lambdatest.Bootstrap(b, "policy")
	ev, err := os.ReadFile("testdata/function-url-get.json")
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	b.ReportAllocs()
	for b.Loop() {
		rie := lambdatest.Start(b, bootstrap, map[string]string{"LAMBDA_TASK_ROOT": dir})
		payload, err := rie.Invoke(b.Context(), ev)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := decodeStream(payload); err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("%+v, %v", res, err)
		}
		total += float64(rie.ColdStart().Microseconds()) / 1000
	}
	b.ReportMetric(total/float64(b.N), "ms/coldstart")
}
