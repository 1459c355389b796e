package checker

import (
	"context"
	"fmt"
	"testing"

	"github.com/ststack/ststack/internal/checker/checktest"
)

// BenchmarkCheck1000Domains checks 1,000 healthy domains against the
// loopback fixtures with the default concurrency (16): per domain, four DNS
// questions, one TLS handshake and one policy fetch. The servers run on the
// same machine, so this measures checker and fixtures together.
func BenchmarkCheck1000Domains(b *testing.B) {
	const n = 1000
	w := checktest.NewWorld(b, testNow)
	targets := make([]Target, n)
	for i := range n {
		name := fmt.Sprintf("d%04d.bench.test", i)
		d, p := healthyDomain(b, name, "enforce")
		w.Serve(b, d)
		targets[i] = testTarget(b, name, p)
	}
	c := newChecker(b, testConfig(w))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, r := range c.CheckAll(ctx, targets, nil) {
			if len(r.Findings) != 0 {
				b.Fatalf("%s: %+v", r.Domain, r.Findings)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "domains/s")
}
