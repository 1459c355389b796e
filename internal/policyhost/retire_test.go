package policyhost

import (
	"net/http/httptest"
	"testing"

	"github.com/ststack/ststack/internal/config"
)

// A retiring domain (RFC 8461 §8.3) is served its mode none policy, not
// the one it replaces (issue 15).
func TestRetiringDomain(t *testing.T) {
	cfg, err := config.Parse([]byte(`organization: Test Org
region: eu-west-1
domains:
  - name: old.example
    dns: { external: true }
    policy: { mode: enforce, max_age: 1209600, mx: [mx.old.example] }
    retire: 2026-12-06
reporting:
  mailto: tlsrpt@example.com
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", WellKnownPath, nil)
	req.Host = "mta-sts.old.example"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	want := "version: STSv1\r\nmode: none\r\nmx: mx.old.example\r\nmax_age: 86400\r\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("GET: %d %q, want 200 %q", rec.Code, rec.Body.String(), want)
	}
}
