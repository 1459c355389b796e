package mtasts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// maxSeedLen leaves the unit cases about size limits out of the fuzz seeds:
// minimizing a 64 KiB input stalls the fuzzer, and the limits are checked
// before parsing anyway.
const maxSeedLen = 4096

// policySentinels are the errors ParsePolicy may wrap.
var policySentinels = []error{ErrPolicySyntax, ErrPolicyVersion, ErrPolicyMode, ErrPolicyMaxAge, ErrPolicyMX, ErrPolicyTooLarge}

func FuzzParsePolicy(f *testing.F) {
	for _, tt := range policyTests {
		if len(tt.in) <= maxSeedLen {
			f.Add([]byte(tt.in))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			n := 0
			for _, s := range policySentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d sentinel errors, want 1", err, n)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy does not validate: %v", err)
		}
		for _, pr := range p.Problems() {
			if pr.Severity == SeverityError {
				t.Fatalf("parsed policy has error %v", pr)
			}
		}
		s := p.String()
		again, err := ParsePolicy([]byte(s))
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", s, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip: %+v, then %+v", p, again)
		}
		if again.String() != s || again.ID() != p.ID() {
			t.Fatalf("String() or ID() not stable")
		}
		for _, m := range p.MX {
			host := "x." + m.Domain
			if !m.Wildcard {
				host = m.Domain
			}
			if !p.Match(host) || !p.Match(strings.ToUpper(host)+".") {
				t.Fatalf("policy does not match %q, a host its pattern %q covers", host, m)
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	for _, tt := range recordTests {
		if len(tt.in) <= maxSeedLen {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := ParseRecord(txt)
		// RecordFromTXT on an answer holding only txt, split in two
		// character-strings, agrees with ParseRecord whenever txt counts
		// as an MTA-STS record.
		half := len(txt) / 2
		fr, ferr := RecordFromTXT([][]string{{txt[:half], txt[half:]}, {"v=spf1 -all"}})
		if isSTSRecord(txt) {
			if (err == nil) != (ferr == nil) || !reflect.DeepEqual(r, fr) {
				t.Fatalf("RecordFromTXT = %+v, %v; ParseRecord = %+v, %v", fr, ferr, r, err)
			}
		} else if !errors.Is(ferr, ErrNoRecord) {
			t.Fatalf("RecordFromTXT of a non-STS record = %v, want ErrNoRecord", ferr)
		}
		if err != nil {
			if !errors.Is(err, ErrRecordSyntax) {
				t.Fatalf("error %q does not wrap ErrRecordSyntax", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed record does not validate: %v", err)
		}
		s := r.String()
		again, err := ParseRecord(s)
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", s, err)
		}
		if !reflect.DeepEqual(again, r) || again.String() != s {
			t.Fatalf("round trip: %+v, then %+v", r, again)
		}
	})
}

func FuzzParseMX(f *testing.F) {
	for _, tt := range mxTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMX(s)
		if err != nil {
			if !errors.Is(err, ErrPolicyMX) {
				t.Fatalf("error %q does not wrap ErrPolicyMX", err)
			}
			return
		}
		again, err := ParseMX(m.String())
		if err != nil || again != m {
			t.Fatalf("round trip of %q: %+v, then %+v, %v", s, m, again, err)
		}
		if m.Domain != strings.ToLower(m.Domain) || strings.HasSuffix(m.Domain, ".") {
			t.Fatalf("domain %q not normalised", m.Domain)
		}
		if m.Wildcard {
			if !m.Match("mx."+m.Domain) || m.Match(m.Domain) || m.Match("a.b."+m.Domain) {
				t.Fatalf("wildcard %q matches wrongly", m)
			}
		} else if !m.Match(m.Domain) || m.Match("x."+m.Domain) {
			t.Fatalf("pattern %q matches wrongly", m)
		}
		// A valid pattern fits in a valid policy.
		p := Policy{Version: Version, Mode: ModeEnforce, MaxAge: week, MX: []MX{m}}
		if err := p.Validate(); err != nil {
			t.Fatalf("policy with mx %q does not validate: %v", m, err)
		}
	})
}
