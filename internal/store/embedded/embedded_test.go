package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// TestRawOnlyFromDatabase: raw bodies are read from the database alone; a
// file reports/<key> in the data directory (the layout replaced before any
// release) is neither read nor listed.
func TestRawOnlyFromDatabase(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	fresh := storetest.Entry(t, storetest.Report("Org", "new", "2024-03-02", 4, []string{"example.com"}))
	if saved, err := s.SaveReport(ctx, fresh); err != nil || !saved.Created {
		t.Fatalf("SaveReport = %+v, %v", saved, err)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir(), "reports"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "reports", "file-only"), []byte("old body"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want string // "" for ErrNotFound
	}{
		{fresh.Report.Key, string(fresh.Raw)},
		{"file-only", ""},
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
	if want := []string{fresh.Report.Key}; err != nil || !slices.Equal(keys, want) {
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
