package dashboard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// saveDaily stores n daily reports of org about example.com from first,
// each received at 02:00 the day after its day.
func saveDaily(t *testing.T, f *fixture, org string, first time.Time, n int) {
	t.Helper()
	for i := range n {
		day := first.AddDate(0, 0, i)
		raw := fmt.Appendf(nil, `{"organization-name": %q, "date-range": {"start-datetime": %q, "end-datetime": %q},
			"contact-info": "tls@%s", "report-id": "daily-%d", "policies": [{"policy": {"policy-type": "sts",
			"policy-domain": "example.com", "mx-host": ["*.mail.example.net"]},
			"summary": {"total-successful-session-count": 10, "total-failure-session-count": 0}}]}`,
			org, day.Format(time.RFC3339), day.Add(24*time.Hour-time.Second).Format(time.RFC3339), org, i)
		rep, err := tlsrpt.ParseReport(raw, tlsrpt.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		e := store.NewEntry(rep, raw, nil, "https", day.Add(26*time.Hour))
		if _, err := f.st.SaveReport(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDomainSenders: the domain page and its JSON list each reporting
// organisation with its cadence and latest report; one that reported daily
// and stopped four days ago is marked silent.
func TestDomainSenders(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true})
	saveDaily(t, f, "Quiet Mail", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), 14) // last received 2024-03-24 02:00
	var dd struct {
		Senders []SenderRow `json:"senders"`
	}
	f.getJSON(t, "/api/v1/domains/example.com?from=2024-03-27&to=2024-03-27", 200, &dd)
	var quiet *SenderRow
	for i, s := range dd.Senders {
		if s.Organization == "quiet mail" {
			quiet = &dd.Senders[i]
		} else if s.Silent {
			t.Errorf("%s silent: %+v", s.Organization, s)
		}
	}
	if quiet == nil {
		t.Fatalf("senders %+v lack quiet mail", dd.Senders)
	}
	if !quiet.Silent || quiet.Cadence != "every day" || quiet.Reports != 14 || quiet.Interval != 24*time.Hour ||
		!quiet.LastReceived.Equal(time.Date(2024, 3, 24, 2, 0, 0, 0, time.UTC)) ||
		!quiet.LastStart.Equal(time.Date(2024, 3, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("quiet mail: %+v", *quiet)
	}
	resp, body := f.get(t, "/domains/example.com")
	page := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("domain page: %s", resp.Status)
	}
	for _, want := range []string{`<table id="senders">`, `<tr class="silent"><th scope="row"><a href="/reports?domain=example.com&amp;from=2024-01-29&amp;organization=quiet&#43;mail&amp;to=2024-03-28">quiet mail</a></th><td>every day</td><td class="num">14</td><td>2024-03-23</td><td>2024-03-24 02:00 UTC</td><td><strong class="warning">silent</strong>`} {
		if !strings.Contains(page, want) {
			i := strings.Index(page, `id="senders"`)
			t.Errorf("domain page lacks %s\n%s", want, page[i:min(i+1500, len(page))])
		}
	}
}
