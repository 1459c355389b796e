// Package lambdatest runs a function's real Lambda bootstrap under the AWS
// Lambda Runtime Interface Emulator (RIE), so tests exercise exactly what is
// deployed: the binary built with -tags lambda.norpc, its start-up, the
// runtime API, the event JSON AWS sends.
//
// A test gets the bootstrap with Bootstrap, starts the emulator with Start
// and sends events with RIE.Invoke:
//
//	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "policy"), map[string]string{
//		"STSTACK_CONFIG": cfgPath,
//	})
//	out, err := rie.Invoke(t.Context(), event)
//
// The emulator binary is $STSTACK_TOOLS/bin/aws-lambda-rie, else
// <module root>/.tools/bin/aws-lambda-rie (`make tools` installs it). A
// missing emulator fails the test: it is never skipped.
//
// The bootstrap and the emulator run with only the environment Start is
// given plus a fixed region and fake credentials, never the developer's
// own: point AWS clients at local stand-ins with AWS_ENDPOINT_URL_* in env.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	// EnvLambdaDir names a directory holding <fn>/bootstrap, already built
	// for this machine (the Makefile's lambdas-amd64 target sets it).
	EnvLambdaDir = "STSTACK_LAMBDA_DIR"
	// EnvTools names the directory whose bin/ holds aws-lambda-rie.
	EnvTools = "STSTACK_TOOLS"
)

// readyTimeout bounds the wait for the emulator to listen.
const readyTimeout = 15 * time.Second

// Bootstrap returns the path of the bootstrap binary of functions/<fn> for
// linux on this machine's architecture (amd64 here): $STSTACK_LAMBDA_DIR/<fn>/bootstrap
// when that variable is set, else one built now into a temporary directory
// with the Makefile's flags (-tags lambda.norpc -trimpath -ldflags=-s -w,
// CGO_ENABLED=0) from the module root, found by walking up to go.mod.
func Bootstrap(t testing.TB, fn string) string {
	t.Helper()
	if dir := os.Getenv(EnvLambdaDir); dir != "" {
		path := filepath.Join(dir, fn, "bootstrap")
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("lambdatest: %s is set but: %v (run `make lambdas-amd64`)", EnvLambdaDir, err)
		}
		return path
	}
	return build(t, "./functions/"+fn, fn)
}

// build builds the main package pkg (relative to the module root) as
// <temporary directory>/<name>/bootstrap.
func build(t testing.TB, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lambdatest: building %s: %v\n%s", pkg, err, msg)
	}
	t.Logf("lambdatest: built %s in %v", pkg, time.Since(start).Round(time.Millisecond))
	return out
}

// moduleRoot is the nearest directory at or above the working directory
// that holds go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("lambdatest: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// rieBinary returns the emulator's path or fails the test.
func rieBinary(t testing.TB) string {
	t.Helper()
	var path string
	if dir := os.Getenv(EnvTools); dir != "" {
		path = filepath.Join(dir, "bin", "aws-lambda-rie")
	} else {
		path = filepath.Join(moduleRoot(t), ".tools", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("lambdatest: Lambda Runtime Interface Emulator: %v; run `make tools`", err)
	}
	return path
}

// RIE is a running emulator with one function. Its methods are safe for
// concurrent use, but the emulator handles one invocation at a time.
type RIE struct {
	t       testing.TB
	url     string // invocation endpoint
	started time.Time
	out     *syncBuffer
	client  *http.Client
	exited  chan struct{} // closed when the emulator process has exited

	mu        sync.Mutex
	coldStart time.Duration
}

// Start runs the emulator on two free loopback ports with bootstrap as the
// function and waits until it accepts invocations; t.Cleanup stops it and
// the function. The process environment is env plus, unless env sets them,
// AWS_REGION and AWS_DEFAULT_REGION us-east-1, fake AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, and AWS_LAMBDA_FUNCTION_NAME (the bootstrap's
// directory name); nothing is inherited from the test's environment. The
// emulator's and the function's output are kept for Output and shown when
// the test fails.
func Start(t testing.TB, bootstrap string, env map[string]string) *RIE {
	t.Helper()
	bin := rieBinary(t)
	bootstrap, err := filepath.Abs(bootstrap)
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	full := map[string]string{
		"AWS_REGION":               "us-east-1",
		"AWS_DEFAULT_REGION":       "us-east-1",
		"AWS_ACCESS_KEY_ID":        "AKIALAMBDATEST000000",
		"AWS_SECRET_ACCESS_KEY":    "lambdatest-fake-secret",
		"AWS_LAMBDA_FUNCTION_NAME": filepath.Base(filepath.Dir(bootstrap)),
	}
	for k, v := range env {
		full[k] = v
	}
	keys := make([]string, 0, len(full))
	for k := range full {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	environ := make([]string, 0, len(keys))
	for _, k := range keys {
		environ = append(environ, k+"="+full[k])
	}
	// The ports are free when chosen, not when the emulator binds them:
	// another process may take one in between. The emulator then exits,
	// and it is started again on other ports.
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 2)
		if r := launch(t, bin, bootstrap, environ, keys, ports[0], ports[1]); r != nil {
			return r
		}
		if attempt == maxAttempts {
			t.Fatalf("lambdatest: emulator could not bind its ports in %d attempts", maxAttempts)
		}
	}
}

// maxAttempts bounds the starts of an emulator whose ports were taken.
const maxAttempts = 3

// launch starts the emulator on the given addresses and waits until it
// listens; it returns nil when one of the ports was taken.
func launch(t testing.TB, bin, bootstrap string, environ, keys []string, emulator, runtimeAPI string) *RIE {
	t.Helper()
	r := &RIE{
		t:      t,
		url:    "http://" + emulator + "/2015-03-31/functions/function/invocations",
		out:    &syncBuffer{},
		client: &http.Client{},
		exited: make(chan struct{}),
	}
	cmd := exec.Command(bin,
		"--runtime-interface-emulator-address", emulator,
		"--runtime-api-address", runtimeAPI,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = environ
	cmd.Stdout = r.out
	cmd.Stderr = r.out
	setProcessGroup(cmd)
	r.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("lambdatest: starting %s: %v", bin, err)
	}
	go func() {
		_ = cmd.Wait() // the exit status of a killed emulator says nothing
		close(r.exited)
	}()
	t.Cleanup(func() {
		killProcessGroup(cmd)
		<-r.exited
		if t.Failed() {
			// What a failing function ran and was given, to tell a
			// stale bootstrap or a missing variable at once.
			built := "missing"
			if fi, err := os.Stat(bootstrap); err == nil {
				built = fmt.Sprintf("%d bytes, modified %s", fi.Size(), fi.ModTime().Format(time.RFC3339))
			}
			t.Logf("lambdatest: bootstrap %s (%s), environment: %s", bootstrap, built, strings.Join(keys, " "))
			t.Logf("lambdatest: emulator output:\n%s", r.Output())
		}
	})
	if !r.waitReady(cmd, emulator) {
		return nil
	}
	return r
}

// freePorts returns n distinct loopback addresses whose ports were free a
// moment ago (all are held open until all are chosen).
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("lambdatest: %v", err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// waitReady waits until the emulator listens on addr: until the process
// itself listens there, not merely something (another test's emulator may
// hold a port chosen for this one). It returns false when the emulator
// exited because a port was taken.
func (r *RIE) waitReady(cmd *exec.Cmd, addr string) bool {
	r.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			if owns, err := listensOn(cmd.Process.Pid, addr); err == nil && owns {
				return true
			}
		}
		select {
		case <-r.exited:
			if strings.Contains(r.Output(), "address already in use") {
				return false
			}
			r.t.Fatalf("lambdatest: emulator exited before listening on %s:\n%s", addr, r.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("lambdatest: emulator not listening on %s after %v:\n%s", addr, readyTimeout, r.Output())
		}
	}
}

// Invoke sends event to the function, as JSON (a []byte or
// json.RawMessage is sent as it is), and returns the function's response
// payload. An error is returned when the emulator does not answer 200 or
// the function reported an error (a payload with errorType and
// errorMessage, as the runtime API sends it); its text holds the payload.
// The first successful Invoke sets ColdStart.
func (r *RIE) Invoke(ctx context.Context, event any) ([]byte, error) {
	var payload []byte
	switch e := event.(type) {
	case []byte:
		payload = e
	case json.RawMessage:
		payload = e
	default:
		var err error
		if payload, err = json.Marshal(event); err != nil {
			return nil, fmt.Errorf("lambdatest: event: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("lambdatest: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: invoke: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: reading invocation response: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return body, fmt.Errorf("lambdatest: invoke: emulator answered %s: %s", res.Status, body)
	}
	if ferr := functionError(body); ferr != nil {
		return body, ferr
	}
	r.mu.Lock()
	if r.coldStart == 0 {
		r.coldStart = time.Since(r.started)
	}
	r.mu.Unlock()
	return body, nil
}

// ErrFunction is wrapped by Invoke's error when the function failed.
var ErrFunction = errors.New("lambdatest: function error")

// functionError returns an error wrapping ErrFunction if payload is the
// runtime API's error document ({"errorMessage": …, "errorType": …}).
func functionError(payload []byte) error {
	if !bytes.HasPrefix(bytes.TrimSpace(payload), []byte("{")) {
		return nil
	}
	var doc struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    *string `json:"errorType"`
	}
	if json.Unmarshal(payload, &doc) != nil || doc.ErrorType == nil || doc.ErrorMessage == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrFunction, *doc.ErrorType, *doc.ErrorMessage)
}

// ColdStart is the time from starting the emulator to the end of the first
// successful invocation: emulator start, the function's init (the emulator
// starts the bootstrap on the first invocation) and that invocation. It is
// 0 before one.
func (r *RIE) ColdStart() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.coldStart
}

// initReport is the emulator's log line closing the function's init phase:
// "INIT REPORT(durationMs: 38.172000)".
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// Init returns the duration of the function's init phase as the emulator
// logged it (from starting the bootstrap until it asked for its first
// event: the Go runtime, package initialisation and main's work before
// lambda.Start), and false when the emulator has not logged it yet.
func (r *RIE) Init() (time.Duration, bool) {
	m := initReport.FindStringSubmatch(r.Output())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Output returns what the emulator and the function have written to
// stdout and stderr so far (the function's logs among them).
func (r *RIE) Output() string {
	return r.out.String()
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a process's
// stdout and stderr and reads by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
