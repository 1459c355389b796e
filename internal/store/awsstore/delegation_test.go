package awsstore

import (
	"context"
	"testing"
)

// TestDelegationState: a state put is the state got, none before, and a
// domain's check results do not see it.
func TestDelegationState(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, ok, err := s.DelegationState(ctx, "client.example"); ok || err != nil {
		t.Fatalf("before: ok %v err %v", ok, err)
	}
	want := `{"domain":"client.example","phase":"serving"}`
	if err := s.PutDelegationState(ctx, "client.example", []byte(want)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.DelegationState(ctx, "client.example")
	if err != nil || !ok || string(got) != want {
		t.Fatalf("got %s %v %v", got, ok, err)
	}
	if _, ok, err := s.Last(ctx, "client.example"); ok || err != nil {
		t.Errorf("Last sees the delegation state: ok %v err %v", ok, err)
	}
	if err := s.PutDelegationState(ctx, "client.example", make([]byte, maxDelegationState+1)); err == nil {
		t.Error("oversized state written")
	}
}
