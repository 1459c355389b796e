package embedded

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/storetest"
)

// TestConcurrentSavesBatched: saves running at once share transactions
// (bbolt Batch); 8 reports saved 4 times each, all 32 at once, are each
// created exactly once, with their record and their facts; an invalid
// entry saved among them is refused without disturbing them.
func TestConcurrentSavesBatched(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var entries []store.Entry
	for i := range 8 {
		entries = append(entries, storetest.Entry(t, storetest.Report("Org", fmt.Sprintf("batch-%d", i), "2024-03-02", int64(i+1), []string{"a.example", "b.example"})))
	}
	bad := entries[0]
	bad.Facts = nil // refused by Check, before any write
	created := make([]int, len(entries))
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for round := range 4 {
		for i, e := range entries {
			wg.Go(func() {
				<-gate
				c, err := s.SaveReport(ctx, e)
				if err != nil {
					t.Errorf("report %d, save %d: %v", i, round, err)
					return
				}
				if c.Created {
					mu.Lock()
					created[i]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Go(func() {
		<-gate
		if _, err := s.SaveReport(ctx, bad); err == nil {
			t.Error("an entry without facts was saved")
		}
	})
	close(gate)
	wg.Wait()
	for i, n := range created {
		if n != 1 {
			t.Errorf("report %d created %d times, want once", i, n)
		}
	}
	for i, e := range entries {
		if _, err := s.Report(ctx, e.Report.Key); err != nil {
			t.Errorf("report %d: %v", i, err)
		}
	}
	for _, d := range []string{"a.example", "b.example"} {
		facts, err := s.Facts(ctx, d, "2024-03-02", "2024-03-02")
		if err != nil || len(facts) != len(entries) {
			t.Errorf("%s: %d facts, %v; want %d", d, len(facts), err, len(entries))
		}
		var sum int64
		for _, f := range facts {
			sum += f.Success
		}
		if sum != 36 { // 1+2+…+8
			t.Errorf("%s: %d successful sessions, want 36", d, sum)
		}
	}
	if n := s.writers.Load(); n != 0 {
		t.Errorf("%d writers still counted", n)
	}
}
