package mailin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/store"
)

// hostileHeader returns a report e-mail signed by s whose DKIM-Signature
// lists k header fields the message does not have (h=From:X-Absent-1:…),
// with n more header fields (not signed) added after signing. The
// signature stays valid: absent fields add nothing to the hash (RFC 6376
// §5.4). Verifying it picks each of the k names among all n fields: k×n
// work (issue 14 §4).
func hostileHeader(t testing.TB, s signer, n, k int) []byte {
	t.Helper()
	return hostileHeaderOf(t, s, n, k, 1, 0)
}

// hostileHeaderOf is hostileHeader with sigs such signatures and filler
// field names padded to nameLen bytes.
func hostileHeaderOf(t testing.TB, s signer, n, k, sigs, nameLen int) []byte {
	t.Helper()
	keys := []string{"From", "TLS-Report-Submitter"}
	for i := range k {
		keys = append(keys, fmt.Sprintf("X-Absent-%d", i))
	}
	msg := reportMessage(t, sample(t, googleJSON), nil)
	for range sigs {
		var signed bytes.Buffer
		err := dkim.Sign(&signed, bytes.NewReader(msg), &dkim.SignOptions{
			Domain: s.domain, Selector: s.selector, Signer: s.key,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             keys,
		})
		if err != nil {
			t.Fatal(err)
		}
		msg = signed.Bytes()
	}
	var extra strings.Builder
	for i := range n {
		name := fmt.Sprintf("X-Filler-%d", i)
		name += strings.Repeat("-", max(0, nameLen-len(name)))
		extra.WriteString(name + ": x\r\n")
	}
	return append([]byte(extra.String()), msg...)
}

// withFields returns msg with n header fields (name: value) added in front.
func withFields(msg []byte, n int, name, value string) []byte {
	var b bytes.Buffer
	for range n {
		b.WriteString(name + ": " + value + "\r\n")
	}
	return append(b.Bytes(), msg...)
}

// TestHeaderBounds: a message beyond the header bounds (fields, lines,
// bytes, signatures, names in h=) is refused with its reason before any
// signature is verified (issue 14 §4); one just within them is verified.
func TestHeaderBounds(t *testing.T) {
	d := checktest.NewDNS(t)
	google := newSigner(t, d, "ed25519", "google.com", "s1", "s=tlsrpt")
	other := newSigner(t, d, "ed25519", "other.example", "s1", "s=tlsrpt")
	base := reportMessage(t, sample(t, googleJSON), nil)
	signed := google.sign(t, base)
	// Folded fields: one field of many lines, many fields of many lines.
	folded := func(lines int) string { return "X-Folded: a" + strings.Repeat("\r\n b", lines-1) + "\r\n" }
	atSigs := signed // MaxSignatures signatures, the submitter's first
	for range MaxSignatures - 1 {
		atSigs = other.sign(t, atSigs)
	}
	manySigs := other.sign(t, atSigs)

	tests := []struct {
		name   string
		msg    []byte
		reason string // "" : within the bounds, verified
	}{
		{"a signed report", signed, ""},
		{"fields at the bound", withFields(signed, MaxHeaderFields-20, "X-Filler", "x"), ""},
		{"too many fields", withFields(signed, MaxHeaderFields, "X-Filler", "x"),
			fmt.Sprintf("more than %d header fields", MaxHeaderFields)},
		{"field lines at the bound", append([]byte(folded(MaxFieldLines)), signed...), ""},
		{"too many lines in a field", append([]byte(folded(MaxFieldLines+1)), signed...),
			fmt.Sprintf("header field 1 folded into more than %d lines", MaxFieldLines)},
		{"too many lines", append([]byte(strings.Repeat(folded(MaxFieldLines), MaxHeaderLines/MaxFieldLines)), signed...),
			fmt.Sprintf("more than %d header lines", MaxHeaderLines)},
		{"header too large", withFields(signed, 300, "X-Big", strings.Repeat("y", 1000)),
			fmt.Sprintf("header larger than %d bytes", MaxHeaderBytes)},
		{"names in h= at the bound", hostileHeader(t, google, 10, MaxSignedFields-2), ""},
		{"too many names in h=", hostileHeader(t, google, 10, MaxSignedFields-1),
			fmt.Sprintf("DKIM-Signature 1 signs more than %d header fields", MaxSignedFields)},
		{"signatures at the bound", atSigs, ""},
		{"too many signatures", manySigs, fmt.Sprintf("more than %d DKIM-Signature fields", MaxSignatures)},
		{"the issue's case, N=K=40k", hostileHeader(t, google, 40000, 40000), "header fields"},
	}
	v := NewVerifier(lookupOf(t, d))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tc.msg)
			if tc.reason == "" {
				if err != nil || got.Result != store.DKIMPass {
					t.Fatalf("Verify = %+v, %v; want pass", got, err)
				}
				return
			}
			if !errors.Is(err, ErrHeaderLimit) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify = %+v, %v; want ErrHeaderLimit naming %q", got, err, tc.reason)
			}

			p := newProcessor(t, openStore(t), d, Options{Domains: []string{"example.com"}})
			out, err := p.Process(context.Background(), tc.msg)
			if err != nil || out.Kind != KindRefused || !strings.Contains(out.Reason, tc.reason) || out.DKIM != nil {
				t.Fatalf("Process = %+v, %v; want refused (%q) before DKIM", out, err, tc.reason)
			}
		})
	}
}

// BenchmarkHostileHeader measures the refusal of the message
// (N=K=40,000: 22 s of header picking before the bounds) and the
// verification of the worst message within the bounds.
func BenchmarkHostileHeader(b *testing.B) {
	s := newSigner(b, nil, "ed25519", "google.com", "s1", "")
	v := NewVerifier(memoryKeys(b, s))
	for _, tc := range []struct {
		name string
		msg  []byte
		pass bool
	}{
		{"refused-N40000-K40000", hostileHeader(b, s, 40000, 40000), false},
		{fmt.Sprintf("accepted-N%d-K%d", MaxHeaderFields-20, MaxSignedFields-2),
			hostileHeader(b, s, MaxHeaderFields-20, MaxSignedFields-2), true},
		// Every bound at once: 5 signatures each naming 200 absent
		// fields, 1,000 fields of 240 bytes (all but 6 KB of the header).
		{fmt.Sprintf("worst-accepted-N%d-K%d-sigs%d-240B", MaxHeaderFields-20, MaxSignedFields-2, MaxSignatures),
			hostileHeaderOf(b, s, MaxHeaderFields-20-MaxSignatures, MaxSignedFields-2, MaxSignatures, 240), true},
		// Fields folded into as many lines as allowed, all the bytes.
		{"worst-accepted-folded", append([]byte(strings.Repeat("X-Folded: a"+
			strings.Repeat("\r\n "+strings.Repeat("b", (MaxHeaderBytes-20<<10)/(MaxHeaderLines-100)-3), MaxFieldLines-1)+"\r\n",
			(MaxHeaderLines-100)/MaxFieldLines)),
			s.sign(b, reportMessage(b, sample(b, googleJSON), nil))...), true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			for b.Loop() {
				got, err := v.Verify(context.Background(), tc.msg)
				if tc.pass != (err == nil && got.Result == store.DKIMPass) {
					b.Fatalf("Verify = %+v, %v", got, err)
				}
			}
		})
	}
}
