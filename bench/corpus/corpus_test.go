package corpus

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// plain is the RFC 8460 §4.4 shape as a plain encoding/json decode has it.
type plain struct {
	OrganizationName string `json:"organization-name"`
	ReportID         string `json:"report-id"`
	Policies         []struct {
		Policy struct {
			Domain string `json:"policy-domain"`
		} `json:"policy"`
		Summary struct {
			Success int64 `json:"total-successful-session-count"`
			Failure int64 `json:"total-failure-session-count"`
		} `json:"summary"`
		FailureDetails []json.RawMessage `json:"failure-details"`
	} `json:"policies"`
}

func TestDeterministic(t *testing.T) {
	a := Generate(7, 300, Options{})
	b := Generate(7, 300, Options{})
	c := Generate(8, 300, Options{})
	same := 0
	for i := range a {
		if !bytes.Equal(a[i].JSON, b[i].JSON) || !bytes.Equal(a[i].Body, b[i].Body) {
			t.Fatalf("report %d differs between two runs with the same seed", i)
		}
		if bytes.Equal(a[i].JSON, c[i].JSON) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d reports equal with seeds 7 and 8", same)
	}
	// New and Next give what Generate gives.
	g := New(7, Options{})
	for i := range 10 {
		if r := g.Next(); !bytes.Equal(r.JSON, a[i].JSON) {
			t.Fatalf("Next %d differs from Generate", i)
		}
	}
}

// TestValid: every report parses with tlsrpt.ParseReport (JSON and Body)
// and with a plain encoding/json decode, to the totals Report says, and
// the identities are distinct.
func TestValid(t *testing.T) {
	reports := Generate(1, 2000, Options{})
	ids := map[string]bool{}
	for i, r := range reports {
		p, err := tlsrpt.ParseReport(r.Body, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("report %d: %v\n%s", i, err, r.JSON)
		}
		if r.Gzipped != (r.Body[0] == 0x1f) || (!r.Gzipped && !bytes.Equal(r.Body, r.JSON)) {
			t.Fatalf("report %d: Gzipped %v, body starts %q", i, r.Gzipped, r.Body[:2])
		}
		if p.OrganizationName != r.Organization || p.ReportID != r.ReportID || !p.Start.Equal(r.Start) {
			t.Errorf("report %d: parsed %q %q %v, generated %q %q %v", i, p.OrganizationName, p.ReportID, p.Start, r.Organization, r.ReportID, r.Start)
		}
		if !slices.Equal(p.Domains(), r.Domains) {
			t.Errorf("report %d: domains %v, want %v", i, p.Domains(), r.Domains)
		}
		got := make([]Totals, len(r.Domains))
		details := 0
		for _, pol := range p.Policies {
			j := slices.Index(r.Domains, pol.Domain)
			got[j].Success += pol.Success
			got[j].Failure += pol.Failure
			details += len(pol.Failures)
		}
		if !slices.Equal(got, r.Totals) || len(p.Policies) != r.Policies || details != r.FailureDetails {
			t.Errorf("report %d: totals %v, %d policies, %d details; generated %v, %d, %d", i, got, len(p.Policies), details, r.Totals, r.Policies, r.FailureDetails)
		}
		key := p.Identity().Key()
		if ids[key] {
			t.Errorf("report %d: identity %s generated twice", i, key)
		}
		ids[key] = true

		var pr plain
		if err := json.Unmarshal(r.JSON, &pr); err != nil {
			t.Fatalf("report %d: plain decode: %v", i, err)
		}
		if pr.ReportID != r.ReportID || len(pr.Policies) != r.Policies {
			t.Errorf("report %d: plain decode gives %q, %d policies", i, pr.ReportID, len(pr.Policies))
		}
		if r.Gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, r.JSON) {
				t.Fatalf("report %d: gzip body does not inflate to the JSON: %v", i, err)
			}
		}
	}
}

// TestVariety: the corpus has what it promises, in both directions for
// each choice.
func TestVariety(t *testing.T) {
	reports := Generate(1, 2000, Options{})
	var gz, big, manyDetails, indented, noZone, mxString, nullContact, infoURI, v6 int
	types := map[tlsrpt.ResultType]bool{}
	ptypes := map[tlsrpt.PolicyType]bool{}
	for _, r := range reports {
		s := string(r.JSON)
		if r.Gzipped {
			gz++
		}
		if r.Policies >= 10 {
			big++
		}
		if r.FailureDetails >= 100 {
			manyDetails++
		}
		if strings.Contains(s, "\n  ") {
			indented++
		}
		if strings.Contains(s, `"mx-host":"`) || strings.Contains(s, `"mx-host": "`) {
			mxString++
		}
		if strings.Contains(s, "null") {
			nullContact++
		}
		if strings.Contains(s, "additional-info-uri") {
			infoURI++
		}
		if strings.Contains(s, "2001:db8::") {
			v6++
		}
		p, err := tlsrpt.ParseReport(r.JSON, tlsrpt.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range p.Quirks {
			if strings.Contains(q, "time zone") {
				noZone++
				break
			}
		}
		for _, pol := range p.Policies {
			ptypes[pol.Type] = true
			for _, f := range pol.Failures {
				types[f.ResultType] = true
			}
		}
	}
	n := len(reports)
	for _, c := range []struct {
		what string
		got  int
	}{
		{"gzip bodies", gz}, {"reports with 10+ policies", big}, {"reports with 100+ failure details", manyDetails},
		{"indented", indented}, {"date-times without zone", noZone}, {"mx-host as a string", mxString},
		{"null contact-info", nullContact}, {"additional-info-uri", infoURI}, {"IPv6 addresses", v6},
	} {
		if c.got == 0 || c.got == n {
			t.Errorf("%s: %d of %d reports; want some, not all", c.what, c.got, n)
		}
	}
	if len(types) != 12 || len(ptypes) != 3 {
		t.Errorf("%d result types, %d policy types; want 12 and 3", len(types), len(ptypes))
	}
}

func TestDomainsOption(t *testing.T) {
	doms := []string{"a.test", "b.test"}
	for _, r := range Generate(3, 200, Options{Domains: doms, GzipEvery: 3}) {
		for _, d := range r.Domains {
			if !slices.Contains(doms, d) {
				t.Fatalf("domain %q not among %v", d, doms)
			}
		}
	}
	var gz int
	for _, r := range Generate(3, 300, Options{GzipEvery: 3}) {
		if r.Gzipped {
			gz++
		}
	}
	if gz != 100 {
		t.Errorf("GzipEvery 3: %d of 300 gzipped, want 100", gz)
	}
}

func BenchmarkGenerate(b *testing.B) {
	g := New(1, Options{})
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n += int64(len(g.Next().JSON))
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/report")
}
