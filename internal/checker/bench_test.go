package checker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
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

// slowHistory and slowStats stand for the report store in AWS: every call
// takes storeLatency, about what a DynamoDB Query or PutItem takes from a
// Lambda function in the same region.
type slowHistory struct{ *MemoryHistory }

type slowStats struct{}

const storeLatency = 8 * time.Millisecond

func (h slowHistory) Last(ctx context.Context, domain string) (health.Result, bool, error) {
	time.Sleep(storeLatency)
	return h.MemoryHistory.Last(ctx, domain)
}

func (h slowHistory) Save(ctx context.Context, r health.Result) error {
	time.Sleep(storeLatency)
	return h.MemoryHistory.Save(ctx, r)
}

func (slowStats) Summary(_ context.Context, domain string, from, to store.Day) (store.Summary, error) {
	time.Sleep(storeLatency)
	return store.Summary{Domain: domain, From: from, To: to}, nil
}

type nopAlerter struct{}

func (nopAlerter) Alert(context.Context, string, []health.Finding, []health.Finding) error {
	return nil
}

// BenchmarkMonitor1000Domains is one scheduled run of the checker
// function over 1,000 healthy domains (Monitor.Run, default concurrency):
// the checks against the loopback fixtures, and per domain the three store
// calls a run makes in AWS (the report sums, the previous result, the new
// result saved), each taking storeLatency. It reports the run's duration
// and the process's user CPU time per run.
func BenchmarkMonitor1000Domains(b *testing.B) {
	const n = 1000
	w := checktest.NewWorld(b, testNow)
	targets := make([]Target, n)
	for i := range n {
		name := fmt.Sprintf("d%04d.bench.test", i)
		d, p := healthyDomain(b, name, "enforce")
		w.Serve(b, d)
		targets[i] = testTarget(b, name, p)
	}
	cfg := testConfig(w)
	cfg.Stats = slowStats{}
	m := &Monitor{Checker: newChecker(b, cfg), History: slowHistory{NewMemoryHistory()}, Alerter: nopAlerter{}}
	ctx := context.Background()
	before := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Run(ctx, targets); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// The CPU time of the whole process: the checker and the fixtures it
	// talks to (both ends of every TLS handshake), an upper bound of the
	// checker's own.
	b.ReportMetric((processCPU()-before).Seconds()/float64(b.N), "cpu-s/run")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "domains/s")
}
