package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Tests of report identity (issue 14 §2, §3): a second body with the same
// identity but other content is kept beside the first, and the facts a
// store holds are always exactly those of the reports it says it holds.

// held returns the records of every body stored for the identity whose
// first body is under key: key's and those of its conflicts.
func held(t *testing.T, s Store, key string) map[string]store.Receipt {
	t.Helper()
	ctx := context.Background()
	base, err := s.Report(ctx, key)
	if err != nil {
		t.Fatalf("Report(%s): %v", key, err)
	}
	out := map[string]store.Receipt{key: base}
	for _, k := range base.Conflicts {
		r, err := s.Report(ctx, k)
		if err != nil {
			t.Fatalf("Report(%s), a conflict of %s: %v", k, key, err)
		}
		out[k] = r
	}
	return out
}

// checkFacts verifies that the facts of domains on day whose report key is
// one of recs (or a variant of one) are exactly the facts those records
// describe: one per domain the record lists, summing to its counts.
func checkFacts(t *testing.T, s Store, recs map[string]store.Receipt, domains []string, day store.Day) {
	t.Helper()
	type sum struct {
		domains []string
		success int64
	}
	got := map[string]*sum{}
	for _, d := range domains {
		for _, f := range facts(t, s, d, day, day) {
			base := store.IdentityKeyOf(f.ReportKey)
			if _, ok := recs[base]; !ok {
				if _, ok := recs[f.ReportKey]; !ok {
					continue // another identity
				}
			}
			if _, ok := recs[f.ReportKey]; !ok {
				t.Errorf("fact %s/%s of a report the store does not hold", d, f.ReportKey)
				continue
			}
			g := got[f.ReportKey]
			if g == nil {
				g = &sum{}
				got[f.ReportKey] = g
			}
			g.domains = append(g.domains, f.Domain)
			g.success += f.Success
		}
	}
	for k, r := range recs {
		g := got[k]
		if g == nil {
			t.Errorf("report %s: no facts, record says %v", k, r.Domains)
			continue
		}
		slices.Sort(g.domains)
		want := slices.Sorted(slices.Values(r.Domains))
		if !slices.Equal(g.domains, want) || g.success != r.Success {
			t.Errorf("report %s: facts hold %v and %d sessions, the record says %v and %d", k, g.domains, g.success, want, r.Success)
		}
	}
}

// testConflictKept: a forged report posted first does not silence the
// real one: both are kept, each with its own facts.
func testConflictKept(t *testing.T, s Store) {
	ctx := context.Background()
	const id = "2024-03-06T00:00:00Z_example.com"
	forged := Entry(t, Report("Google LLC", id, "2024-03-06", 0, []string{"example.com"}))
	real := Entry(t, Report("Google LLC", id, "2024-03-06", 1000, []string{"example.com", "example.org"}, fetchError))
	variant := store.VariantKey(forged.Report.Key, real.Report.Digest)
	for _, tc := range []struct {
		e       store.Entry
		created bool
		key     string
		conf    []string
	}{
		{forged, true, forged.Report.Key, nil},
		{real, true, variant, []string{forged.Report.Key}},
		// Re-sends of either, in another form: duplicates.
		{reformatted(t, real), false, variant, []string{forged.Report.Key}},
		{reformatted(t, forged), false, forged.Report.Key, []string{variant}},
	} {
		saved, err := s.SaveReport(ctx, tc.e)
		if err != nil {
			t.Fatalf("SaveReport: %v", err)
		}
		if saved.Created != tc.created || saved.Key != tc.key || !slices.Equal(saved.Conflicts, tc.conf) {
			t.Errorf("SaveReport = %+v, want created %v, key %s, conflicts %v", saved, tc.created, tc.key, tc.conf)
		}
	}
	raw, err := s.Raw(ctx, variant)
	if err != nil || string(raw) != string(real.Raw) {
		t.Errorf("Raw(%s) = %d bytes, %v; want the real body", variant, len(raw), err)
	}
	for _, d := range []string{"example.com", "example.org"} {
		for _, f := range facts(t, s, d, "2024-03-06", "2024-03-06") {
			if !f.Conflict {
				t.Errorf("fact %s/%s not flagged as conflicting", d, f.ReportKey)
			}
		}
	}
	var total int64
	for _, f := range facts(t, s, "example.com", "2024-03-06", "2024-03-06") {
		total += f.Success
	}
	if total != 1000 {
		t.Errorf("example.com holds %d successful sessions, want the real report's 1000 beside the forged 0", total)
	}
	recs := held(t, s, forged.Report.Key)
	if len(recs) != 2 {
		t.Fatalf("%d bodies held for the identity, want 2", len(recs))
	}
	checkFacts(t, s, recs, []string{"example.com", "example.org"}, "2024-03-06")
}

// testConcurrentBodies: pairs of different bodies with one identity saved
// at once (the 150 pairs: the record said one domain and 1,000
// sessions, the facts held two domains and 1,001): afterwards every
// identity holds both bodies and its facts are exactly theirs.
func testConcurrentBodies(t *testing.T, s Store) {
	ctx := context.Background()
	const pairs = 12
	var wg sync.WaitGroup
	keys := make([]string, pairs)
	for i := range pairs {
		id := fmt.Sprintf("race-%d", i)
		a := Entry(t, Report("Racer", id, "2024-03-07", 1000, []string{"example.com"}))
		b := Entry(t, Report("Racer", id, "2024-03-07", 1001, []string{"example.com", "example.org"}))
		keys[i] = a.Report.Key
		for _, e := range []store.Entry{a, b} {
			wg.Go(func() {
				if _, err := s.SaveReport(ctx, e); err != nil {
					t.Errorf("SaveReport(%s): %v", e.Report.Key, err)
				}
			})
		}
	}
	wg.Wait()
	for _, k := range keys {
		recs := held(t, s, k)
		if len(recs) != 2 {
			t.Errorf("%s: %d bodies held, want 2", k, len(recs))
		}
		checkFacts(t, s, recs, []string{"example.com", "example.org"}, "2024-03-07")
	}
}

// reformatted is e with the same report as another raw body (indented
// JSON), received later by e-mail: the same content.
func reformatted(t *testing.T, e store.Entry) store.Entry {
	t.Helper()
	var v any
	if err := json.Unmarshal(e.Raw, &v); err != nil {
		t.Fatal(err)
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tlsrpt.ParseReport(raw, tlsrpt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return store.NewEntry(r, raw, nil, "email", received.Add(time.Hour))
}

// testIdenticalConcurrent: the same report in several forms saved at once
// is stored once, without a conflict.
func testIdenticalConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	e := Entry(t, Report("Same", "same-1", "2024-03-08", 7, []string{"example.com"}))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for i := range 6 {
		x := e
		if i%2 == 1 {
			x = reformatted(t, e)
		}
		wg.Go(func() {
			saved, err := s.SaveReport(ctx, x)
			if err != nil || saved.Key != e.Report.Key || len(saved.Conflicts) != 0 {
				t.Errorf("SaveReport = %+v, %v", saved, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if saved.Created {
				created++
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d saves said created, want 1", created)
	}
	recs := held(t, s, e.Report.Key)
	if len(recs) != 1 {
		t.Errorf("%d bodies held, want 1", len(recs))
	}
	checkFacts(t, s, recs, []string{"example.com"}, "2024-03-08")
}

// testConflictsExcluded: the sums leave the facts of conflicting reports
// out (counting them as Conflicting and Excluded) until resolved.
func testConflictsExcluded(t *testing.T, s Store) {
	ctx := context.Background()
	save(t, s, Entry(t, Report("Honest", "h1", "2024-03-09", 100, []string{"example.com"})))
	save(t, s, Entry(t, Report("Google LLC", "g1", "2024-03-09", 5, []string{"example.com"})))
	save(t, s, Entry(t, Report("Google LLC", "g1", "2024-03-09", 7, []string{"example.com"}, fetchError)))
	sum, err := s.Summary(ctx, "example.com", "2024-03-09", "2024-03-09")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Reports != 1 || sum.Success != 100 || sum.Failure != 0 || sum.Conflicting != 2 || sum.Excluded != 2 {
		t.Errorf("Summary = %d reports, %d/%d sessions, %d conflicting, %d excluded; want 1, 100/0, 2, 2",
			sum.Reports, sum.Success, sum.Failure, sum.Conflicting, sum.Excluded)
	}
}

// testConflictsBounded: a sender posting many bodies for one identity
// gets each stored and flagged, but the first record lists at most
// store.MaxConflicts of them, so it stays small; the real report, sent
// last, is still stored.
func testConflictsBounded(t *testing.T, s Store) {
	ctx := context.Background()
	first := Entry(t, Report("Google LLC", "flood", "2024-03-10", 0, []string{"example.com"}))
	save(t, s, first)
	var last store.Entry
	for i := range store.MaxConflicts + 3 {
		last = Entry(t, Report("Google LLC", "flood", "2024-03-10", int64(i+1), []string{"example.com"}))
		if !save(t, s, last) {
			t.Fatalf("body %d not stored", i+1)
		}
	}
	rec, err := s.Report(ctx, first.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conflicts) != store.MaxConflicts {
		t.Errorf("first record lists %d conflicts, want %d", len(rec.Conflicts), store.MaxConflicts)
	}
	v := store.VariantKey(first.Report.Key, last.Report.Digest)
	if _, err := s.Report(ctx, v); err != nil {
		t.Errorf("last body %s: %v", v, err)
	}
	for _, f := range facts(t, s, "example.com", "2024-03-10", "2024-03-10") {
		if !f.Conflict {
			t.Errorf("fact %s not flagged", f.ReportKey)
		}
	}
}
