package hostile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Memory bounds (peak resident set, VmHWM) the processes must stay under
// while each request of the corpus is handled (the peak is reset before each
// request, so it includes what the process kept from before). The largest
// costs are a report of 100,000 failure details (the limit: the parsed
// failure details and the garbage of growing slices) and bodies inflating
// to nearly the 64 MiB limit (gzip is decoded as it is inflated, never held
// whole). The Lambda functions must stay well under their memory sizes
// (infra: tlsrpt 256 MB, policy 128 MB): half of it for tlsrpt, a margin
// for the Lambda runtime and the invocation event. Measured: serve about
// 78 MiB, tlsrpt about 55 MiB, policy about 8 MiB (docs/performance.md).
const (
	serveMemoryBound  = 160 << 20
	tlsrptMemoryBound = 128 << 20
	policyMemoryBound = 32 << 20
)

// orgFile is the organisation the corpus is written for: reports about
// example.com and example.org are served, mta-sts.example.com is a policy
// host.
const orgFile = `organization: Hostile Test
region: eu-west-1
domains:
  - name: example.com
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.example.com]}
  - name: example.org
    dns: {external: true}
    policy: {mode: testing, mx: ["*.example.org"]}
reporting: {https: true}
`

// servedDomains are the domains of orgFile; foreignDomains some the corpus
// reports about.
var (
	servedDomains  = []string{"example.com", "example.org"}
	foreignDomains = []string{"foreign.example", "evil.example", "xn--bcher-kva.example", "d0.foreign.example"}
)

// buildCLI builds cmd/ststack into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ststack")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/ststack")
	cmd.Dir = "../.."
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building ststack: %v\n%s", err, msg)
	}
	return out
}

// serveProc is a running `ststack serve`.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	logs *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listening = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)

// startServe runs bin serve on a free loopback port, with the extra
// flags, and waits until it says where it listens.
func startServe(t *testing.T, bin, config, data string, extra ...string) *serveProc {
	t.Helper()
	p := &serveProc{logs: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--config", config, "--addr", "127.0.0.1:0", "--data", data}, extra...)...)
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("ststack serve log:\n%s", lastLines(p.logs.String(), 40))
		}
	})
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("ststack serve exited: %v\n%s", err, p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("ststack serve did not start:\n%s", p.logs.String())
	}
	return p
}

// stop interrupts the server and waits for it to exit.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("ststack serve exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("ststack serve did not stop on SIGINT")
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// resetPeakRSS sets the VmHWM of process pid back to its current resident
// set (proc(5), /proc/pid/clear_refs: "5"), so that the next peakRSS is the
// peak of what happens in between (including what the process kept from
// before: the Go runtime returns freed memory to the system lazily).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// casePeak records the status and peak resident memory of one request.
type casePeak struct {
	name   string
	status int
	peak   int64
}

// checkPeaks prints, per request, its status and the peak resident memory
// while it was handled, and fails a request whose peak is over bound.
func checkPeaks(t *testing.T, proc string, peaks []casePeak, bound int64) {
	t.Helper()
	var top casePeak
	for _, p := range peaks {
		t.Logf("%s %-44s status %3d  peak RSS %6.1f MiB", proc, p.name, p.status, float64(p.peak)/(1<<20))
		if p.peak > bound {
			t.Errorf("%s: %s: peak RSS %.1f MiB, over the bound of %d MiB", proc, p.name, float64(p.peak)/(1<<20), bound>>20)
		}
		if p.peak > top.peak {
			top = p
		}
	}
	t.Logf("%s: highest peak RSS %.1f MiB (%s), bound %d MiB", proc, float64(top.peak)/(1<<20), top.name, bound>>20)
}

// peakRSS returns the VmHWM of process pid, in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// send writes c's request to addr on a new connection, as a client would
// (the body slowly when the case says so, a half-close after a body shorter
// than its declared length), and returns the status of the answer.
func send(addr string, c Case) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	head, short := c.Wire()
	if te, ok := c.get("Transfer-Encoding"); ok && strings.EqualFold(te, "chunked") && !bytes.HasSuffix(c.Body, []byte("0\r\n\r\n")) {
		short = true
	}
	// The server may answer before it has read the body (413 on the
	// declared length): write and read at once.
	go func() {
		if _, err := conn.Write(head); err != nil {
			return
		}
		body := c.Body
		for len(body) > 0 {
			n := len(body)
			if c.SlowChunk > 0 {
				n = min(n, c.SlowChunk)
				time.Sleep(c.SlowEvery)
			}
			if _, err := conn.Write(body[:n]); err != nil {
				return
			}
			body = body[n:]
		}
		if short {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: c.Method})
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, nil
}

// storedKeys are the identity keys of the reports the corpus stores, and
// of extra.
func storedKeys(t *testing.T, cases []Case, extra ...[]byte) []string {
	t.Helper()
	var keys []string
	for _, body := range extra {
		r, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.Identity().Key())
	}
	for _, c := range cases {
		if !c.Stores {
			continue
		}
		r, err := tlsrpt.ParseReport(c.Body, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		keys = append(keys, r.Identity().Key())
	}
	slices.Sort(keys)
	return keys
}

// controlReport is a valid report posted after the corpus: the endpoint
// still takes reports.
var controlReport = []byte(`{"organization-name":"Control","date-range":{"start-datetime":"2024-03-02T00:00:00Z","end-datetime":"2024-03-02T23:59:59Z"},"report-id":"control-1","policies":[{"policy":{"policy-type":"sts","policy-domain":"example.org"},"summary":{"total-successful-session-count":5,"total-failure-session-count":0}}]}`)

// TestServe replays the corpus against `ststack serve`.
func TestServe(t *testing.T) {
	cases := loadCorpus(t)
	dir := t.TempDir()
	cfg, data := filepath.Join(dir, "ststack.yaml"), filepath.Join(dir, "data")
	if err := os.WriteFile(cfg, []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, buildCLI(t), cfg, data)
	pwned := "/tmp/ststack-pwned"
	_, pwnedBefore := os.Stat(pwned)

	pid := p.cmd.Process.Pid
	var peaks []casePeak
	for _, c := range cases {
		if err := resetPeakRSS(pid); err != nil {
			t.Fatal(err)
		}
		got, err := send(p.addr, c)
		if err != nil || got != c.Expect {
			t.Errorf("%s: status %d, %v; want %d (%s)", c.Name, got, err, c.Expect, c.Comment)
		}
		rss, err := peakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		peaks = append(peaks, casePeak{c.Name, got, rss})
	}
	checkPeaks(t, "serve", peaks, serveMemoryBound)
	// Still serving: a policy and a new report.
	control := Case{Name: "control-policy", Method: "GET", Target: "/.well-known/mta-sts.txt", Proto: "HTTP/1.1",
		Header: [][2]string{{"Host", "MTA-STS.Example.COM:443"}}}
	if st, err := send(p.addr, control); st != http.StatusOK {
		t.Errorf("policy after the corpus: %d, %v", st, err)
	}
	control = Case{Name: "control-report", Method: "POST", Target: "/v1/tlsrpt", Proto: "HTTP/1.1",
		Header: [][2]string{{"Host", "reports.example.net"}, {"Content-Type", "application/tlsrpt+json"}}, Body: controlReport}
	if st, err := send(p.addr, control); st != http.StatusCreated {
		t.Errorf("report after the corpus: %d, %v", st, err)
	}

	p.stop(t)

	// Nothing escaped the data directory.
	if _, err := os.Stat(pwned); err == nil && pwnedBefore != nil {
		t.Errorf("%s was created", pwned)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "ststack.yaml" && e.Name() != "data" {
			t.Errorf("%s appeared beside the data directory", e.Name())
		}
	}
	checkEmbedded(t, data, storedKeys(t, cases, controlReport))
}

// checkEmbedded checks that the embedded store in data holds exactly the
// reports keys: records, raw bodies (in the database, nothing in the
// directory of the previous layout) and facts of the served domains only.
func checkEmbedded(t *testing.T, data string, keys []string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(data, "reports")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("raw body directory of the previous layout: %v; want none", err)
	}
	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.RawKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stored, keys) {
		t.Errorf("raw bodies stored: %q\nwant: %q", stored, keys)
	}
	ctx := context.Background()
	for _, k := range keys {
		if err := store.ValidKey(k); err != nil {
			t.Errorf("key %q: %v", k, err)
		}
		if _, err := st.Report(ctx, k); err != nil {
			t.Errorf("report %s: %v", k, err)
		}
		if raw, err := st.Raw(ctx, k); err != nil || len(raw) == 0 {
			t.Errorf("raw body %s: %d bytes, %v", k, len(raw), err)
		}
	}
	var factKeys []string
	for _, d := range append(slices.Clone(servedDomains), foreignDomains...) {
		facts, err := st.Facts(ctx, d, "0001-01-01", "9999-12-31")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range facts {
			if !slices.Contains(servedDomains, f.Domain) {
				t.Errorf("fact stored for %s", f.Domain)
			}
			factKeys = append(factKeys, f.ReportKey)
		}
	}
	slices.Sort(factKeys)
	if !slices.Equal(factKeys, keys) {
		t.Errorf("facts stored for %q\nwant %q", factKeys, keys)
	}
}

// TestServeConcurrent posts each of the costliest refused reports of the
// corpus three times at once (issue 14 §1: a body was parsed whole before
// the duplicate check, and three concurrent re-posts of the array bomb took
// 2.6 GB): every post gets its status, and serve's peak resident memory
// stays under the same bound as for one request at a time.
func TestServeConcurrent(t *testing.T) {
	const copies = 3
	var heavy []Case
	for _, c := range loadCorpus(t) {
		switch c.Name {
		case "report-policy-string-bomb", "report-mx-host-bomb", "report-too-many-details", "report-too-many-policies":
			heavy = append(heavy, c)
		}
	}
	if len(heavy) != 4 {
		t.Fatalf("%d of the 4 heavy cases in the corpus", len(heavy))
	}
	dir := t.TempDir()
	cfg, data := filepath.Join(dir, "ststack.yaml"), filepath.Join(dir, "data")
	if err := os.WriteFile(cfg, []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, buildCLI(t), cfg, data)
	defer p.stop(t)
	pid := p.cmd.Process.Pid
	var peaks []casePeak
	for _, c := range heavy {
		if err := resetPeakRSS(pid); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := send(p.addr, c); err != nil || got != c.Expect {
					t.Errorf("%s: status %d, %v; want %d", c.Name, got, err, c.Expect)
				}
			}()
		}
		wg.Wait()
		rss, err := peakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		peaks = append(peaks, casePeak{fmt.Sprintf("%s ×%d", c.Name, copies), c.Expect, rss})
	}
	checkPeaks(t, "serve", peaks, serveMemoryBound)
}
