package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/storetest"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

// TestCompletesPartial: a save interrupted after the raw body (a crash
// between the file and the database transaction) is completed by the next,
// which keeps the first body.
func TestCompletesPartial(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	e := storetest.Entry(t, storetest.Report("Org", "partial", "2024-03-02", 7, []string{"a.example", "b.example"}))
	if err := s.putRaw(e.Report.Key, []byte("first body")); err != nil {
		t.Fatal(err)
	}
	created, err := s.SaveReport(ctx, e)
	if err != nil || !created {
		t.Fatalf("SaveReport = %v, %v; want created", created, err)
	}
	raw, err := s.Raw(ctx, e.Report.Key)
	if err != nil || string(raw) != "first body" {
		t.Errorf("Raw = %q, %v; want the first body", raw, err)
	}
	for i, d := range []string{"a.example", "b.example"} {
		f, err := s.Facts(ctx, d, "2024-03-02", "2024-03-02")
		if err != nil || len(f) != 1 || f[0].Success != e.Facts[i].Success {
			t.Errorf("Facts(%s) = %v, %v", d, f, err)
		}
	}
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	e := storetest.Entry(t, storetest.Report("../Org", "a/b", "2024-03-02", 7, []string{"example.com"}))
	if _, err := s.SaveReport(ctx, e); err != nil {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(s.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(s.Dir(), p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := store.RawKey(e.Report.Key) + " ststack.db"
	if got := strings.Join(files, " "); got != want {
		t.Errorf("files = %s, want %s (no temporary file left, nothing outside reports/)", got, want)
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open = %v, want an in-use error", err)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.Entry(t, storetest.Report("Org", "reopen", "2024-03-02", 7, []string{"example.com"}))
	if _, err := s.SaveReport(ctx, e); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if created, err := s.SaveReport(ctx, e); created || err != nil {
		t.Errorf("SaveReport after reopening = %v, %v; want known", created, err)
	}
}
