package reconcile

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// MemoryStates is a States kept in memory, safe for concurrent use: for
// tests and for ststack serve.
type MemoryStates struct {
	mu sync.Mutex
	m  map[string]State
}

// Get implements States.
func (m *MemoryStates) Get(_ context.Context, domain string) (State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[domain]
	return s, ok, nil
}

// Put implements States.
func (m *MemoryStates) Put(_ context.Context, s State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]State)
	}
	m.m[s.Domain] = s
	return nil
}

// All returns every state, by domain name.
func (m *MemoryStates) All() []State {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]State, 0, len(m.m))
	for _, s := range m.m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.Domain, b.Domain) })
	return out
}
