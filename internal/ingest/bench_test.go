package ingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// BenchmarkHandler posts a new report (JSON, about 900 bytes) per
// iteration through the handler into the embedded store, which syncs raw
// body and database to disk for each: reports per second end to end.
func BenchmarkHandler(b *testing.B) {
	h := newHandler(b, newEmbedded(b), Options{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if a := post(h, report("example.com", strconv.Itoa(i))); a.status != http.StatusCreated {
			b.Fatalf("%d %q", a.status, a.body)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkHandlerParallel is BenchmarkHandler with concurrent senders.
func BenchmarkHandlerParallel(b *testing.B) {
	h := newHandler(b, newEmbedded(b), Options{})
	b.ReportAllocs()
	var n atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(n.Add(1), 10)
			if a := post(h, report("example.com", id)); a.status != http.StatusCreated {
				b.Errorf("%d %q", a.status, a.body)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "reports/s")
}

// BenchmarkHandlerKnown posts the same report again and again: the
// duplicate path (parse, one read, 200).
func BenchmarkHandlerKnown(b *testing.B) {
	h := newHandler(b, newEmbedded(b), Options{})
	body := report("example.com", "known")
	post(h, body)
	b.ReportAllocs()
	for b.Loop() {
		if a := post(h, body); a.status != http.StatusOK {
			b.Fatalf("%d %q", a.status, a.body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkParse is parse, validate and normalise (tlsrpt.ParseReport and
// store.NewEntry) per real report, JSON and gzip.
func BenchmarkParse(b *testing.B) {
	for _, s := range samples(b) {
		for _, f := range []struct {
			name string
			data []byte
		}{{"json", s.json}, {"gzip", gzipped(b, s.json)}} {
			b.Run(s.name+"/"+f.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(f.data)))
				for b.Loop() {
					rep, err := tlsrpt.ParseReport(f.data, tlsrpt.Limits{})
					if err != nil {
						b.Fatal(err)
					}
					store.NewEntry(rep, f.data, nil, ChannelHTTPS, now)
				}
			})
		}
	}
}

// bigReport is a valid report of about size bytes of JSON: one policy with
// as many distinct failure details as it takes.
func bigReport(id string, size int) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"organization-name":"Big Org","date-range":{"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"},"report-id":%q,"policies":[{"policy":{"policy-type":"sts","policy-domain":"example.com","mx-host":["mx.example.com"]},"summary":{"total-successful-session-count":1,"total-failure-session-count":%d},"failure-details":[`, id, 0)
	n := 0
	for buf.Len() < size-300 {
		if n > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"result-type":"certificate-not-trusted","sending-mta-ip":"2001:db8::%x","receiving-mx-hostname":"mx%d.example.com","receiving-ip":"192.0.2.%d","failed-session-count":1,"failure-reason-code":"X509 chain for mx%d rejected"}`,
			n, n%50, n%250, n)
		n++
	}
	buf.WriteString("]}]}")
	return bytes.Replace(buf.Bytes(), []byte(`"total-failure-session-count":0`), fmt.Appendf(nil, `"total-failure-session-count":%d`, n), 1)
}

// peakHeap runs fn while sampling the live heap every 100 µs, and returns
// the highest value above what was live before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// BenchmarkLargeReport posts a 10 MB (JSON) report, gzip-compressed, as a
// new report each iteration: time and peak heap of one large report.
func BenchmarkLargeReport(b *testing.B) {
	h := newHandler(b, newEmbedded(b), Options{})
	json := bigReport("big-0", 10_000_000)
	gzipSize := len(gzipped(b, json))
	var peak uint64
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		body := gzipped(b, bytes.Replace(json, []byte(`"big-0"`), fmt.Appendf(nil, `"big-%d"`, i), 1))
		var a answer
		peak = max(peak, peakHeap(func() { a = post(h, body, "Content-Type", "application/tlsrpt+gzip") }))
		if a.status != http.StatusCreated {
			b.Fatalf("%d %q", a.status, a.body)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(gzipSize), "gzip-bytes")
}

// bombOf returns a gzip body of at most size bytes inflating to about 1000
// times that: gzip members of 64 MiB of zeros, concatenated (RFC 1952
// §2.2 allows several members; Go's reader reads them all).
func bombOf(b *testing.B, size int) []byte {
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	var out bytes.Buffer
	for out.Len()+one.Len() <= size {
		out.Write(one.Bytes())
	}
	return out.Bytes()
}

// BenchmarkGzipBomb posts gzip bombs at the body limit and below: refused
// with 413 after inflating at most Limits.MaxDecompressed.
func BenchmarkGzipBomb(b *testing.B) {
	for _, size := range []int{1 << 20, DefaultMaxBody} {
		body := bombOf(b, size)
		b.Run(fmt.Sprintf("%dKiB-to-%dGiB", len(body)>>10, int64(len(body))*1030>>30), func(b *testing.B) {
			h := newHandler(b, newEmbedded(b), Options{})
			var peak uint64
			b.ReportAllocs()
			for b.Loop() {
				var a answer
				peak = max(peak, peakHeap(func() { a = post(h, body, "Content-Type", "application/tlsrpt+gzip") }))
				if a.status != http.StatusRequestEntityTooLarge {
					b.Fatalf("%d %q", a.status, a.body)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
