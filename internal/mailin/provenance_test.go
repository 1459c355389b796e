package mailin

import (
	"bytes"
	"context"
	"testing"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/store"
)

// TestForgedOrganization: a DKIM pass by the submitter's own domain does
// not make a report speak for the organisation it names (issue 14 §2): a
// report claiming "Google LLC", signed by d=attacker.example and submitted
// as attacker.example, is unaligned, so drop_unsigned drops it and
// otherwise it is stored as e-mail unaligned; Google's own signature
// makes the same report aligned.
func TestForgedOrganization(t *testing.T) {
	d := checktest.NewDNS(t)
	attacker := newSigner(t, d, "ed25519", "attacker.example", "a1", "")
	google := newSigner(t, d, "ed25519", "google.com", "g1", "")
	forged := bytes.Replace(sample(t, googleJSON), []byte(`"Google Inc."`), []byte(`"Google LLC"`), 1)
	if bytes.Equal(forged, sample(t, googleJSON)) {
		t.Fatal("sample has no organization-name to forge")
	}
	fromAttacker := attacker.sign(t, reportMessage(t, forged, map[string]string{
		"From": "reports@attacker.example", "TLS-Report-Submitter": "attacker.example",
		"Message-ID": "<forged-1@attacker.example>"}))
	fromGoogle := google.sign(t, reportMessage(t, forged, nil))
	ctx := context.Background()

	for _, tc := range []struct {
		name       string
		msg        []byte
		drop       bool
		kind       Kind
		provenance string
	}{
		{"forged, drop_unsigned", fromAttacker, true, KindDropped, ""},
		{"forged, kept", fromAttacker, false, KindStored, store.ProvenanceEmailUnaligned},
		{"signed by google.com, drop_unsigned", fromGoogle, true, KindStored, store.ProvenanceEmailAligned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			p := newProcessor(t, st, d, Options{Domains: []string{"example.com"}, DropUnsigned: tc.drop})
			out, err := p.Process(ctx, tc.msg)
			if err != nil || out.Kind != tc.kind {
				t.Fatalf("Process = %+v, %v; want %s", out, err, tc.kind)
			}
			if out.Provenance != tc.provenance && tc.kind == KindStored {
				t.Errorf("outcome provenance %q, want %q", out.Provenance, tc.provenance)
			}
			rep, err := st.Report(ctx, keyOf(t, tc.msg))
			if tc.kind != KindStored {
				if err == nil {
					t.Errorf("dropped report stored: %+v", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Provenance != tc.provenance {
				t.Errorf("stored provenance %q, want %q", rep.Provenance, tc.provenance)
			}
		})
	}
}
