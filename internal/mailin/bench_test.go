package mailin

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/store"
)

// memoryKeys serves the records of signers from memory.
func memoryKeys(b *testing.B, signers ...signer) dnsresolve.Resolver {
	keys := map[string][][]string{}
	for _, s := range signers {
		var pub []byte
		tags := "v=DKIM1; "
		switch k := s.key.(type) {
		case *rsa.PrivateKey:
			var err error
			if pub, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
				b.Fatal(err)
			}
		case ed25519.PrivateKey:
			pub = k.Public().(ed25519.PublicKey)
			tags += "k=ed25519; "
		}
		keys[s.selector+"._domainkey."+s.domain] = [][]string{{tags + "s=tlsrpt; p=" + base64.StdEncoding.EncodeToString(pub)}}
	}
	return lookupFunc(func(_ context.Context, name string) (dnsresolve.TXT, error) {
		if keys[name] == nil {
			return dnsresolve.TXT{}, dnsresolve.NotFound(name)
		}
		return dnsresolve.TXT{Records: keys[name]}, nil
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, kind := range []string{"rsa", "ed25519"} {
		b.Run(kind, func(b *testing.B) {
			s := newSigner(b, nil, kind, "google.com", "s1", "")
			msg := s.sign(b, reportMessage(b, sample(b, googleJSON), nil))
			v := NewVerifier(memoryKeys(b, s))
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				got, err := v.Verify(context.Background(), msg)
				if err != nil || got.Result != store.DKIMPass {
					b.Fatalf("Verify = %+v, %v", got, err)
				}
			}
		})
	}
}

// BenchmarkProcess: a signed report e-mail already stored (the common
// retry/duplicate path): extraction, DKIM, parsing and the store's check.
func BenchmarkProcess(b *testing.B) {
	s := newSigner(b, nil, "ed25519", "google.com", "s1", "")
	msg := s.sign(b, reportMessage(b, sample(b, googleJSON), nil))
	st := openStore(b)
	p, err := New(st, Options{Domains: []string{"example.com"}, Resolver: memoryKeys(b, s), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if out, err := p.Process(context.Background(), msg); err != nil || out.Kind != KindStored {
		b.Fatalf("Process = %+v, %v", out, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if out, err := p.Process(context.Background(), msg); err != nil || out.Kind != KindDuplicate {
			b.Fatalf("Process = %+v, %v", out, err)
		}
	}
}
