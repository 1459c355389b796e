package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gateDNS is a Resolver whose lookups wait (up to 2 s) until want of them
// are in flight together, and remembers the most it saw. Every name is a
// CNAME to target.
type gateDNS struct {
	target   string
	want     int
	mu       sync.Mutex
	inflight int
	most     int
	arrived  chan struct{}
	closed   bool
}

func (g *gateDNS) CNAME(_ context.Context, _ string) (string, error) {
	g.mu.Lock()
	g.inflight++
	g.most = max(g.most, g.inflight)
	if g.inflight == g.want && !g.closed {
		close(g.arrived)
		g.closed = true
	}
	g.mu.Unlock()
	select {
	case <-g.arrived:
	case <-time.After(2 * time.Second):
	}
	g.mu.Lock()
	g.inflight--
	g.mu.Unlock()
	return g.target, nil
}

// TestRunConcurrently: Run reconciles several domains at once (one after
// the other, 1,000 client domains outlast the function's 5-minute
// schedule: BenchmarkRun1000), at most Concurrency, and returns their
// states in the order of the domains.
func TestRunConcurrently(t *testing.T) {
	var domains []Domain
	for i := range 6 {
		d := dom(fmt.Sprintf("c%d.example", i))
		d.Target = "k.mta-sts.ops.example"
		domains = append(domains, d)
	}
	g := &gateDNS{target: "k.mta-sts.ops.example", want: 3, arrived: make(chan struct{})}
	e := &Engine{CloudFront: newFakeCF(), DNS: g, States: &MemoryStates{}, Concurrency: 3}
	states, err := e.Run(context.Background(), domains)
	if err != nil {
		t.Fatal(err)
	}
	if g.most < 2 || g.most > 3 {
		t.Errorf("%d DNS lookups in flight at most, want 2 to 3 (Concurrency 3)", g.most)
	}
	for i, s := range states {
		if s.Domain != domains[i].Name || s.Phase != PhaseCertificatePending {
			t.Errorf("state %d: %+v, want %s certificate-pending", i, s, domains[i].Name)
		}
	}
}

// latencyCF, latencyDNS and latencyStates stand for the services in AWS:
// every call takes its latency.
type latencyCF struct {
	CloudFront
	d time.Duration
}

func (l latencyCF) GetTenant(ctx context.Context, name string) (Tenant, error) {
	time.Sleep(l.d)
	return l.CloudFront.GetTenant(ctx, name)
}

func (l latencyCF) Certificate(ctx context.Context, t Tenant) (ManagedCertificate, error) {
	time.Sleep(l.d)
	return l.CloudFront.Certificate(ctx, t)
}

type latencyDNS struct {
	target string
	d      time.Duration
}

func (l latencyDNS) CNAME(context.Context, string) (string, error) {
	time.Sleep(l.d)
	return l.target, nil
}

type latencyStates struct {
	*MemoryStates
	d time.Duration
}

func (l latencyStates) Get(ctx context.Context, domain string) (State, bool, error) {
	time.Sleep(l.d)
	return l.MemoryStates.Get(ctx, domain)
}

func (l latencyStates) Put(ctx context.Context, s State) error {
	time.Sleep(l.d)
	return l.MemoryStates.Put(ctx, s)
}

// BenchmarkRun1000 is one scheduled run over client domains that are
// serving (the steady state): per domain a CNAME lookup (20 ms), the state
// read and written (8 ms each, DynamoDB in the region) and two CloudFront
// reads, the tenant and its certificate (50 ms each, the global control
// plane from another region), at Concurrency 1 (one after the other) and
// the default. It runs 250 domains (a run of 1,000 one after the other
// takes minutes) and reports the time a run over 1,000 takes: domains are
// independent, so it grows linearly.
func BenchmarkRun1000(b *testing.B) {
	const n = 250
	target := "k.mta-sts.ops.example"
	cf := newFakeCF()
	var domains []Domain
	for i := range n {
		d := dom(fmt.Sprintf("c%04d.example", i))
		d.Target = target
		domains = append(domains, d)
		t, _ := cf.CreateTenant(context.Background(), d.Tenant, d.PolicyHost)
		cf.certs[t.ID].Status = CertIssued
		cf.tenants[d.Tenant].CertificateARN = cf.certs[t.ID].ARN
	}
	for _, c := range []int{1, DefaultConcurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			e := &Engine{CloudFront: latencyCF{cf, 50 * time.Millisecond}, DNS: latencyDNS{target, 20 * time.Millisecond},
				States: latencyStates{&MemoryStates{}, 8 * time.Millisecond}, Concurrency: c}
			for b.Loop() {
				states, err := e.Run(context.Background(), domains)
				if err != nil {
					b.Fatal(err)
				}
				if states[n-1].Phase != PhaseServing {
					b.Fatalf("%+v", states[n-1])
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1000/n, "s/1000-domains")
		})
	}
}
