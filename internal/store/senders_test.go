package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var silenceNow = time.Date(2024, 3, 20, 12, 0, 0, 0, time.UTC)

// reportsEvery returns n facts of org for example.com, each covering
// length from start + i·every, received lag after its end.
func reportsEvery(org string, start time.Time, every, length, lag time.Duration, n int) []Fact {
	var fs []Fact
	for i := range n {
		s := start.Add(time.Duration(i) * every)
		fs = append(fs, Fact{Domain: "example.com", Day: DayOf(s), Organization: org, OrganizationName: org + " Inc.",
			ReportKey: fmt.Sprintf("%s-%d", org, i), ReportID: fmt.Sprint(i),
			Start: s, End: s.Add(length), ReceivedAt: s.Add(length + lag)})
	}
	return fs
}

func defaultSilence() Silence {
	return Silence{SenderAfter: DefaultSenderSilence, DomainAfter: DefaultDomainSilence,
		MinReports: DefaultSilenceMinReports, MaxInterval: DefaultSilenceMaxInterval}
}

func sender(t *testing.T, ss []Sender, org string) Sender {
	t.Helper()
	for _, s := range ss {
		if s.Organization == org {
			return s
		}
	}
	t.Fatalf("no sender %q in %+v", org, ss)
	return Sender{}
}

// TestSendersCadence: the cadence learned is the sender's, hourly, daily
// or weekly, whatever its lag, and the last report is the latest by start.
func TestSendersCadence(t *testing.T) {
	const day = 24 * time.Hour
	base := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	var facts []Fact
	facts = append(facts, reportsEvery("daily", base, day, day-time.Second, 6*time.Hour, 40)...)
	facts = append(facts, reportsEvery("hourly", base.Add(40*day), time.Hour, time.Hour, 10*time.Minute, 30)...)
	facts = append(facts, reportsEvery("weekly", base, 7*day, 7*day, 2*day, 6)...)
	facts = append(facts, reportsEvery("once", base, day, day, 0, 1)...)
	facts = append(facts, Fact{Domain: "other.example", Organization: "daily", Start: silenceNow, End: silenceNow, ReceivedAt: silenceNow})
	ss := Senders("example.com", facts)
	if len(ss) != 4 {
		t.Fatalf("%d senders, want 4: %+v", len(ss), ss)
	}
	for _, tc := range []struct {
		org      string
		interval time.Duration
		reports  int
		cadence  string
	}{
		{"daily", day, 40, "every day"},
		{"hourly", time.Hour, 30, "every hour"},
		{"weekly", 7 * day, 6, "every week"},
		{"once", 0, 1, "once"},
	} {
		s := sender(t, ss, tc.org)
		if s.Interval != tc.interval || s.Reports != tc.reports || Cadence(s.Interval) != tc.cadence {
			t.Errorf("%s: interval %v reports %d (%s), want %v %d (%s)", tc.org, s.Interval, s.Reports,
				Cadence(s.Interval), tc.interval, tc.reports, tc.cadence)
		}
	}
	d := sender(t, ss, "daily")
	if want := base.Add(39 * day); !d.LastStart.Equal(want) || !d.LastReceived.Equal(want.Add(day+6*time.Hour-time.Second)) {
		t.Errorf("daily: last start %v received %v, want %v and a day and 6 h later", d.LastStart, d.LastReceived, want)
	}
	if ss[0].Organization != "weekly" { // received 2024-03-16, after the last hourly report (03-13)
		t.Errorf("first sender %s, want the one received last (weekly)", ss[0].Organization)
	}
}

// TestSilentSender: a daily sender is silent after SenderAfter, a weekly
// one only after two weeks, one that sent too few reports never; a late
// report (about an old day, received now) proves the sender is not silent.
func TestSilentSender(t *testing.T) {
	const day = 24 * time.Hour
	c := defaultSilence()
	// Daily until 2024-03-16 (received 2024-03-17 06:00): silent 3d6h at now.
	daily := reportsEvery("daily", time.Date(2024, 2, 20, 0, 0, 0, 0, time.UTC), day, day, 6*time.Hour, 25)
	// Weekly, last received 2024-03-10: silent 10 days at now, under two weeks.
	weekly := reportsEvery("weekly", time.Date(2024, 1, 28, 0, 0, 0, 0, time.UTC), 7*day, 7*day, 0, 6)
	// Two reports only, long ago.
	few := reportsEvery("few", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), day, day, 0, 2)
	ss := Senders("example.com", append(append(append([]Fact{}, daily...), weekly...), few...))
	for _, tc := range []struct {
		org    string
		silent bool
	}{{"daily", true}, {"weekly", false}, {"few", false}} {
		if got := c.SilentSender(sender(t, ss, tc.org), silenceNow); got != tc.silent {
			t.Errorf("%s: silent %v, want %v", tc.org, got, tc.silent)
		}
	}
	// Four more days: the weekly sender is two weeks quiet.
	if !c.SilentSender(sender(t, ss, "weekly"), silenceNow.Add(5*day)) {
		t.Error("weekly: not silent after 15 days")
	}
	// A report about 2024-03-01 received an hour ago: the rua works.
	late := reportsEvery("daily", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), day, day, 0, 1)[0]
	late.ReportKey, late.ReceivedAt = "daily-late", silenceNow.Add(-time.Hour)
	ss = Senders("example.com", append(daily, late))
	if c.SilentSender(sender(t, ss, "daily"), silenceNow) {
		t.Error("daily with a late report received an hour ago: silent")
	}
	// Disabled.
	c.SenderAfter = 0
	if c.SilentSender(sender(t, Senders("example.com", daily), "daily"), silenceNow) {
		t.Error("sender_days 0: silent")
	}
}

// TestSilentDomain: a domain is silent when nothing at all was received for
// DomainAfter; one without any report is not.
func TestSilentDomain(t *testing.T) {
	const day = 24 * time.Hour
	c := defaultSilence()
	fs := reportsEvery("a", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), day, day, 0, 40) // last received 2024-03-12
	ss := Senders("example.com", fs)
	last, silent := c.SilentDomain(ss, silenceNow)
	if !silent || !last.Equal(time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("SilentDomain = %v, %v; want silent since 2024-03-12", last, silent)
	}
	if _, silent := c.SilentDomain(ss, time.Date(2024, 3, 18, 0, 0, 0, 0, time.UTC)); silent {
		t.Error("silent after 6 days")
	}
	if _, silent := c.SilentDomain(nil, silenceNow); silent {
		t.Error("a domain without reports: silent")
	}
	// A fact stored before ReceivedAt was recorded counts at its end.
	old := fs[len(fs)-1]
	old.ReceivedAt = time.Time{}
	if s := Senders("example.com", []Fact{old}); !s[0].LastReceived.Equal(old.End) {
		t.Errorf("legacy fact received %v, want its end %v", s[0].LastReceived, old.End)
	}
}

// TestSendersTwoReportsADay: an organisation sending two reports a day
// with the same range (one per policy, say) is still a daily sender.
func TestSendersTwoReportsADay(t *testing.T) {
	const day = 24 * time.Hour
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	a := reportsEvery("twice", start, day, day, time.Hour, 10)
	b := reportsEvery("twice", start, day, day, time.Hour, 10)
	for i := range b {
		b[i].ReportKey += "-b"
	}
	s := Senders("example.com", append(a, b...))[0]
	if s.Interval != day || s.Reports != 20 {
		t.Errorf("interval %v, reports %d; want 24h, 20", s.Interval, s.Reports)
	}
}

// sumsOnly is a SenderReader whose stored sums of some days predate
// Senders (Version 0, no senders), as sums stored before them read.
type sumsOnly struct {
	facts []Fact
	old   map[Day]bool
	read  []string
}

func (s *sumsOnly) Facts(_ context.Context, domain string, from, to Day) ([]Fact, error) {
	s.read = append(s.read, string(from)+" "+string(to))
	var out []Fact
	for _, f := range s.facts {
		if f.Domain == domain && f.Day >= from && f.Day <= to {
			out = append(out, f)
		}
	}
	return out, nil
}

func (s *sumsOnly) DaySums(_ context.Context, domain string, from, to, _ Day) ([]DaySum, error) {
	sums := SumDays(domain, from, to, s.facts)
	for i := range sums {
		if s.old[sums[i].Day] {
			sums[i].Senders, sums[i].Version = nil, 0
		}
	}
	return sums, nil
}

// TestReadSenders: the senders read from day sums equal those of the
// facts, also when some stored sums predate Senders (their facts are read,
// and only theirs).
func TestReadSenders(t *testing.T) {
	const day = 24 * time.Hour
	facts := reportsEvery("daily", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), day, day, time.Hour, 15)
	want := Senders("example.com", facts)
	r := &sumsOnly{facts: facts, old: map[Day]bool{"2024-03-03": true, "2024-03-05": true}}
	got, err := ReadSenders(context.Background(), r, "example.com", "2024-02-20", "2024-03-20", "2024-03-18")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("ReadSenders = %+v, want %+v", got, want)
	}
	if len(r.read) != 1 || r.read[0] != "2024-03-03 2024-03-05" {
		t.Errorf("facts read for %q, want the old days 2024-03-03 to 2024-03-05 only", r.read)
	}
	r = &sumsOnly{facts: facts}
	if _, err := ReadSenders(context.Background(), r, "example.com", "2024-02-20", "2024-03-20", "2024-03-18"); err != nil || len(r.read) != 0 {
		t.Errorf("current sums: facts read %q (%v), want none", r.read, err)
	}
}
