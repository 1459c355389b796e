package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/store"
)

// TestForgedFirst: Google's report-ids are predictable; a forged report
// posted first under the real one's identity must not make the real one
// "already stored" and dropped (issue 14 §2). Both are kept and flagged,
// the conflict is logged, and a re-send of either is still a duplicate.
func TestForgedFirst(t *testing.T) {
	// The forgery is Google's sample as it is (no failures); the real
	// report, sent later, has 40 failed sessions.
	forged, err := os.ReadFile(filepath.Join(samplesDir, "google-2024-02.json"))
	if err != nil {
		t.Fatal(err)
	}
	real := bytes.Replace(forged, []byte(`"total-failure-session-count": 0`), []byte(`"total-failure-session-count": 40`), 1)
	if bytes.Equal(forged, real) {
		t.Fatal("could not make the real report")
	}
	st := newEmbedded(t)
	var logs bytes.Buffer
	h := newHandler(t, st, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if a := post(h, forged, "Content-Type", "application/tlsrpt+json"); a.status != http.StatusCreated {
		t.Fatalf("forged POST: %d %q", a.status, a.body)
	}
	a := post(h, gzipped(t, real), "Content-Type", "application/tlsrpt+gzip")
	if a.status != http.StatusCreated || !strings.Contains(a.body, "beside") {
		t.Fatalf("real POST after the forgery: %d %q, want 201, stored beside the other", a.status, a.body)
	}
	if !strings.Contains(logs.String(), "conflicting") {
		t.Errorf("no log line says conflicting:\n%s", logs.String())
	}
	// Re-sends, in the other format: duplicates, still flagged.
	for _, body := range [][]byte{real, gzipped(t, forged)} {
		if a := post(h, body, "Content-Type", "application/json"); a.status != http.StatusOK {
			t.Errorf("re-send: %d %q, want 200", a.status, a.body)
		}
	}
	facts, err := st.Facts(context.Background(), "example.com", "2024-01-01", "2024-12-31")
	if err != nil {
		t.Fatal(err)
	}
	var failures int64
	for _, f := range facts {
		if !f.Conflict {
			t.Errorf("fact of %s not flagged as conflicting", f.ReportKey)
		}
		failures += f.Failure
	}
	if len(facts) != 2 || failures != 40 {
		t.Errorf("%d facts with %d failures, want the forged and the real one (40 failures)", len(facts), failures)
	}
	for _, f := range facts {
		if _, err := st.Report(context.Background(), f.ReportKey); err != nil {
			t.Errorf("report %s: %v", f.ReportKey, err)
		}
		if store.IdentityKeyOf(f.ReportKey) != store.IdentityKeyOf(facts[0].ReportKey) {
			t.Errorf("facts of two identities: %s", f.ReportKey)
		}
	}
}
