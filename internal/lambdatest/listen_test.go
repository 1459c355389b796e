package lambdatest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestListensOn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("listensOn needs Linux's /proc")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	other := exec.Command("sleep", "10")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	for _, tc := range []struct {
		name string
		pid  int
		addr string
		want bool
	}{
		{"this process's listener", os.Getpid(), addr, true},
		{"another process", other.Process.Pid, addr, false},
	} {
		got, err := listensOn(tc.pid, tc.addr)
		if err != nil || got != tc.want {
			t.Errorf("%s: listensOn = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	l.Close()
	if got, err := listensOn(os.Getpid(), addr); err != nil || got {
		t.Errorf("closed listener: %v, %v", got, err)
	}
	if _, err := listensOn(os.Getpid(), "[::1]:80"); err == nil {
		t.Error("IPv6 address accepted")
	}
}

// TestPortTaken: when another process holds the port chosen for the
// emulator, the emulator exits and launch says so, instead of taking the
// other listener for the emulator; Start then uses other ports.
func TestPortTaken(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ownership of a port is checked with Linux's /proc")
	}
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"not":"the emulator"}`))
	}))
	defer foreign.Close()
	taken := foreign.Listener.Addr().String()
	bootstrap := build(t, "./internal/lambdatest/testdata/echo", "echo")
	free := freePorts(t, 1)[0]
	environ := []string{"AWS_REGION=us-east-1"}
	if r := launch(t, rieBinary(t), bootstrap, environ, []string{"AWS_REGION"}, taken, free); r != nil {
		t.Fatalf("launch on a taken port returned an emulator at %s", r.url)
	}
	rie := Start(t, bootstrap, nil)
	if _, err := rie.Invoke(t.Context(), map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
}
