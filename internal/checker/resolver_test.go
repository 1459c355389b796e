package checker

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/dnsresolve"
)

func TestUnescapeTXT(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v=STSv1; id=20240101", "v=STSv1; id=20240101"},
		{`a\"b`, `a"b`},
		{`a\\b`, `a\b`},
		{`\059`, ";"},
		{`x\000y`, "x\x00y"},
		{`\255`, "\xff"},
		{`\256`, "256"}, // not a byte: the backslash quotes '2'
		{`\12`, "12"},   // too short for \DDD
		{`end\`, `end\`},
		{"", ""},
	} {
		if got := unescapeTXT(tc.in); got != tc.want {
			t.Errorf("unescapeTXT(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// txtWire builds the wire form of a TXT record for "." holding raw as one
// character-string.
func txtWire(raw []byte) []byte {
	b := []byte{0, 0, 16, 0, 1, 0, 0, 1, 44}                 // root name, TXT, IN, TTL 300
	b = binary.BigEndian.AppendUint16(b, uint16(len(raw)+1)) // RDLENGTH
	b = append(b, byte(len(raw)))
	return append(b, raw...)
}

// FuzzUnescapeTXT checks that unescapeTXT gives back exactly the bytes on
// the wire after miekg/dns unpacked (and escaped) them: a round trip.
func FuzzUnescapeTXT(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=20240101", `a"b\c`, "x\x00y\xff", ";", "v=TLSRPTv1; rua=mailto:a@b.example", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 255 {
			raw = raw[:255]
		}
		rr, _, err := dns.UnpackRR(txtWire(raw), 0)
		if err != nil {
			t.Fatalf("unpack: %v", err)
		}
		txt := rr.(*dns.TXT)
		if len(txt.Txt) != 1 {
			t.Fatalf("%d strings", len(txt.Txt))
		}
		if got := unescapeTXT(txt.Txt[0]); got != string(raw) {
			t.Errorf("unescapeTXT(%q) = %q, want %q", txt.Txt[0], got, raw)
		}
	})
}

func TestResolver(t *testing.T) {
	d := checktest.NewDNS(t)
	d.Add("a.test. TXT \"one\" \"two\"", "a.test. TXT \"quote\\\"d\"", "a.test. MX 20 b.mx.test.", "a.test. MX 10 A.MX.test.",
		"a.mx.test. A 192.0.2.1", "a.mx.test. AAAA 2001:db8::1", "v6.test. AAAA 2001:db8::2")
	d.SetRcode("broken.test", dns.RcodeServerFailure)
	r, err := newResolver(d.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txt, err := lookupTXT(ctx, r, "a.test")
	if err != nil || !slices.EqualFunc(txt, [][]string{{"one", "two"}, {`quote"d`}}, slices.Equal) {
		t.Errorf("lookupTXT = %q, %v", txt, err)
	}
	if txt, err := lookupTXT(ctx, r, "nothing.test"); err != nil || txt != nil {
		t.Errorf("lookupTXT(NXDOMAIN) = %q, %v; want nothing, no error", txt, err)
	}
	mxs, nx, err := r.lookupMX(ctx, "A.test.")
	if err != nil || nx || !slices.Equal(mxs, []mxRecord{{10, "a.mx.test"}, {20, "b.mx.test"}}) {
		t.Errorf("lookupMX = %v, %v, %v", mxs, nx, err)
	}
	if _, nx, err := r.lookupMX(ctx, "nothing.test"); !nx || err != nil {
		t.Errorf("lookupMX(NXDOMAIN): nx %v, err %v", nx, err)
	}
	addrs, err := r.lookupAddrs(ctx, "a.mx.test")
	if err != nil || len(addrs) != 2 || addrs[0].String() != "192.0.2.1" || addrs[1].String() != "2001:db8::1" {
		t.Errorf("lookupAddrs = %v, %v", addrs, err)
	}
	if addrs, err := r.lookupAddrs(ctx, "v6.test"); err != nil || len(addrs) != 1 {
		t.Errorf("lookupAddrs(v6 only) = %v, %v", addrs, err)
	}
	if _, err := r.lookupAddrs(ctx, "a.test"); err == nil {
		t.Error("lookupAddrs of a name without addresses: no error")
	}
	if _, err := lookupTXT(ctx, r, "broken.test"); !errors.Is(err, ErrLookup) {
		t.Errorf("lookupTXT(SERVFAIL): err %v, want ErrLookup", err)
	}
	// A server that does not answer: a timeout, wrapped as ErrLookup.
	dead, err := newResolver("127.0.0.1:1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lookupTXT(ctx, dead, "a.test"); !errors.Is(err, ErrLookup) {
		t.Errorf("lookup at a dead server: err %v, want ErrLookup", err)
	}
	if _, err := newResolver("no-port", time.Second); err == nil {
		t.Error("resolver without port accepted")
	}
}

// TestResolverContract: the checker's resolver keeps dnsresolve.Resolver's
// contract, as mailin's dnsresolve.Std does: not-found answers, temporary
// and other failures, and the AD bit of a validating resolver.
func TestResolverContract(t *testing.T) {
	d := checktest.NewDNS(t)
	d.Add(`a.test. TXT "one" "two"`, `s.test. TXT "signed"`, "mx.test. MX 10 a.test.")
	d.SetSecure("s.test.")
	d.SetRcode("broken.test", dns.RcodeServerFailure)
	d.SetRcode("refused.test", dns.RcodeRefused)
	var r dnsresolve.Resolver
	r, err := newResolver(d.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if txt, err := r.LookupTXT(ctx, "a.test"); err != nil || txt.Authentic ||
		!slices.EqualFunc(txt.Records, [][]string{{"one", "two"}}, slices.Equal) {
		t.Errorf("LookupTXT = %+v, %v", txt, err)
	}
	if txt, err := r.LookupTXT(ctx, "s.test"); err != nil || !txt.Authentic {
		t.Errorf("LookupTXT(validated) = %+v, %v; want the AD bit", txt, err)
	}
	for _, name := range []string{"nothing.test", "mx.test."} { // NXDOMAIN, NODATA
		if txt, err := r.LookupTXT(ctx, name); !errors.Is(err, dnsresolve.ErrNotFound) || errors.Is(err, ErrLookup) || txt.Records != nil {
			t.Errorf("LookupTXT(%s) = %+v, %v; want ErrNotFound", name, txt, err)
		}
	}
	if _, err := r.LookupTXT(ctx, "broken.test"); !errors.Is(err, dnsresolve.ErrTemporary) || !errors.Is(err, ErrLookup) {
		t.Errorf("LookupTXT(SERVFAIL): %v, want ErrTemporary and ErrLookup", err)
	}
	if _, err := r.LookupTXT(ctx, "refused.test"); !errors.Is(err, ErrLookup) || errors.Is(err, dnsresolve.ErrTemporary) {
		t.Errorf("LookupTXT(REFUSED): %v, want ErrLookup, not temporary", err)
	}
	dead, err := newResolver("127.0.0.1:1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.LookupTXT(ctx, "a.test"); !errors.Is(err, dnsresolve.ErrTemporary) {
		t.Errorf("LookupTXT at a dead server: %v, want ErrTemporary", err)
	}
}
