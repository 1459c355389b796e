package checktest

import (
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDNSLatency: with a latency set, every answer takes at least that
// long, and concurrent queries wait together, not one after the other.
func TestDNSLatency(t *testing.T) {
	d := NewDNS(t)
	d.Add("a.test. A 192.0.2.1")
	ask := func() (time.Duration, error) {
		q := new(dns.Msg)
		q.SetQuestion("a.test.", dns.TypeA)
		start := time.Now()
		m, err := dns.Exchange(q, d.Addr)
		if err == nil && len(m.Answer) != 1 {
			t.Errorf("answer %v", m.Answer)
		}
		return time.Since(start), err
	}
	if _, err := ask(); err != nil {
		t.Fatal(err)
	}

	const latency, n = 300 * time.Millisecond, 4
	d.SetLatency(latency)
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			took, err := ask()
			if err != nil {
				t.Error(err)
			} else if took < latency {
				t.Errorf("answer after %v, want at least %v", took, latency)
			}
		})
	}
	wg.Wait()
	if all := time.Since(start); all >= n*latency {
		t.Errorf("%d concurrent queries took %v: answered one after the other", n, all)
	}
	if got := d.Queries(); got != n+1 {
		t.Errorf("Queries() = %d, want %d", got, n+1)
	}
}
