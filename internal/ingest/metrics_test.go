package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
)

// countingMetrics records the entries Stored is called with.
type countingMetrics struct {
	mu   sync.Mutex
	keys []string
}

func (c *countingMetrics) Stored(e store.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, e.Report.Key)
}

// TestMetricsCountNewReports: a stored report is measured once, its
// duplicate and a refused report not at all.
func TestMetricsCountNewReports(t *testing.T) {
	m := &countingMetrics{}
	in, err := New(newEmbedded(t), Options{Domains: served, Logger: quietLogger(), Now: func() time.Time { return now }, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day := now.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	body := rangeReport("metrics-1", day, day.Add(24*time.Hour-time.Second))
	for range 2 {
		if _, err := in.Ingest(ctx, body, ChannelHTTPS); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Ingest(ctx, rangeReport("metrics-2", day.AddDate(-20, 0, 0), day.AddDate(-20, 0, 1)), ChannelHTTPS); err == nil {
		t.Fatal("a report from 20 years ago was accepted")
	}
	if len(m.keys) != 1 {
		t.Errorf("Stored called for %q, want the first report once", m.keys)
	}
}
