package dnsresolve

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
)

// TestStd holds Std to Resolver's contract against a loopback DNS server:
// records, the two kinds of "nothing", and the failures.
func TestStd(t *testing.T) {
	d := checktest.NewDNS(t)
	d.Add(`a.test. TXT "one" "two"`, `a.test. TXT "three"`, "mx.test. MX 10 a.test.")
	d.SetRcode("broken.test", dns.RcodeServerFailure)
	d.SetRcode("refused.test", dns.RcodeRefused)
	r, err := NewStd(d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txt, err := r.LookupTXT(ctx, "a.test")
	if got := txt.Joined(); err != nil || !slices.Equal(got, []string{"onetwo", "three"}) || txt.Authentic {
		t.Errorf("LookupTXT = %+v (joined %q), %v", txt, got, err)
	}
	for _, name := range []string{"nothing.test", "mx.test."} { // NXDOMAIN, NODATA
		if txt, err := r.LookupTXT(ctx, name); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrTemporary) || txt.Records != nil {
			t.Errorf("LookupTXT(%s) = %+v, %v; want ErrNotFound", name, txt, err)
		}
	}
	if _, err := r.LookupTXT(ctx, "broken.test"); !errors.Is(err, ErrTemporary) || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupTXT(SERVFAIL): %v, want ErrTemporary", err)
	}
	if _, err := r.LookupTXT(ctx, "refused.test"); err == nil || errors.Is(err, ErrTemporary) || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupTXT(REFUSED): %v, want an error that is neither temporary nor not-found", err)
	}
	dead, err := NewStd("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := dead.LookupTXT(tctx, "a.test"); !errors.Is(err, ErrTemporary) {
		t.Errorf("LookupTXT at a dead server: %v, want ErrTemporary", err)
	}
	for _, addr := range []string{"127.0.0.1", "dns.example"} {
		if _, err := NewStd(addr); err == nil {
			t.Errorf("NewStd(%q): no error", addr)
		}
	}
}

// TestTemporary: a marked error keeps its text and chain and matches
// ErrTemporary.
func TestTemporary(t *testing.T) {
	base := errors.New("server answered SERVFAIL")
	err := Temporary(base)
	if err.Error() != base.Error() || !errors.Is(err, base) || !errors.Is(err, ErrTemporary) || errors.Is(base, ErrTemporary) {
		t.Errorf("Temporary(%v) = %v", base, err)
	}
	if err := NotFound("x.example"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrTemporary) {
		t.Errorf("NotFound = %v", err)
	}
}
