package dashboard

import (
	"net/http"
	"strings"
	"testing"
)

// TestConflictsVisible: two different bodies under one identity are both
// listed, marked conflicting, with their provenance; the domain page says
// so and leaves them out of its sums (issue 14 §2).
func TestConflictsVisible(t *testing.T) {
	forged := hugeReportN("dup-1", 1, 0)
	real := hugeReportN("dup-1", 1, 40)
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{forged, real}})

	var l ReportList
	f.getJSON(t, "/api/v1/reports?domain=example.com&from=2024-03-27&to=2024-03-27", 200, &l)
	conflicting := 0
	for _, r := range l.Reports {
		if r.Provenance != "https" {
			t.Errorf("report %s: provenance %q, want https", r.Key, r.Provenance)
		}
		if r.Conflict {
			conflicting++
		}
	}
	if conflicting != 2 {
		t.Errorf("%d reports marked conflicting, want 2: %+v", conflicting, l.Reports)
	}
	var dd DomainDetail
	f.getJSON(t, "/api/v1/domains/example.com?from=2024-03-27&to=2024-03-27", 200, &dd)
	if dd.Conflicting != 2 || dd.Excluded != 2 || dd.Totals.Reports != 0 || dd.Totals.Failure != 0 {
		t.Errorf("domain: conflicting %d, excluded %d, totals %+v; want 2, 2 and none counted", dd.Conflicting, dd.Excluded, dd.Totals)
	}
	resp, body := f.get(t, "/domains/example.com?from=2024-03-27&to=2024-03-27")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="domain-conflicting"`) {
		t.Errorf("domain page: %d, no conflict note", resp.StatusCode)
	}
	resp, body = f.get(t, "/reports/"+l.Reports[0].Key)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="report-conflicts"`) ||
		!strings.Contains(string(body), `id="report-provenance">https<`) {
		t.Errorf("report page: %d, no conflict or provenance row", resp.StatusCode)
	}
}
