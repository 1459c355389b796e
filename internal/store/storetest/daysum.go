package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// daySums reads the day sums of domain and checks them against the sums of
// its facts (store.SumDays): derived sums must never differ from the truth.
func daySums(t *testing.T, s Store, domain string, from, to, complete store.Day) []store.DaySum {
	t.Helper()
	got, err := s.DaySums(context.Background(), domain, from, to, complete)
	if err != nil {
		t.Fatalf("DaySums(%s, %s, %s, %s): %v", domain, from, to, complete, err)
	}
	equal(t, fmt.Sprintf("DaySums(%s, %s, %s, complete %s) against the facts", domain, from, to, complete),
		got, store.SumDays(domain, from, to, facts(t, s, domain, from, to)))
	return got
}

// testDaySums: sums of complete days are derived once and then read; they
// equal the sums of the facts, also over ranges that start or end inside
// what is stored, and after Rebuild.
func testDaySums(t *testing.T, s Store) {
	ctx := context.Background()
	tlsa := Report("Microsoft Corporation", "m1", "2024-04-02", 20, []string{"example.com"}, fetchError)
	tlsa.Policies[0].Type = tlsrpt.PolicyTypeTLSA
	save(t, s, Entry(t, tlsa))
	for i, d := range []store.Day{"2024-04-01", "2024-04-02", "2024-04-04", "2024-04-06"} {
		save(t, s, Entry(t, Report("Google LLC", fmt.Sprintf("g%d", i), d, int64(100*(i+1)), []string{"example.com", "example.org"}, fetchError)))
	}
	got := daySums(t, s, "example.com", "2024-04-01", "2024-04-06", "2024-04-04")
	sts := func(n int64) []store.ClassSum {
		return []store.ClassSum{{Reports: 1, Totals: store.Totals{Success: n, Failure: 2}, STS: store.Totals{Success: n, Failure: 2}}}
	}
	want := []store.DaySum{
		{Domain: "example.com", Day: "2024-04-01", Classes: sts(100)},
		{Domain: "example.com", Day: "2024-04-02",
			Classes: []store.ClassSum{{Reports: 2, Totals: store.Totals{Success: 220, Failure: 4}, STS: store.Totals{Success: 200, Failure: 2}}}},
		{Domain: "example.com", Day: "2024-04-03"},
		{Domain: "example.com", Day: "2024-04-04", Classes: sts(300)},
		{Domain: "example.com", Day: "2024-04-05"},
		{Domain: "example.com", Day: "2024-04-06", Classes: sts(400)},
	}
	// The senders of each day (silent-sender alerts learn from them).
	var senders [][]string
	for i := range got {
		var day []string
		for _, d := range got[i].Senders {
			day = append(day, fmt.Sprintf("%s %d %s", d.Organization, d.Reports, time.Unix(d.LastStart, 0).UTC().Format(time.DateOnly)))
		}
		senders = append(senders, day)
		got[i].Senders = nil
		want[i].Version = store.SumVersion
	}
	equal(t, "DaySums", got, want)
	equal(t, "DaySums senders", senders, [][]string{{"google llc 1 2024-04-01"}, {"google llc 1 2024-04-02", "microsoft corporation 1 2024-04-02"}, nil,
		{"google llc 1 2024-04-04"}, nil, {"google llc 1 2024-04-06"}})
	// Read again (from the stored sums), over ranges inside and around.
	daySums(t, s, "example.com", "2024-04-01", "2024-04-06", "2024-04-04")
	daySums(t, s, "example.com", "2024-04-02", "2024-04-03", "2024-04-04")
	daySums(t, s, "example.com", "2024-03-30", "2024-04-08", "2024-04-07")
	daySums(t, s, "example.org", "2024-04-01", "2024-04-06", "2024-04-06")
	daySums(t, s, "example.net", "2024-04-01", "2024-04-06", "2024-04-06") // no facts
	if got, err := s.DaySums(ctx, "example.com", "2024-04-06", "2024-04-01", "2024-04-06"); err != nil || len(got) != 0 {
		t.Errorf("DaySums(from after to) = %v, %v; want none", got, err)
	}
	rebuilt, err := s.Rebuild(ctx, "example.com", "2024-03-30", "2024-04-08", "2024-04-07")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Rebuild", rebuilt, store.SumDays("example.com", "2024-03-30", "2024-04-08", facts(t, s, "example.com", "2024-03-30", "2024-04-08")))
	daySums(t, s, "example.com", "2024-03-30", "2024-04-08", "2024-04-07")
}

// testDaySumLate: a report that arrives for a day whose sum is stored
// (reports come weeks late) corrects the sum at once, as does a second
// body claiming a stored report's identity (its facts turn conflicting).
func testDaySumLate(t *testing.T, s Store) {
	save(t, s, Entry(t, Report("Google LLC", "early", "2024-05-01", 10, []string{"example.com"})))
	all := store.Counting{Conflicting: true}
	first := daySums(t, s, "example.com", "2024-04-30", "2024-05-02", "2024-05-31")
	if c := first[1].Counted(all); c.Reports != 1 || c.Success != 10 {
		t.Fatalf("sum of 2024-05-01 = %+v, want 1 report, 10 sessions", c)
	}
	// Late: the day is complete and its sum stored.
	save(t, s, Entry(t, Report("Microsoft Corporation", "late", "2024-05-01", 5, []string{"example.com"})))
	save(t, s, Entry(t, Report("Microsoft Corporation", "late-empty-day", "2024-05-02", 7, []string{"example.com"})))
	late := daySums(t, s, "example.com", "2024-04-30", "2024-05-02", "2024-05-31")
	if c1, c2 := late[1].Counted(all), late[2].Counted(all); c1.Reports != 2 || c1.Success != 15 || c2.Reports != 1 || c2.Success != 7 {
		t.Errorf("after late reports: %+v, want 2 reports and 15 sessions on 2024-05-01, 1 and 7 on 2024-05-02", late)
	}
	// A conflicting body of a counted report.
	save(t, s, Entry(t, Report("Google LLC", "early", "2024-05-01", 999, []string{"example.com"})))
	conf := daySums(t, s, "example.com", "2024-05-01", "2024-05-01", "2024-05-31")
	if c := conf[0].Counted(all); c.Reports != 3 || c.Conflicting != 2 || c.Success != 1014 {
		t.Errorf("after a conflicting body, counting all: %+v, want 3 reports, 2 conflicting, 1014 sessions", c)
	}
	// By default (store.Counting{}) conflicting reports are left out.
	if c := conf[0].Counted(store.Counting{}); c.Reports != 1 || c.Excluded != 2 || c.Success != 5 {
		t.Errorf("after a conflicting body, by default: %+v, want 1 report (5 sessions), 2 excluded", c)
	}
}

// testDaySumConcurrent: sums read while late reports are saved never stay
// behind the facts once the saves are done.
func testDaySumConcurrent(t *testing.T, s Store) {
	const n = 16
	days := []store.Day{"2024-06-01", "2024-06-02"}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			e := Entry(t, Report("Org", fmt.Sprintf("c%d", i), days[i%2], int64(i+1), []string{"example.com"}))
			if _, err := s.SaveReport(context.Background(), e); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := s.DaySums(context.Background(), "example.com", days[0], days[1], days[1]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := daySums(t, s, "example.com", days[0], days[1], days[1])
	var total int64
	for _, ds := range got {
		total += ds.Counted(store.Counting{}).Success
	}
	if total != n*(n+1)/2 {
		t.Errorf("day sums hold %d sessions, want %d", total, n*(n+1)/2)
	}
}

// testDaySumSaturates: counts past math.MaxInt64 saturate in stored sums.
func testDaySumSaturates(t *testing.T, s Store) {
	for _, id := range []string{"big1", "big2"} {
		save(t, s, Entry(t, Report("Org", id, "2024-07-01", math.MaxInt64, []string{"example.com"})))
	}
	got := daySums(t, s, "example.com", "2024-07-01", "2024-07-01", "2024-07-01")
	if c := got[0].Counted(store.Counting{}); c.Success != math.MaxInt64 || c.STS.Success != math.MaxInt64 {
		t.Errorf("sum = %+v, want saturated at MaxInt64", c)
	}
}
