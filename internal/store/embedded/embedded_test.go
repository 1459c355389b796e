package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

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

// writeLegacyRaw writes body as the raw body of key in the previous
// layout (the file reports/<key>).
func writeLegacyRaw(t *testing.T, dir, key, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, rawDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(store.RawKey(key))), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCompletesPartial: a save of the previous layout interrupted after the
// raw body file (a crash between the file and the database transaction) is
// completed by the next, which keeps the first body (the file) and stores
// no second one.
func TestCompletesPartial(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	e := storetest.Entry(t, storetest.Report("Org", "partial", "2024-03-02", 7, []string{"a.example", "b.example"}))
	writeLegacyRaw(t, s.Dir(), e.Report.Key, "first body")
	saved, err := s.SaveReport(ctx, e)
	if err != nil || !saved.Created {
		t.Fatalf("SaveReport = %+v, %v; want created", saved, err)
	}
	raw, err := s.Raw(ctx, e.Report.Key)
	if err != nil || string(raw) != "first body" {
		t.Errorf("Raw = %q, %v; want the first body", raw, err)
	}
	if err := os.Remove(filepath.Join(s.Dir(), rawDir, e.Report.Key)); err != nil {
		t.Fatal(err)
	}
	if raw, err := s.Raw(ctx, e.Report.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Raw without the file = %q, %v; want ErrNotFound (no second body stored)", raw, err)
	}
	for i, d := range []string{"a.example", "b.example"} {
		f, err := s.Facts(ctx, d, "2024-03-02", "2024-03-02")
		if err != nil || len(f) != 1 || f[0].Success != e.Facts[i].Success {
			t.Errorf("Facts(%s) = %v, %v", d, f, err)
		}
	}
}

// TestLegacyLayout: a data directory written by the previous layout (raw
// bodies as files reports/<key>) stays readable beside bodies stored in the
// database, and RawKeys lists both.
func TestLegacyLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := storetest.Entry(t, storetest.Report("Org", "old", "2024-03-01", 3, []string{"example.com"}))
	if saved, err := s.SaveReport(ctx, old); err != nil || !saved.Created {
		t.Fatalf("SaveReport = %+v, %v", saved, err)
	}
	// Make it a report of the previous layout: its body a file, not a value.
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bRaw)).Delete([]byte(old.Report.Key)) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	writeLegacyRaw(t, dir, old.Report.Key, "old body")
	writeLegacyRaw(t, dir, tmpPrefix+"0123", "temporary file")
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fresh := storetest.Entry(t, storetest.Report("Org", "new", "2024-03-02", 4, []string{"example.com"}))
	if saved, err := s.SaveReport(ctx, fresh); err != nil || !saved.Created {
		t.Fatalf("SaveReport = %+v, %v", saved, err)
	}
	if saved, err := s.SaveReport(ctx, old); err != nil || saved.Created {
		t.Errorf("SaveReport of the old report = %+v, %v; want known", saved, err)
	}
	tests := []struct {
		key  string
		want string // "" for ErrNotFound
	}{
		{old.Report.Key, "old body"},
		{fresh.Report.Key, string(fresh.Raw)},
		{tmpPrefix + "0123", ""},
		{"no-such-report", ""},
		{"..", ""},
	}
	for _, tc := range tests {
		raw, err := s.Raw(ctx, tc.key)
		if tc.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Raw(%q) = %q, %v; want ErrNotFound", tc.key, raw, err)
			}
		} else if err != nil || string(raw) != tc.want {
			t.Errorf("Raw(%q) = %q, %v; want %q", tc.key, raw, err, tc.want)
		}
	}
	keys, err := s.RawKeys(ctx)
	want := []string{fresh.Report.Key, old.Report.Key}
	slices.Sort(want)
	if err != nil || !slices.Equal(keys, want) {
		t.Errorf("RawKeys = %q, %v; want %q", keys, err, want)
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
	if got := strings.Join(files, " "); got != dbFile {
		t.Errorf("files = %s, want %s only (raw bodies in the database)", got, dbFile)
	}
	raw, err := s.Raw(ctx, e.Report.Key)
	if err != nil || string(raw) != string(e.Raw) {
		t.Errorf("Raw = %q, %v", raw, err)
	}
	keys, err := s.RawKeys(ctx)
	if err != nil || !slices.Equal(keys, []string{e.Report.Key}) {
		t.Errorf("RawKeys = %q, %v", keys, err)
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
	if saved, err := s.SaveReport(ctx, e); saved.Created || err != nil {
		t.Errorf("SaveReport after reopening = %+v, %v; want known", saved, err)
	}
}
