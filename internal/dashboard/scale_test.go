package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/store/storetest"
)

// manyDomainsConfig is an organisation with n external-DNS domains.
func manyDomainsConfig(tb testing.TB, n int) *config.Config {
	tb.Helper()
	var b strings.Builder
	b.WriteString("organization: Scale Corp\nregion: eu-west-1\ndefaults:\n  policy: {mode: testing, mx: [\"*.mail.example.net\"]}\ndomains:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: d%04d.example\n    dns: {external: true}\n", i)
	}
	b.WriteString("reporting: {https: true}\n")
	cfg, err := config.Parse([]byte(b.String()), "scale.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// countingStore counts the facts the dashboard reads one by one.
type countingStore struct {
	Store
	facts atomic.Int64
}

func (c *countingStore) Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	f, err := c.Store.Facts(ctx, domain, from, to)
	c.facts.Add(int64(len(f)))
	return f, err
}

// TestOverviewReadsDaySums: the overview of many domains does not read
// every fact of every domain on each view (issue 16): it reads day sums,
// and its numbers equal those summed from the facts.
func TestOverviewReadsDaySums(t *testing.T) {
	const domains, days, perDay = 12, 30, 3
	ctx := context.Background()
	cfg := manyDomainsConfig(t, domains)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2024, 5, 31, 12, 0, 0, 0, time.UTC)
	today := store.DayOf(now)
	for i, d := range cfg.Domains {
		for day := range days {
			for r := range perDay {
				rep := storetest.Report(fmt.Sprintf("Org %d", r), fmt.Sprintf("%s-%d-%d", d.Name, day, r), today.AddDays(-day),
					int64(10*i+day+r), []string{d.Name})
				if _, err := st.SaveReport(ctx, storetest.Entry(t, rep)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	cs := &countingStore{Store: st}
	m := &model{cfg: cfg, st: cs, now: func() time.Time { return now }}
	first, err := m.overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs.facts.Store(0)
	second, err := m.overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := cs.facts.Load(); n != 0 {
		t.Errorf("the overview read %d facts one by one, want none (day sums)", n)
	}
	if a, b := mustJSON(t, first), mustJSON(t, second); a != b {
		t.Errorf("second overview differs from the first:\n%s\n%s", b, a)
	}
	// The numbers are those of the facts.
	w30 := lastDays(today, 30)
	for i, d := range cfg.Domains {
		facts, err := st.Facts(ctx, d.Name, w30.From, w30.To)
		if err != nil {
			t.Fatal(err)
		}
		sum := store.SummarizeCounting(d.Name, w30.From, w30.To, facts, m.counting())
		got := second.Domains[i].Last30Days
		if got.Reports != sum.Reports || got.Success != sum.Success || got.Failure != sum.Failure {
			t.Errorf("%s: last 30 days %d reports %d/%d, facts say %d %d/%d", d.Name,
				got.Reports, got.Success, got.Failure, sum.Reports, sum.Success, sum.Failure)
		}
	}
	// A late report about a complete day shows at once.
	late := storetest.Report("Late Org", "late", today.AddDays(-20), 1000, []string{cfg.Domains[0].Name})
	if _, err := st.SaveReport(ctx, storetest.Entry(t, late)); err != nil {
		t.Fatal(err)
	}
	third, err := m.overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := third.Domains[0].Last30Days.Success, second.Domains[0].Last30Days.Success+1000; got != want {
		t.Errorf("after a late report: %d sessions, want %d", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
