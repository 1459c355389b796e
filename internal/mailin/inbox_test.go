package mailin

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
)

// drop writes a file into the inbox, as old as age.
func drop(t *testing.T, dir, name string, data []byte, age time.Duration) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			l = append(l, e.Name())
		}
	}
	return l
}

// TestInbox: files dropped in the folder are processed once and moved:
// reports to done/, the rest to rejected/ with their reason; files still
// being written and hidden files wait.
func TestInbox(t *testing.T) {
	d := checktest.NewDNS(t)
	st := openStore(t)
	p := newProcessor(t, st, d, Options{})
	dir := filepath.Join(t.TempDir(), "inbox")
	b, err := NewInbox(dir, p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	google := sample(t, googleEML)
	drop(t, dir, "google.eml", google, time.Minute)
	drop(t, dir, "again.eml", google, time.Minute)
	drop(t, dir, "spam.eml", []byte("From: a@spam.example\r\n\r\nBuy.\r\n"), time.Minute)
	drop(t, dir, "fresh.eml", sample(t, microsoftEML), 0)
	drop(t, dir, ".partial", google, time.Minute)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}

	n, err := b.Poll(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Poll = %d, %v; want 3 files moved", n, err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{".partial", "fresh.eml"}) {
		t.Errorf("left in the inbox: %v", got)
	}
	if got := names(t, filepath.Join(dir, DoneDir)); !slices.Equal(got, []string{"again.eml", "google.eml"}) {
		t.Errorf("done: %v", got)
	}
	if got := names(t, filepath.Join(dir, RejectedDir)); !slices.Equal(got, []string{"spam.eml", "spam.eml.reason"}) {
		t.Errorf("rejected: %v", got)
	}
	why, _ := os.ReadFile(filepath.Join(dir, RejectedDir, "spam.eml.reason"))
	if !strings.HasPrefix(string(why), "not-report: ") {
		t.Errorf("reason file: %q", why)
	}
	if _, err := st.Report(context.Background(), keyOf(t, google)); err != nil {
		t.Errorf("report not stored: %v", err)
	}

	// The same name again goes beside the first; the fresh file, once
	// settled, is processed.
	drop(t, dir, "spam.eml", []byte("From: a@spam.example\r\n\r\nBuy more.\r\n"), time.Minute)
	b.now = func() time.Time { return time.Now().Add(time.Minute) }
	if n, err := b.Poll(context.Background()); err != nil || n != 2 {
		t.Fatalf("second Poll = %d, %v; want 2", n, err)
	}
	if got := names(t, filepath.Join(dir, RejectedDir)); !slices.Equal(got, []string{"spam.eml", "spam.eml.1", "spam.eml.1.reason", "spam.eml.reason"}) {
		t.Errorf("rejected: %v", got)
	}
	if got := names(t, filepath.Join(dir, DoneDir)); !slices.Contains(got, "fresh.eml") {
		t.Errorf("done: %v", got)
	}
}

// TestInboxTemporary: a file whose processing fails stays for the next
// polls, then is rejected after maxAttempts, never retried forever.
func TestInboxTemporary(t *testing.T) {
	d := checktest.NewDNS(t)
	p := newProcessor(t, &failingStore{}, d, Options{})
	dir := t.TempDir()
	b, err := NewInbox(dir, p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drop(t, dir, "r.eml", sample(t, googleEML), time.Minute)
	for i := 1; i < maxAttempts; i++ {
		if n, err := b.Poll(context.Background()); err != nil || n != 0 {
			t.Fatalf("poll %d = %d, %v; want the file kept", i, n, err)
		}
	}
	if n, err := b.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("last poll = %d, %v; want the file rejected", n, err)
	}
	why, err := os.ReadFile(filepath.Join(dir, RejectedDir, "r.eml.reason"))
	if err != nil || !strings.Contains(string(why), "gave up after 5 attempts") {
		t.Errorf("reason: %q, %v", why, err)
	}
	if len(b.attempts) != 0 {
		t.Errorf("attempts kept: %v", b.attempts)
	}
}

// TestInboxRun: Run polls until its context ends.
func TestInboxRun(t *testing.T) {
	d := checktest.NewDNS(t)
	p := newProcessor(t, openStore(t), d, Options{})
	dir := t.TempDir()
	b, err := NewInbox(dir, p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drop(t, dir, "r.eml", sample(t, googleEML), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(names(t, filepath.Join(dir, DoneDir))) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := names(t, filepath.Join(dir, DoneDir)); !slices.Equal(got, []string{"r.eml"}) {
		t.Errorf("done: %v", got)
	}
}

func TestInboxTooLarge(t *testing.T) {
	d := checktest.NewDNS(t)
	p := newProcessor(t, openStore(t), d, Options{MaxMessage: 100})
	dir := t.TempDir()
	b, err := NewInbox(dir, p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drop(t, dir, "big.eml", sample(t, googleEML), time.Minute)
	if n, err := b.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v", n, err)
	}
	why, _ := os.ReadFile(filepath.Join(dir, RejectedDir, "big.eml.reason"))
	if string(why) != "refused: message larger than 100 bytes\n" {
		t.Errorf("reason: %q", why)
	}
}

// TestInboxNeverOverwrites: a file already in rejected/ or done/ is never
// replaced, a "<name>.reason" dropped there before "<name>" included
// (issue 14 §6).
func TestInboxNeverOverwrites(t *testing.T) {
	d := checktest.NewDNS(t)
	p := newProcessor(t, openStore(t), d, Options{})
	dir := t.TempDir()
	b, err := NewInbox(dir, p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	rejected, done := filepath.Join(dir, RejectedDir), filepath.Join(dir, DoneDir)
	for _, f := range []string{
		filepath.Join(rejected, "spam.eml.reason"), // a reason without its file
		filepath.Join(rejected, "spam.eml.1"),      // a file without its reason
		filepath.Join(rejected, "spam.eml.2.reason"),
		filepath.Join(done, "google.eml"),
	} {
		if err := os.WriteFile(f, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	drop(t, dir, "spam.eml", []byte("From: a@spam.example\r\n\r\nBuy.\r\n"), time.Minute)
	drop(t, dir, "google.eml", sample(t, googleEML), time.Minute)
	if n, err := b.Poll(context.Background()); err != nil || n != 2 {
		t.Fatalf("Poll = %d, %v; want 2 files moved", n, err)
	}
	for _, f := range []string{"spam.eml.reason", "spam.eml.1", "spam.eml.2.reason"} {
		if got, _ := os.ReadFile(filepath.Join(rejected, f)); string(got) != "keep me" {
			t.Errorf("rejected/%s = %q, overwritten", f, got)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(done, "google.eml")); string(got) != "keep me" {
		t.Errorf("done/google.eml = %q, overwritten", got)
	}
	if got, _ := os.ReadFile(filepath.Join(rejected, "spam.eml.3")); !strings.Contains(string(got), "Buy.") {
		t.Errorf("rejected/spam.eml.3 = %q, want the message", got)
	}
	if got, _ := os.ReadFile(filepath.Join(rejected, "spam.eml.3.reason")); !strings.HasPrefix(string(got), "not-report: ") {
		t.Errorf("rejected/spam.eml.3.reason = %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(done, "google.eml.1")); !bytes.Equal(got, sample(t, googleEML)) {
		t.Errorf("done/google.eml.1 is not the message (%d bytes)", len(got))
	}
}

// TestInboxLogsSkips: what the inbox leaves alone for good (symbolic
// links, FIFOs, folders, files modified in the future) is logged once,
// not silently ignored (issue 14 §6); a file still being written is not.
func TestInboxLogsSkips(t *testing.T) {
	d := checktest.NewDNS(t)
	p := newProcessor(t, openStore(t), d, Options{})
	dir := t.TempDir()
	var logged bytes.Buffer
	b, err := NewInbox(dir, p, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	drop(t, dir, "future.eml", sample(t, googleEML), -time.Hour)
	drop(t, dir, "fresh.eml", sample(t, googleEML), 0)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.eml")); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(filepath.Join(dir, "pipe.eml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Poll(context.Background()); err != nil || n != 0 {
		t.Fatalf("Poll = %d, %v; want nothing moved", n, err)
	}
	first := logged.String()
	for _, want := range []string{
		`file=` + filepath.Join(dir, "future.eml") + ` reason="modified in the future`,
		`file=` + filepath.Join(dir, "link.eml") + ` reason="a symbolic link`,
		`file=` + filepath.Join(dir, "pipe.eml") + ` reason="not a regular file (named pipe)`,
		`file=` + filepath.Join(dir, "sub") + ` reason="a folder`,
	} {
		if strings.Count(first, want) != 1 {
			t.Errorf("log lacks %q once:\n%s", want, first)
		}
	}
	for _, quiet := range []string{"fresh.eml", DoneDir, RejectedDir} {
		if strings.Contains(first, quiet) {
			t.Errorf("log names %s:\n%s", quiet, first)
		}
	}
	if _, err := b.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logged.Len() != len(first) {
		t.Errorf("second poll logged again:\n%s", logged.String()[len(first):])
	}
	// Once gone, a file is forgotten: the same name skipped again is
	// logged again.
	if err := os.Remove(filepath.Join(dir, "link.eml")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.eml")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logged.String(), "link.eml"); n != 2 {
		t.Errorf("link.eml logged %d times, want 2:\n%s", n, logged.String())
	}
}
