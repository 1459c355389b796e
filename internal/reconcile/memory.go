package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
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

// RawStates keeps encoded states by domain (awsstore.Store does, in its
// table): DelegationState returns ok false when the domain has none.
type RawStates interface {
	DelegationState(ctx context.Context, domain string) ([]byte, bool, error)
	PutDelegationState(ctx context.Context, domain string, state []byte) error
}

// JSONStates is a States over RawStates, each State encoded as JSON.
func JSONStates(raw RawStates) States { return jsonStates{raw} }

type jsonStates struct{ raw RawStates }

func (j jsonStates) Get(ctx context.Context, domain string) (State, bool, error) {
	b, ok, err := j.raw.DelegationState(ctx, domain)
	if err != nil || !ok {
		return State{}, false, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, false, fmt.Errorf("state of %s: %w", domain, err)
	}
	return s, true, nil
}

func (j jsonStates) Put(ctx context.Context, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("state of %s: %w", s.Domain, err)
	}
	return j.raw.PutDelegationState(ctx, s.Domain, b)
}
