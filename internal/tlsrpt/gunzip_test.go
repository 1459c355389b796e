package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// inflate returns the JSON of a gzip sample, for tests and benchmarks.
func inflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestGzipMembers: a gzip input of several members (RFC 1952 §2.2)
// inflates to their concatenation, whatever the last member's trailer says
// of the size; too large or corrupt, it is refused. Inflating is streamed
// into the decoder, so the memory of a parse does not grow with what the
// input inflates to.
func TestGzipMembers(t *testing.T) {
	report := readSample(t, "rfc8460-example.json")
	half := len(report) / 2
	split := bytes.Join([][]byte{gzipBytes(t, report[:half]), gzipBytes(t, report[half:]), gzipBytes(t, nil)}, nil)
	corrupt := gzipBytes(t, report[half:])
	corrupt[len(corrupt)-8] ^= 0xff // CRC-32 of the second member
	// A valid report with 48 MiB of numbers in an unknown member: not
	// kept, so not held.
	var skipped bytes.Buffer
	skipped.WriteString(`{"x-padding": [`)
	skipped.Write(bytes.Repeat([]byte("0,"), 24<<20))
	skipped.WriteString(`0], `)
	skipped.Write(bytes.TrimPrefix(bytes.TrimSpace(report), []byte("{")))
	tests := []struct {
		name     string
		in       []byte
		lim      Limits
		err      error
		maxAlloc uint64 // bytes allocated by ParseReport
	}{
		{"report in three members", split, DefaultLimits(), nil, 256 << 10},
		{"1 GiB member, then a tiny one", append(zeroBomb(t, 1024, -1), gzipBytes(t, []byte("x"))...), DefaultLimits(), ErrTooLarge, 1 << 20},
		{"16 MiB of members over a 4 MiB limit", bytes.Repeat(gzipBytes(t, make([]byte, 1<<20)), 16), Limits{MaxDecompressed: 4 << 20}, ErrTooLarge, 1 << 20},
		{"64 MiB members, 1 GiB in all", bytes.Repeat(zeroBomb(t, 64, -1), 16), DefaultLimits(), ErrTooLarge, 1 << 20},
		{"48 MiB skipped", gzipBytes(t, skipped.Bytes()), DefaultLimits(), nil, 1 << 20},
		{"corrupt second member", append(gzipBytes(t, report[:half]), corrupt...), DefaultLimits(), ErrMalformed, 1 << 20},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := ParseReport(tt.in, tt.lim)
		runtime.ReadMemStats(&after)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
			}
		} else if err != nil || r.ReportID == "" {
			t.Errorf("%s: %v", tt.name, err)
		}
		const readerAlloc = 64 << 10 // a gzip.Reader
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > tt.maxAlloc+readerAlloc {
			t.Errorf("%s: allocated %d bytes, want at most %d", tt.name, alloc, tt.maxAlloc+readerAlloc)
		}
	}
}

// TestGzipTokenTooLong: a token longer than any string may be is refused
// before the decoder buffers it, naming the field; what the whole input
// inflates to still decides first.
func TestGzipTokenTooLong(t *testing.T) {
	long := `{"organization-name": "` + strings.Repeat("a", 1<<20) + `"}`
	_, err := ParseReport(gzipBytes(t, []byte(long)), DefaultLimits())
	var re *ReportError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &re) || re.Path != "organization-name" {
		t.Errorf("1 MiB string: %v, want ErrTooLarge at organization-name", err)
	}
	_, err = ParseReport(gzipBytes(t, []byte(long)), Limits{MaxDecompressed: 1 << 19})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "inflates to more than") {
		t.Errorf("1 MiB string over a 512 KiB limit: %v", err)
	}
}
