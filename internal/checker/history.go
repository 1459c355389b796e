package checker

import (
	"context"
	"slices"
	"sync"

	"github.com/ststack/ststack/internal/health"
)

// History keeps the latest result of each domain, so that alerts are sent
// when findings appear or clear and not on every run.
//
// Last returns the latest result saved for domain (lower-case A-label); ok
// is false, with no error, when none was ever saved. Save stores r as the
// latest result of r.Domain; an implementation may keep older results too,
// but Last must then return the one with the latest CheckedAt. Findings must
// round-trip with every field intact (their JSON form is stable). Both must
// be safe for concurrent use.
type History interface {
	Last(ctx context.Context, domain string) (r health.Result, ok bool, err error)
	Save(ctx context.Context, r health.Result) error
}

// MemoryHistory is a History in memory, for tests and the CLI. The zero
// value is not usable; use NewMemoryHistory.
type MemoryHistory struct {
	mu   sync.Mutex
	last map[string]health.Result
}

// NewMemoryHistory returns an empty MemoryHistory.
func NewMemoryHistory() *MemoryHistory {
	return &MemoryHistory{last: map[string]health.Result{}}
}

// Last implements History.
func (h *MemoryHistory) Last(_ context.Context, domain string) (health.Result, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.last[domain]
	r.Findings = slices.Clone(r.Findings)
	return r, ok, nil
}

// Save implements History. A result older than the one kept is ignored.
func (h *MemoryHistory) Save(_ context.Context, r health.Result) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.last[r.Domain]; ok && old.CheckedAt.After(r.CheckedAt) {
		return nil
	}
	r.Findings = slices.Clone(r.Findings)
	h.last[r.Domain] = r
	return nil
}
