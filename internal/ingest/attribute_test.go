package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// noDomain is a report whose one policy has no policy-domain, as some
// senders write no-policy-found policies.
func noDomain(id string) []byte {
	return []byte(`{"organization-name":"Example Org","date-range":{"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"},
"contact-info":"tlsrpt@example.org","report-id":"` + id + `","policies":[{"policy":{"policy-type":"no-policy-found"},
"summary":{"total-successful-session-count":7,"total-failure-session-count":0}}]}`)
}

func TestAttribute(t *testing.T) {
	serves := func(d string) bool { return d == "example.com" || d == "example.org" || d == "sub.example.com" }
	tests := []struct {
		name, id string
		hints    []string
		want     string // "" for unattributed
	}{
		{"report-id names one", "2024-03-01T00:00:00Z_example.com", nil, "example.com"},
		{"report-id names one, in an address", "r1@example.org", nil, "example.org"},
		{"subject names one", "r1", []string{"Report Domain: example.org Submitter: google.com Report-ID: <r1>"}, "example.org"},
		{"endpoint host under one", "r1", []string{"tlsrpt.example.com"}, "example.com"},
		{"longest served domain", "r1", []string{"mx.sub.example.com"}, "sub.example.com"},
		{"upper case and trailing dot", "r1", []string{"Report Domain: EXAMPLE.COM."}, "example.com"},
		{"two candidates", "r1@example.com", []string{"Report Domain: example.org"}, ""},
		{"none", "r1", []string{"reports.example.net"}, ""},
		{"not a label boundary", "r1", []string{"notexample.com"}, ""},
	}
	for _, tt := range tests {
		r, err := tlsrpt.ParseReport(noDomain(tt.id), tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		Attribute(r, serves, tt.hints...)
		if got := r.Policies[0].Domain; got != tt.want {
			t.Errorf("%s: domain %q, want %q (quirks %q)", tt.name, got, tt.want, r.Quirks)
		}
		attributed := slices.ContainsFunc(r.Quirks, func(q string) bool { return strings.Contains(q, "attributed to") })
		if attributed != (tt.want != "") {
			t.Errorf("%s: quirks %q", tt.name, r.Quirks)
		}
	}
}

// TestUnattributedPolicy: a policy without policy-domain is stored for the
// one served domain the endpoint's host names, and otherwise refused as a
// report about no served domain (422), not as invalid (400).
func TestUnattributedPolicy(t *testing.T) {
	st := newEmbedded(t)
	h := newHandler(t, st, Options{})
	postTo := func(host string, body []byte) answer {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Host = host
		req.Header.Set("Content-Type", "application/tlsrpt+json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return answer{w.Code, w.Body.String(), w.Header()}
	}
	if a := postTo("tlsrpt."+served[0], noDomain("u-1")); a.status != http.StatusCreated {
		t.Fatalf("posted to a served domain's host: %d %s", a.status, a.body)
	}
	facts, err := st.Facts(context.Background(), served[0], "2024-03-01", "2024-03-01")
	if err != nil || len(facts) != 1 || facts[0].Success != 7 {
		t.Errorf("facts of %s: %+v, %v; want one with 7 sessions", served[0], facts, err)
	}
	if a := postTo("reports.example.net", noDomain("u-2")); a.status != http.StatusUnprocessableEntity {
		t.Errorf("posted to a host naming no served domain: %d %s, want 422", a.status, a.body)
	}
}
