package bench

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ststack/ststack/bench/corpus"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/store/embedded"
)

// ingestDomains is the number of served domains of the ingest benchmark.
const ingestDomains = 50

// newIngestHandler returns ststack's report endpoint over a fresh
// embedded store in dir.
func newIngestHandler(tb testing.TB, dir string) http.Handler {
	tb.Helper()
	st, err := embedded.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	in, err := ingest.New(st, ingest.Options{Domains: domainNames(ingestDomains), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return ingest.NewHandler(in)
}

// plainReceiver is the baseline of BenchmarkIngest: the common receiver,
// which decodes the report (plainDecode) and writes the body to a new file,
// synced before it answers 201. It neither deduplicates nor stores facts.
type plainReceiver struct {
	dir string
	seq atomic.Int64
}

func (p *plainReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ingest.DefaultMaxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	rep, err := plainDecode(body)
	if err != nil || rep.ReportID == "" {
		http.Error(w, "not a report", http.StatusBadRequest)
		return
	}
	name := filepath.Join(p.dir, strconv.FormatInt(p.seq.Add(1), 10))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = f.Write(body)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// post sends body to h as a sender would and returns the status.
func post(h http.Handler, r corpus.Report) int {
	ct := "application/tlsrpt+json"
	if r.Gzipped {
		ct = "application/tlsrpt+gzip"
	}
	req := httptest.NewRequest(http.MethodPost, ingest.Path, bytes.NewReader(r.Body))
	req.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkIngest posts new reports of the corpus (each iteration one
// report, half of them gzip) to ststack's report endpoint with the embedded
// store, and to the plain receiver, from 1 and from 8 concurrent senders:
// reports/s, and the p50 and p99 latency of one post. The handlers are
// called directly (no connection); every answer must be 201.
func BenchmarkIngest(b *testing.B) {
	for _, c := range []int{1, 8} {
		for _, impl := range []string{"ststack", "plain"} {
			b.Run(fmt.Sprintf("%s/c=%d", impl, c), func(b *testing.B) {
				dir := b.TempDir()
				var h http.Handler = &plainReceiver{dir: dir}
				if impl == "ststack" {
					h = newIngestHandler(b, dir)
				}
				reports := corpus.Generate(corpusSeed, b.N, corpus.Options{Domains: domainNames(ingestDomains)})
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for range c {
					wg.Go(func() {
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							t0 := time.Now()
							st := post(h, reports[i])
							lat[i] = time.Since(t0)
							if st != http.StatusCreated {
								b.Errorf("report %d: status %d", i, st)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
				b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// TestIngestBaseline: the plain receiver stores what ststack stores a
// body for, and refuses what ststack refuses as malformed.
func TestIngestBaseline(t *testing.T) {
	reports := corpus.Generate(corpusSeed, 20, corpus.Options{Domains: domainNames(ingestDomains)})
	plain := &plainReceiver{dir: t.TempDir()}
	st := newIngestHandler(t, t.TempDir())
	for i, r := range reports {
		if a, b := post(st, r), post(plain, r); a != http.StatusCreated || b != http.StatusCreated {
			t.Fatalf("report %d: ststack %d, plain %d", i, a, b)
		}
	}
	files, _ := os.ReadDir(plain.dir)
	if len(files) != len(reports) {
		t.Errorf("plain receiver wrote %d files for %d reports", len(files), len(reports))
	}
	bad := corpus.Report{Body: []byte(`{"organization-name":`)}
	if a, b := post(st, bad), post(plain, bad); a != http.StatusBadRequest || b != http.StatusBadRequest {
		t.Errorf("truncated JSON: ststack %d, plain %d; want 400", a, b)
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{[]time.Duration{1, 2, 3, 4}, 50, 2}, {[]time.Duration{1, 2, 3, 4}, 99, 4},
		{[]time.Duration{7}, 50, 7}, {nil, 50, 0},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.sorted, c.p, got, c.want)
		}
	}
}
