package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestLookupStates: without a reconciler, a delegated domain's phase is
// what its CNAME says now: waiting, elsewhere (naming both names), serving
// (the CNAME in place), or an error state when DNS fails; a domain that is
// not delegated has no state.
func TestLookupStates(t *testing.T) {
	ctx := context.Background()
	d := Domain{Name: "client.example", PolicyHost: "mta-sts.client.example", Target: "k.mta-sts.ops.example", Tenant: "ststack-k"}
	dns := &fakeDNS{cname: map[string]string{}, fail: map[string]error{}}
	l := LookupStates{DNS: dns, Domains: []Domain{d}}
	get := func(step string) State {
		t.Helper()
		s, ok, err := l.Get(ctx, "client.example")
		if err != nil || !ok || s.Domain != "client.example" || s.Checked.IsZero() {
			t.Fatalf("%s: %+v %v %v", step, s, ok, err)
		}
		return s
	}
	if s := get("no CNAME"); s.Phase != PhaseWaitingForCNAME || !strings.Contains(s.Detail, "k.mta-sts.ops.example") {
		t.Errorf("no CNAME: %+v", s)
	}
	dns.cname["mta-sts.client.example"] = "Old.Provider.Example."
	if s := get("elsewhere"); s.Phase != PhaseCNAMEElsewhere || !strings.Contains(s.Detail, "old.provider.example") ||
		!strings.Contains(s.Detail, "k.mta-sts.ops.example") {
		t.Errorf("elsewhere: %+v", s)
	}
	dns.cname["mta-sts.client.example"] = "k.mta-sts.ops.example."
	if s := get("in place"); s.Phase != PhaseServing || s.CNAME != "k.mta-sts.ops.example" {
		t.Errorf("in place: %+v", s)
	}
	dns.fail["mta-sts.client.example"] = errors.New("i/o timeout")
	if s := get("DNS down"); s.Phase != PhaseError || !strings.Contains(s.Detail, "i/o timeout") {
		t.Errorf("DNS down: %+v", s)
	}
	if s, ok, err := l.Get(ctx, "own.example"); ok || err != nil {
		t.Errorf("a domain that is not delegated: %+v %v %v", s, ok, err)
	}
}
