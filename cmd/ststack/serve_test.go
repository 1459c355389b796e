package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readyTimeout bounds the wait for a server to listen. It only stops a
// hung test: with --sample-data, serve ingests a month of reports first, which
// on a loaded 2-core machine took more than 10 s.
const readyTimeout = 90 * time.Second

var listenRE = regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)

// startServe runs `ststack serve` in-process on a free loopback port and
// returns its base URL and a function that stops it and returns its status.
func startServe(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: out, stderr: errb}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env) }()
	deadline := time.Now().Add(readyTimeout)
	for {
		if m := listenRE.FindStringSubmatch(out.String()); m != nil {
			stop := func() int {
				cancel()
				select {
				case c := <-done:
					return c
				case <-time.After(15 * time.Second):
					t.Fatal("serve did not stop")
					return -1
				}
			}
			return m[1], stop
		}
		select {
		case c := <-done:
			cancel()
			t.Fatalf("serve exited %d\nstdout: %s\nstderr: %s", c, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve not ready\nstdout: %s\nstderr: %s", out, errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func do(t *testing.T, method, url, host, ctype string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestServe(t *testing.T) {
	const example = "../../ststack.example.yaml"
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cfg.Domain("example.com")
	if !ok {
		t.Fatal("example.com is not in the example organisation")
	}
	report, err := os.ReadFile(filepath.Join(samples, "google-2024-02.json")) // about example.com
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(samples, "rfc8460-example.json")) // about company-y.example
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()

	base, stop := startServe(t, "--config", example, "--data", data)
	code, body, hdr := do(t, "GET", base+"/.well-known/mta-sts.txt", "MTA-STS.Example.COM.", "", nil)
	if code != 200 || body != d.PolicyText() || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("policy: %d %q %v", code, body, hdr)
	}
	if code, _, _ := do(t, "GET", base+"/.well-known/mta-sts.txt", "mta-sts.unknown.example", "", nil); code != 404 {
		t.Errorf("unknown host: %d", code)
	}
	if code, _, _ := do(t, "GET", base+"/nothing", "", "", nil); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", report); code != 201 {
		t.Errorf("first post: %d %s", code, body)
	}
	if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", report); code != 200 {
		t.Errorf("second post: %d %s", code, body)
	}
	if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", foreign); code != 422 {
		t.Errorf("foreign report: %d %s", code, body)
	}
	for _, p := range []string{"//v1/tlsrpt", "/x/../v1/tlsrpt", "/./v1/tlsrpt"} {
		if code, body, hdr := do(t, "POST", base+p, "", "application/tlsrpt+json", report); code != 404 || hdr.Get("Location") != "" || body != "not found\n" {
			t.Errorf("POST %s: %d %q, Location %q; want a plain 404, never a redirect", p, code, body, hdr.Get("Location"))
		}
	}
	if code, _, _ := do(t, "GET", base+"/v1/tlsrpt", "", "", nil); code != 405 {
		t.Errorf("GET report endpoint: %d", code)
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited %d", c)
	}

	// The store survives a restart: the same report is already known.
	base, stop = startServe(t, "--config", example, "--data", data)
	if code, body, _ := do(t, "POST", base+"/v1/tlsrpt", "", "application/tlsrpt+json", report); code != 200 {
		t.Errorf("post after restart: %d %s", code, body)
	}
	stop()
}

func TestServeRefusesBadConfig(t *testing.T) {
	bad := writeFile(t, "bad.yaml", []byte("organization: X\ndomains: []\n"))
	code, _, errs := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--config", bad, "--data", t.TempDir())
	if code != exitInvalid || !strings.Contains(errs, "bad.yaml") {
		t.Errorf("code %d, stderr %s", code, errs)
	}
	if code, _, _ := runCLI(t, "", "serve"); code != exitUsage {
		t.Errorf("no --config: %d", code)
	}
}
