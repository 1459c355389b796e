package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/tlsrpt"
)

func TestDay(t *testing.T) {
	tests := []struct {
		in   string
		want Day
		ok   bool
	}{
		{"2024-02-29", "2024-02-29", true},
		{"0001-01-01", "0001-01-01", true},
		{"9999-12-31", "9999-12-31", true},
		{"2023-02-29", "", false},
		{"2024-2-1", "", false},
		{"2024-02-01T00:00:00Z", "", false},
		{"", "", false},
		{"2024-13-01", "", false},
	}
	for _, tc := range tests {
		got, err := ParseDay(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDay(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if Day(tc.in).Valid() != tc.ok {
			t.Errorf("Day(%q).Valid() = %v, want %v", tc.in, !tc.ok, tc.ok)
		}
	}
	if d := DayOf(time.Date(2024, 2, 29, 23, 59, 59, 0, time.FixedZone("", -3600))); d != "2024-03-01" {
		t.Errorf("DayOf a time west of UTC = %s, want the UTC day 2024-03-01", d)
	}
	if d := Day("2024-02-28").AddDays(2); d != "2024-03-01" {
		t.Errorf("AddDays = %s", d)
	}
	if got := Day("2024-02-28").Time(); !got.Equal(time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"google_20inc_2e.2024-02-17T00_3a00_3a00Z_5fexample_2ecom", true},
		{"a.b!0123456789abcdef", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\\b", false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
	}
	for _, tc := range tests {
		err := ValidKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("ValidKey(%q) = %v, want ok %v", tc.key, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("ValidKey(%q) = %v, not ErrInvalidEntry", tc.key, err)
		}
	}
}

var start = time.Date(2024, 2, 22, 0, 0, 0, 0, time.UTC)

func report() *tlsrpt.Report {
	return &tlsrpt.Report{
		OrganizationName: " Mail.ru ", ReportID: "123+", ContactInfo: "tls@mail.ru",
		Start: start, End: start.Add(24 * time.Hour),
		Quirks: []string{"date-time without a zone"},
		Policies: []tlsrpt.PolicyResult{
			{Type: tlsrpt.PolicyTypeSTS, Domain: "example.com", MXHosts: []string{"mx2.example.com", "mx1.example.com"},
				Success: 10, Failure: 3, Failures: []tlsrpt.FailureDetail{
					{ResultType: tlsrpt.ResultSTSPolicyFetchError, Count: 1, ReasonCode: "404"},
					{ResultType: tlsrpt.ResultSTSPolicyFetchError, Count: 2, ReasonCode: "404"},
				}},
			{Type: tlsrpt.PolicyTypeNoPolicyFound, Domain: "other.example", Success: 100},
			{Type: tlsrpt.PolicyTypeTLSA, Domain: "example.com", MXHosts: []string{"mx1.example.com"},
				Success: 5, Failure: 4, Failures: []tlsrpt.FailureDetail{
					{ResultType: tlsrpt.ResultTLSAInvalid, Count: 4, ReceivingMXHostname: "mx1.example.com", ReceivingIP: "192.0.2.1"},
				}},
		},
	}
}

func TestNewEntry(t *testing.T) {
	r := report()
	raw := []byte(`{"organization-name":"Mail.ru"}`)
	received := time.Date(2024, 2, 23, 1, 0, 0, 0, time.FixedZone("", 7200))
	e := NewEntry(r, raw, func(d string) bool { return d == "example.com" }, "https", received)
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	key := r.Identity().Key()
	want := Entry{
		Report: Receipt{
			Key: key, Organization: "mail.ru", OrganizationName: " Mail.ru ", ReportID: "123+",
			ContactInfo: "tls@mail.ru", Start: start, End: start.Add(24 * time.Hour),
			Domains: []string{"example.com"}, Success: 15, Failure: 7,
			ReceivedAt: received.UTC(), Channel: "https", ContentType: ContentTypeJSON, Size: int64(len(raw)),
			Quirks: []string{"date-time without a zone"}, Digest: Digest(r),
		},
		Raw: raw,
		Facts: []Fact{{
			Domain: "example.com", Day: "2024-02-22", ReportKey: key,
			Organization: "mail.ru", OrganizationName: " Mail.ru ", ReportID: "123+",
			Start: start, End: start.Add(24 * time.Hour), ReceivedAt: received.UTC(), Success: 15, Failure: 7,
			Policies: []PolicyTotals{{Type: "sts", Success: 10, Failure: 3}, {Type: "tlsa", Success: 5, Failure: 4}},
			MXHosts:  []string{"mx1.example.com", "mx2.example.com"},
			Failures: []FailureCount{
				{ResultType: tlsrpt.ResultTLSAInvalid, MXHost: "mx1.example.com", ReceivingIP: "192.0.2.1", Count: 4},
				{ResultType: tlsrpt.ResultSTSPolicyFetchError, ReasonCode: "404", Count: 3},
			},
			MXPolicies: []MXPolicy{
				{Type: "sts", MXHosts: []string{"mx1.example.com", "mx2.example.com"}, Success: 10, Failure: 3},
				{Type: "tlsa", MXHosts: []string{"mx1.example.com"}, Success: 5, Failure: 4},
			},
		}},
	}
	if !reflect.DeepEqual(e, want) {
		g, _ := json.MarshalIndent(e, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("NewEntry:\ngot  %s\nwant %s", g, w)
	}

	// Every domain served: facts in order of first appearance.
	all := NewEntry(r, []byte{0x1f, 0x8b, 8}, nil, "email", received)
	if got := all.Report.Domains; !reflect.DeepEqual(got, []string{"example.com", "other.example"}) {
		t.Errorf("domains = %v", got)
	}
	if all.Report.ContentType != ContentTypeGzip {
		t.Errorf("content type of a gzip body = %s", all.Report.ContentType)
	}
	// No domain served: no facts, refused by Check.
	none := NewEntry(r, raw, func(string) bool { return false }, "https", received)
	if err := none.Check(); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("Check of an entry without facts = %v", err)
	}
}

// TestNewEntryBounds: whatever a report holds, a fact stays within its
// bounds, keeps exact totals by result type, and is deterministic.
func TestNewEntryBounds(t *testing.T) {
	hostile := strings.Repeat("<\"\x01", 200) // every byte escaped by JSON
	tests := []struct {
		name    string
		details func(i int) tlsrpt.FailureDetail
		n       int
		folded  bool
	}{
		{"few rows", func(i int) tlsrpt.FailureDetail {
			return tlsrpt.FailureDetail{ResultType: tlsrpt.ResultCertificateExpired, Count: 1, SendingMTAIP: fmt.Sprint(i)}
		}, 10, false},
		{"many small rows", func(i int) tlsrpt.FailureDetail {
			return tlsrpt.FailureDetail{ResultType: tlsrpt.ResultCertificateExpired, Count: int64(i), SendingMTAIP: fmt.Sprint(i)}
		}, 5000, true},
		{"escaped strings", func(i int) tlsrpt.FailureDetail {
			return tlsrpt.FailureDetail{ResultType: tlsrpt.ResultValidationFailure, Count: 1,
				ReasonCode: hostile, ReceivingMXHelo: hostile, ReceivingMXHostname: fmt.Sprint(i, hostile)}
		}, 2000, true},
		{"many result types", func(i int) tlsrpt.FailureDetail {
			return tlsrpt.FailureDetail{ResultType: tlsrpt.ResultType(fmt.Sprint("type-", i, hostile)), Count: math.MaxInt64 / 2}
		}, 3000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &tlsrpt.Report{OrganizationName: "o", ReportID: "r", Start: start, End: start}
			p := tlsrpt.PolicyResult{Type: tlsrpt.PolicyTypeSTS, Domain: "example.com"}
			want := map[tlsrpt.ResultType]int64{}
			for i := range tc.n {
				d := tc.details(i)
				p.Failures = append(p.Failures, d)
				want[d.ResultType] = addSat(want[d.ResultType], d.Count)
			}
			for i := range 500 {
				p.MXHosts = append(p.MXHosts, fmt.Sprintf("mx%d.%s", i, strings.Repeat("a", 300)))
			}
			r.Policies = []tlsrpt.PolicyResult{p}
			e := NewEntry(r, []byte("{}"), nil, "https", start)
			f := e.Facts[0]
			if f.Folded != tc.folded {
				t.Errorf("Folded = %v, want %v", f.Folded, tc.folded)
			}
			b, _ := json.Marshal(f.Failures)
			if len(f.Failures) > MaxFailureRows || len(b) > MaxFailureBytes {
				t.Errorf("%d rows, %d bytes: over the bounds", len(f.Failures), len(b))
			}
			if all, _ := json.Marshal(f); len(all) > 300<<10 {
				t.Errorf("fact of %d bytes does not fit a DynamoDB item with room to spare", len(all))
			}
			if len(f.MXHosts) != MaxMXHosts || len(f.MXHosts[0]) > MaxFieldLen {
				t.Errorf("%d mx hosts, the first %d bytes", len(f.MXHosts), len(f.MXHosts[0]))
			}
			got := map[tlsrpt.ResultType]int64{}
			var other int64
			for _, row := range f.Failures {
				if row.ResultType == OtherResultType {
					other = row.Count
					continue
				}
				got[row.ResultType] = addSat(got[row.ResultType], row.Count)
			}
			if tc.name != "many result types" {
				if !reflect.DeepEqual(got, wantCut(want)) {
					t.Errorf("totals by result type changed by folding")
				}
			} else if other == 0 || len(got) == 0 {
				t.Errorf("many result types: %d kept, other %d; want both", len(got), other)
			}
			// Deterministic: the same report gives the same fact.
			again := NewEntry(r, []byte("{}"), nil, "https", start)
			if !reflect.DeepEqual(again.Facts, e.Facts) {
				t.Error("NewEntry is not deterministic")
			}
		})
	}
}

func wantCut(m map[tlsrpt.ResultType]int64) map[tlsrpt.ResultType]int64 {
	out := map[tlsrpt.ResultType]int64{}
	for k, v := range m {
		out[tlsrpt.ResultType(cut(string(k), MaxFieldLen))] += v
	}
	return out
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is 2 bytes: not split
		{"a\xffb", 5, "a\uFFFDb"},
		{"", 3, ""},
	}
	for _, tc := range tests {
		if got := cut(tc.in, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestAddSat(t *testing.T) {
	if got := addSat(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("addSat overflow = %d", got)
	}
	if got := addSat(2, 3); got != 5 {
		t.Errorf("addSat(2, 3) = %d", got)
	}
}

func TestHistoryKeyOrder(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{t0, t0.Add(time.Nanosecond), t0.Add(999 * time.Millisecond), t0.Add(time.Second), t0.Add(48 * time.Hour)}
	for i := 1; i < len(times); i++ {
		a, b := HistoryKey(times[i-1]), HistoryKey(times[i])
		if a >= b || len(a) != len(b) {
			t.Errorf("HistoryKey(%v) = %s not before HistoryKey(%v) = %s", times[i-1], a, times[i], b)
		}
	}
}

func BenchmarkNewEntry(b *testing.B) {
	r := report()
	raw := []byte("{}")
	b.ReportAllocs()
	for b.Loop() {
		NewEntry(r, raw, nil, "https", start)
	}
}

// TestDigest: one report has one digest whatever its form; another
// content another.
func TestDigest(t *testing.T) {
	r := report()
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DigestOfRaw(js)
	if err != nil {
		t.Fatal(err)
	}
	if d != Digest(r) || len(d) != 64 {
		t.Errorf("DigestOfRaw(JSON) = %s, Digest = %s", d, Digest(r))
	}
	r2 := report()
	r2.Policies[0].Success++
	if Digest(r2) == Digest(r) {
		t.Error("two contents share a digest")
	}
}

func TestVariantKey(t *testing.T) {
	for _, key := range []string{"google_20inc.1", strings.Repeat("x", 160) + "!0123456789abcdef0123456789abcdef",
		strings.Repeat("x", 160) + "!!0123456789abcdef0123456789abcdef"} {
		v := VariantKey(key, strings.Repeat("ab", 32))
		if err := ValidKey(v); err != nil {
			t.Errorf("VariantKey(%s) = %s: %v", key, v, err)
		}
		if IdentityKeyOf(v) != key || IdentityKeyOf(key) != key {
			t.Errorf("IdentityKeyOf(%s) = %s, IdentityKeyOf(%s) = %s", v, IdentityKeyOf(v), key, IdentityKeyOf(key))
		}
	}
}

// TestSumDaysSamples: day sums count sample reports, so that a view
// needs no facts to know sample data is stored.
func TestSumDaysSamples(t *testing.T) {
	facts := []Fact{
		{Domain: "example.com", Day: "2024-01-01", OrganizationName: "Google LLC (sample)", ReportID: "sample-1"},
		{Domain: "example.com", Day: "2024-01-01", OrganizationName: "Google LLC", ReportID: "sample-2"},
		{Domain: "example.com", Day: "2024-01-02", OrganizationName: "X (sample)", ReportID: "real"},
	}
	sums := SumDays("example.com", "2024-01-01", "2024-01-02", facts)
	if len(sums) != 2 || sums[0].SampleReports != 1 || sums[1].SampleReports != 0 {
		t.Errorf("SumDays = %+v, want 1 sample report on the first day, none on the second", sums)
	}
}

// TestDaySumCountedMatchesSummary: what a Counting counts of the day sums
// is what it counts of the facts (SummarizeCounting), day by day.
func TestDaySumCountedMatchesSummary(t *testing.T) {
	var facts []Fact
	provs := append([]string{""}, Provenances()...)
	for i := range 40 {
		f := Fact{Domain: "example.com", Day: Day("2024-01-0" + fmt.Sprint(1+i%3)), Organization: fmt.Sprint("o", i%5),
			Success: int64(i * 7), Failure: int64(i % 4), Provenance: provs[i%len(provs)], Conflict: i%6 == 0,
			Policies: []PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: int64(i), Failure: 1}}}
		facts = append(facts, f)
	}
	for _, c := range []Counting{{}, {Conflicting: true}, {Provenances: []string{ProvenanceEmailAligned}},
		{Provenances: []string{ProvenanceHTTPS, ProvenanceEmailUnaligned}, Conflicting: true}} {
		sum := SummarizeCounting("example.com", "2024-01-01", "2024-01-03", facts, c)
		var all DayCount
		for _, ds := range SumDays("example.com", "2024-01-01", "2024-01-03", facts) {
			d := ds.Counted(c)
			all.Add(d)
			i := slices.IndexFunc(sum.ByDay, func(b DayTotals) bool { return b.Day == ds.Day })
			if i < 0 {
				if d.Reports != 0 {
					t.Errorf("%+v: %s counts %d reports, Summary none", c, ds.Day, d.Reports)
				}
				continue
			}
			if d.Totals != sum.ByDay[i].Totals || d.STS != sum.ByDay[i].STS {
				t.Errorf("%+v: %s = %+v, Summary %+v", c, ds.Day, d, sum.ByDay[i])
			}
		}
		if all.Reports != sum.Reports || all.Totals != sum.Totals || all.STS != sum.STS ||
			all.Conflicting != sum.Conflicting || all.Excluded != sum.Excluded {
			t.Errorf("%+v: day sums count %+v, Summary %d reports %+v sts %+v conflicting %d excluded %d",
				c, all, sum.Reports, sum.Totals, sum.STS, sum.Conflicting, sum.Excluded)
		}
	}
}

// TestCounting: which facts the sums count.
func TestCounting(t *testing.T) {
	https := Fact{Provenance: ProvenanceHTTPS}
	aligned := Fact{Provenance: ProvenanceEmailAligned}
	old := Fact{}
	conflict := Fact{Provenance: ProvenanceEmailAligned, Conflict: true}
	onlyAligned := Counting{Provenances: []string{ProvenanceEmailAligned}}
	for _, tc := range []struct {
		c    Counting
		f    Fact
		want bool
	}{
		{Counting{}, https, true},
		{Counting{}, old, true},
		{Counting{}, conflict, false},
		{Counting{Conflicting: true}, conflict, true},
		{onlyAligned, aligned, true},
		{onlyAligned, https, false},
		{onlyAligned, old, false},
		{onlyAligned, conflict, false},
	} {
		if got := tc.c.Counts(tc.f); got != tc.want {
			t.Errorf("%+v.Counts(%+v) = %v, want %v", tc.c, tc.f, got, tc.want)
		}
	}
	facts := []Fact{
		{Domain: "a.example", Day: "2024-01-01", Success: 5, Provenance: ProvenanceHTTPS},
		{Domain: "a.example", Day: "2024-01-01", Success: 7, Provenance: ProvenanceEmailAligned},
		{Domain: "a.example", Day: "2024-01-01", Success: 11, Provenance: ProvenanceEmailAligned, Conflict: true},
	}
	s := SummarizeCounting("a.example", "2024-01-01", "2024-01-01", facts, onlyAligned)
	if s.Reports != 1 || s.Success != 7 || s.Conflicting != 1 || s.Excluded != 2 {
		t.Errorf("SummarizeCounting = %d reports, %d sessions, %d conflicting, %d excluded; want 1, 7, 1, 2",
			s.Reports, s.Success, s.Conflicting, s.Excluded)
	}
}

// TestNewEntryMXPolicies: policies naming MX hosts, and tlsa policies with
// their records, are kept per policy, equal ones summed, within bounds
// that keep a fact within one DynamoDB item next to the most failure rows.
func TestNewEntryMXPolicies(t *testing.T) {
	const rec = "3 1 1 206d5f55ecb9f8389bc57b5ba14716dd5b23d0834fd2c99fd402f0bda32e9523"
	r := &tlsrpt.Report{OrganizationName: "o", ReportID: "r", Start: start, End: start, Policies: []tlsrpt.PolicyResult{
		{Type: tlsrpt.PolicyTypeSTS, Domain: "example.com", MXHosts: []string{"*.mx.example.com"}, Success: 10},
		{Type: tlsrpt.PolicyTypeTLSA, Domain: "example.com", MXHosts: []string{"mx1.example.com"}, PolicyStrings: []string{`["` + rec + `"]`}, Success: 5, Failure: 1},
		{Type: tlsrpt.PolicyTypeTLSA, Domain: "example.com", MXHosts: []string{"mx1.example.com"}, PolicyStrings: []string{rec}, Success: 2},
		{Type: tlsrpt.PolicyTypeNoPolicyFound, Domain: "example.com", Success: 7},
		{Type: tlsrpt.PolicyTypeTLSA, Domain: "other.example", MXHosts: []string{"mx.other.example"}, Success: 3},
	}}
	f := NewEntry(r, []byte("{}"), nil, "https", start).Facts[0]
	want := []MXPolicy{
		{Type: tlsrpt.PolicyTypeSTS, MXHosts: []string{"*.mx.example.com"}, Success: 10},
		{Type: tlsrpt.PolicyTypeTLSA, MXHosts: []string{"mx1.example.com"}, Records: []string{rec}, Success: 7, Failure: 1},
	}
	if !reflect.DeepEqual(f.MXPolicies, want) {
		t.Errorf("MXPolicies = %+v, want %+v", f.MXPolicies, want)
	}

	// Bounds: many distinct tlsa policies, long records, many hosts, and
	// the most failure rows a fact keeps.
	r.Policies = nil
	for i := range 40 {
		p := tlsrpt.PolicyResult{Type: tlsrpt.PolicyTypeTLSA, Domain: "example.com", Success: 1}
		for j := range 30 {
			p.MXHosts = append(p.MXHosts, fmt.Sprintf("mx%d-%d.%s", i, j, strings.Repeat("a", 300)))
			p.PolicyStrings = append(p.PolicyStrings, fmt.Sprintf("3 0 0 %d%s", j, strings.Repeat("ab", 2000)))
		}
		for j := range 200 {
			p.Failures = append(p.Failures, tlsrpt.FailureDetail{ResultType: tlsrpt.ResultTLSAInvalid, Count: 1,
				ReasonCode: strings.Repeat("<", 200), SendingMTAIP: fmt.Sprint(i, "-", j)})
		}
		r.Policies = append(r.Policies, p)
	}
	f = NewEntry(r, []byte("{}"), nil, "https", start).Facts[0]
	if len(f.MXPolicies) != MaxMXPolicies {
		t.Errorf("%d MX policies, want the bound %d", len(f.MXPolicies), MaxMXPolicies)
	}
	for _, p := range f.MXPolicies {
		if len(p.MXHosts) > MaxPolicyMXHosts || len(p.Records) > MaxTLSARecords {
			t.Fatalf("policy with %d hosts, %d records: over the bounds", len(p.MXHosts), len(p.Records))
		}
		for _, rc := range p.Records {
			if len(rc) > MaxTLSARecordLen || !strings.HasSuffix(rc, "…") {
				t.Fatalf("record of %d bytes %q…: not cut to %d with a mark", len(rc), rc[:20], MaxTLSARecordLen)
			}
		}
	}
	if all, _ := json.Marshal(f); len(all) > 350<<10 {
		t.Errorf("fact of %d bytes does not fit a DynamoDB item (400 KB) with room to spare", len(all))
	}
}

type listFacts []Fact

func (l listFacts) Facts(_ context.Context, domain string, from, to Day) ([]Fact, error) {
	return l, nil
}

// TestSummaryFacts: one read gives the Summary and the facts it counts.
func TestSummaryFacts(t *testing.T) {
	l := listFacts{
		{Domain: "a.example", Day: "2024-02-20", ReportKey: "k1", Success: 5, Provenance: ProvenanceHTTPS},
		{Domain: "a.example", Day: "2024-02-20", ReportKey: "k2", Success: 7, Conflict: true},
		{Domain: "a.example", Day: "2024-02-21", ReportKey: "k3", Success: 9, Provenance: ProvenanceEmailAligned},
	}
	c := Counted{FactLister: l, Counting: Counting{Provenances: []string{ProvenanceHTTPS}}}
	s, facts, err := c.SummaryFacts(context.Background(), "a.example", "2024-02-20", "2024-02-21")
	want, _ := c.Summary(context.Background(), "a.example", "2024-02-20", "2024-02-21")
	if err != nil || !reflect.DeepEqual(s, want) || len(facts) != 1 || facts[0].ReportKey != "k1" {
		t.Errorf("SummaryFacts = %+v, %+v, %v; want the Summary and fact k1 only", s, facts, err)
	}
}
