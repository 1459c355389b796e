package mailin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/store"
)

// FuzzWithoutServices: a key record loses exactly its s= tag, and a record
// without one is unchanged.
func FuzzWithoutServices(f *testing.F) {
	for _, s := range []string{"v=DKIM1; p=abc", "v=DKIM1; s=tlsrpt; p=abc", "v=DKIM1; s = Email : * ; p=abc",
		"s=tlsrpt", "v=DKIM1; p=abc; s=", "v=DKIM1; sx=tlsrpt; p=a=b", "", ";;s=;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		out, services, had := withoutServices(txt)
		if !had {
			if out != txt || services != nil {
				t.Fatalf("withoutServices(%q) = %q, %q without an s= tag", txt, out, services)
			}
			return
		}
		if len(services) == 0 || len(out) >= len(txt) {
			t.Fatalf("withoutServices(%q) = %q, %q", txt, out, services)
		}
		if slices.ContainsFunc(services, func(s string) bool { return strings.ContainsAny(s, " \t:") }) {
			t.Fatalf("services not trimmed: %q", services)
		}
	})
}

// FuzzVerify: any message gets a verdict, a temporary error or a refusal
// for its header's bounds, never a panic; a pass always names a signing domain that matches the submitter.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		"no header at all",
		"From: a@b.example\r\n\r\nbody",
		"DKIM-Signature: v=1; a=rsa-sha256; d=b.example; s=x; h=from; bh=; b=\r\nFrom: a@b.example\r\n\r\nbody",
		"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=google.com; s=s1; h=From:To; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\nFrom: x@google.com\r\nTLS-Report-Submitter: google.com\r\n\r\n",
		"DKIM-Signature: v=1; d=\r\nDKIM-Signature: x\r\nFrom: <>\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	// Keys are not found (as for an unknown selector) or temporarily not
	// reachable, by the name's first byte.
	v := NewVerifier(lookupFunc(func(_ context.Context, name string) (dnsresolve.TXT, error) {
		if strings.HasPrefix(name, "t") {
			return dnsresolve.TXT{}, dnsresolve.Temporary(&net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true})
		}
		return dnsresolve.TXT{}, fmt.Errorf("%w: %w", dnsresolve.ErrNotFound, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true})
	}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, err := v.Verify(context.Background(), msg)
		if err != nil {
			if !errors.Is(err, ErrTemporary) && !errors.Is(err, ErrHeaderLimit) {
				t.Fatalf("Verify: %v", err)
			}
			return
		}
		switch got.Result {
		case store.DKIMPass:
			t.Fatalf("pass without any key: %+v", got)
		case store.DKIMFail, store.DKIMNone:
		default:
			t.Fatalf("result %q", got.Result)
		}
		if got.Reason == "" || len(got.Reason) > store.MaxFieldLen || strings.ContainsAny(got.Reason, "\r\n") {
			t.Fatalf("reason %q", got.Reason)
		}
	})
}
