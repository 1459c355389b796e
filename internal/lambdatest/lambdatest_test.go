package lambdatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestInvoke runs testdata/echo under the emulator.
func TestInvoke(t *testing.T) {
	t.Setenv("HOME", "/home/lambdatest") // must not reach the function
	bootstrap := build(t, "./internal/lambdatest/testdata/echo", "echo")
	rie := Start(t, bootstrap, map[string]string{"ECHO": "hello", "AWS_REGION": "eu-west-1"})
	if rie.ColdStart() != 0 {
		t.Errorf("ColdStart = %v before any invocation", rie.ColdStart())
	}
	if d, ok := rie.Init(); ok {
		t.Errorf("Init = %v before any invocation started the function", d)
	}
	type reply struct {
		Event json.RawMessage
		Env   map[string]string
	}
	tests := []struct {
		name  string
		event any
		want  string // the event as the function received it, compacted
		fail  string // the function's error, "" for none
	}{
		{"struct", struct{ A int }{1}, `{"A":1}`, ""},
		{"raw bytes", []byte(`[1, 2]`), `[1,2]`, ""}, // not base64 as json.Marshal would make it
		{"json.RawMessage", json.RawMessage(`"s"`), `"s"`, ""},
		{"function error", map[string]string{"fail": "boom"}, "", "boom"},
		{"not JSON", []byte(`{`), "", "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := rie.Invoke(t.Context(), tt.event)
			if tt.fail != "" {
				if !errors.Is(err, ErrFunction) || !strings.Contains(err.Error(), tt.fail) {
					t.Fatalf("Invoke: %v, want a function error with %q (payload %s)", err, tt.fail, payload)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var r reply
			if err := json.Unmarshal(payload, &r); err != nil {
				t.Fatalf("payload %s: %v", payload, err)
			}
			if string(r.Event) != tt.want {
				t.Errorf("function got %s, want %s", r.Event, tt.want)
			}
			want := map[string]string{
				"AWS_REGION":               "eu-west-1", // env overrides the default
				"AWS_ACCESS_KEY_ID":        "AKIALAMBDATEST000000",
				"AWS_LAMBDA_FUNCTION_NAME": "echo",
				"ECHO":                     "hello",
				"HOME":                     "",
			}
			for k, v := range want {
				if r.Env[k] != v {
					t.Errorf("function's %s = %q, want %q", k, r.Env[k], v)
				}
			}
		})
	}
	if rie.ColdStart() <= 0 {
		t.Errorf("ColdStart = %v after invocations", rie.ColdStart())
	}
	if d, ok := rie.Init(); !ok || d <= 0 || d > rie.ColdStart() {
		t.Errorf("Init = %v, %v; want a positive duration within the cold start %v", d, ok, rie.ColdStart())
	}
	if !strings.Contains(rie.Output(), "START RequestId") {
		t.Errorf("Output lacks the emulator's log:\n%s", rie.Output())
	}
	t.Logf("echo cold start: %v", rie.ColdStart())
}

func TestFunctionError(t *testing.T) {
	tests := []struct {
		payload string
		want    bool
	}{
		{`{"errorMessage":"boom","errorType":"errorString"}`, true},
		{` {"errorType":"Runtime.ExitError","errorMessage":""}`, true},
		{`{"errorMessage":"boom"}`, false},
		{`{"errorType":"x"}`, false},
		{`{"statusCode":200}`, false},
		{`"errorType"`, false},
		{`{`, false},
		{``, false},
	}
	for _, tt := range tests {
		err := functionError([]byte(tt.payload))
		if (err != nil) != tt.want || err != nil && !errors.Is(err, ErrFunction) {
			t.Errorf("functionError(%s) = %v, want error %v", tt.payload, err, tt.want)
		}
	}
}

// fatalTB records a Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB and returns what it failed with.
func fatalOf(t *testing.T, fn func(testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestMissingTools(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name, envVar, want string
		fn                 func(testing.TB)
	}{
		{"no emulator", EnvTools, "run `make tools`",
			func(tb testing.TB) { Start(tb, "bootstrap", nil) }},
		{"no prebuilt bootstrap", EnvLambdaDir, "make lambdas-amd64",
			func(tb testing.TB) { Bootstrap(tb, "policy") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.envVar, empty)
			if msg := fatalOf(t, tt.fn); !strings.Contains(msg, tt.want) {
				t.Errorf("failure %q does not say %q", msg, tt.want)
			}
		})
	}
}

func TestPrebuiltBootstrap(t *testing.T) {
	dir := t.TempDir()
	want := filepath.Join(dir, "tlsrpt", "bootstrap")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvLambdaDir, dir)
	if got := Bootstrap(t, "tlsrpt"); got != want {
		t.Errorf("Bootstrap = %q, want %q", got, want)
	}
}
