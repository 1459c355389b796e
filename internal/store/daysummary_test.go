package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// factSlice is a store of facts whose day sums are SumDays over them; it
// records the day ranges of facts read.
type factSlice struct {
	facts []Fact
	read  [][2]Day
	err   error
}

func (s *factSlice) Facts(_ context.Context, domain string, from, to Day) ([]Fact, error) {
	s.read = append(s.read, [2]Day{from, to})
	var out []Fact
	for _, f := range s.facts {
		if f.Domain == domain && f.Day >= from && f.Day <= to {
			out = append(out, f)
		}
	}
	return out, s.err
}

func (s *factSlice) DaySums(_ context.Context, domain string, from, to, _ Day) ([]DaySum, error) {
	return SumDays(domain, from, to, s.facts), s.err
}

// TestDayCounted: the Summary read from day sums is the Summary of the
// facts (SummarizeCounting) in every field the checker reads, for every
// Counting; facts are read only for the days from the first to the last
// with failed sessions, and not at all without failures.
func TestDayCounted(t *testing.T) {
	ctx := context.Background()
	provs := append([]string{""}, Provenances()...)
	var facts []Fact
	for i := range 60 {
		f := Fact{Domain: "example.com", Day: Day("2024-01-" + fmt.Sprintf("%02d", 1+i%14)), Organization: fmt.Sprint("o", i%5),
			Success: int64(i * 7), Provenance: provs[i%len(provs)], Conflict: i%6 == 0,
			Policies: []PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: int64(i * 7)}}}
		if i%14 == 4 || i%14 == 9 { // failures on the 5th and the 10th
			f.Failure = int64(i%3 + 1)
			f.Policies[0].Failure = f.Failure
			f.Failures = []FailureCount{{ResultType: tlsrpt.ResultCertificateExpired, MXHost: fmt.Sprint("mx", i%2), Count: f.Failure}}
		}
		facts = append(facts, f)
	}
	facts = append(facts, Fact{Domain: "other.example", Day: "2024-01-03", Success: 99})
	for _, c := range []Counting{{}, {Conflicting: true}, {Provenances: []string{ProvenanceEmailAligned}},
		{Provenances: []string{ProvenanceHTTPS, ProvenanceEmailUnaligned}, Conflicting: true}} {
		s := &factSlice{facts: facts}
		got, err := DayCounted{Facts: s, Sums: s, Counting: c}.Summary(ctx, "example.com", "2024-01-01", "2024-01-14")
		if err != nil {
			t.Fatal(err)
		}
		want := SummarizeCounting("example.com", "2024-01-01", "2024-01-14", facts, c)
		want.ByOrganization = []OrgTotals{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\n got %+v\nwant %+v", c, got, want)
		}
		if want.Failure > 0 && (len(s.read) != 1 || s.read[0][0] < "2024-01-05" || s.read[0][1] > "2024-01-10") {
			t.Errorf("%+v: facts read %v, want the 5th to the 10th at most", c, s.read)
		}
		// SummaryFacts: the same Summary, and every counted fact of the
		// days with failures.
		s2 := &factSlice{facts: facts}
		got2, fs, err := DayCounted{Facts: s2, Sums: s2, Counting: c}.SummaryFacts(ctx, "example.com", "2024-01-01", "2024-01-14")
		if err != nil || !reflect.DeepEqual(got2, got) {
			t.Errorf("%+v: SummaryFacts gave another Summary (%v)", c, err)
		}
		for _, f := range facts {
			counted := f.Domain == "example.com" && c.Counts(f) && (f.Day == "2024-01-05" || f.Day == "2024-01-10")
			if in := slices.ContainsFunc(fs, func(g Fact) bool { return reflect.DeepEqual(f, g) }); counted && !in {
				t.Errorf("%+v: SummaryFacts left out %+v", c, f)
			}
			if !c.Counts(f) && slices.ContainsFunc(fs, func(g Fact) bool { return reflect.DeepEqual(f, g) }) {
				t.Errorf("%+v: SummaryFacts gave an uncounted fact %+v", c, f)
			}
		}
	}
	// Without failures, no fact is read.
	var clean []Fact
	for _, f := range facts {
		if f.Failure == 0 {
			clean = append(clean, f)
		}
	}
	s := &factSlice{facts: clean}
	got, err := DayCounted{Facts: s, Sums: s}.Summary(ctx, "example.com", "2024-01-01", "2024-01-14")
	if err != nil || len(s.read) != 0 || got.STS.Success == 0 {
		t.Errorf("without failures: %+v, %v; facts read %v", got.STS, err, s.read)
	}
	// A store that cannot be read is an error, not zero sums.
	s = &factSlice{facts: facts, err: errors.New("throttled")}
	if _, err := (DayCounted{Facts: s, Sums: s}).Summary(ctx, "example.com", "2024-01-01", "2024-01-14"); err == nil {
		t.Error("an unreadable store gave no error")
	}
}
