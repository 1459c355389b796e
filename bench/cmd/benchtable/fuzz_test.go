package main

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseOutput: any input parses without panicking, every result has a
// Benchmark name without a -N suffix, and the table writes.
func FuzzParseOutput(f *testing.F) {
	f.Add(strings.Join(sampleLines, "\n"))
	for _, l := range sampleLines {
		f.Add(l)
	}
	f.Add(`{"Action":"output","Package":"p","Output":"BenchmarkX-2 \t"}` + "\n" + `{"Action":"output","Package":"p","Output":" 5 \t 3 ns/op\n"}`)
	f.Add(`{"Action":"fail","Package":"p","Test":"BenchmarkX"}`)
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseOutput(strings.NewReader(in))
		if err != nil {
			return // a line over the scanner's limit
		}
		for name, res := range r.Results {
			if name != res.Name || !strings.HasPrefix(name, "Benchmark") || res.Iterations < 0 {
				t.Fatalf("result %q: %+v", name, res)
			}
		}
		var out bytes.Buffer
		if err := r.Write(&out); err != nil {
			t.Fatal(err)
		}
	})
}
