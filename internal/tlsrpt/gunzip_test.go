package tlsrpt

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

// TestGunzipMembers: a gzip input of several members (RFC 1952 §2.2)
// inflates to their concatenation, whatever the last member's trailer says
// of the size, with memory for the output once; too large or corrupt, it
// is refused.
func TestGunzipMembers(t *testing.T) {
	report := readSample(t, "rfc8460-example.json")
	half := len(report) / 2
	split := bytes.Join([][]byte{gzipBytes(t, report[:half]), gzipBytes(t, report[half:]), gzipBytes(t, nil)}, nil)
	corrupt := gzipBytes(t, report[half:])
	corrupt[len(corrupt)-8] ^= 0xff // CRC-32 of the second member
	tests := []struct {
		name     string
		in       []byte
		lim      Limits
		err      error
		maxAlloc uint64 // bytes allocated by gunzip, besides a gzip.Reader
	}{
		{"report in three members", split, DefaultLimits(), nil, 4 * uint64(len(report))},
		{"1 GiB member, then a tiny one", append(zeroBomb(t, 1024, -1), gzipBytes(t, []byte("x"))...), DefaultLimits(), ErrTooLarge, 1 << 20},
		{"16 MiB of members over a 4 MiB limit", bytes.Repeat(gzipBytes(t, make([]byte, 1<<20)), 16), Limits{MaxDecompressed: 4 << 20}, ErrTooLarge, 1 << 20},
		// The first 1 MiB (the hint) and the 3 MiB output; growing by
		// doubling allocated 7 MiB.
		{"members within the limit", bytes.Repeat(gzipBytes(t, make([]byte, 1<<20)), 3), Limits{MaxDecompressed: 4 << 20}, nil, 3<<20 + 1<<20},
		// One member claiming 64 MiB, the limit: sized before it is
		// kept, so refused without allocating.
		{"64 MiB members, 1 GiB in all", bytes.Repeat(zeroBomb(t, 64, -1), 16), DefaultLimits(), ErrTooLarge, 1 << 20},
		{"one 16 MiB member", zeroBomb(t, 16, -1), DefaultLimits(), nil, 16<<20 + 1<<20},
		{"corrupt second member", append(gzipBytes(t, report[:half]), corrupt...), DefaultLimits(), ErrMalformed, 1 << 20},
	}
	for _, tt := range tests {
		lim := tt.lim.withDefaults()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		out, err := gunzip(tt.in, lim.MaxDecompressed)
		runtime.ReadMemStats(&after)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		const readerAlloc = 128 << 10 // a gzip.Reader, when the pool has none
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > tt.maxAlloc+readerAlloc {
			t.Errorf("%s: allocated %d bytes, want at most %d", tt.name, alloc, tt.maxAlloc+readerAlloc)
		}
		if tt.name == "report in three members" {
			if !bytes.Equal(out, report) {
				t.Errorf("%s: inflated to %d bytes, not the report", tt.name, len(out))
			}
			if r, err := ParseReport(tt.in, DefaultLimits()); err != nil || r.ReportID == "" {
				t.Errorf("%s: ParseReport: %v", tt.name, err)
			}
		}
	}
}
