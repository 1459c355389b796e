package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

func TestAPIOverview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	var o Overview
	f.getJSON(t, "/api/v1/overview", 200, &o)
	if o.Organization != "Example Corp" || o.Today != "2024-03-28" || !o.SampleData {
		t.Errorf("overview header: %+v", o)
	}
	if len(o.Domains) != len(f.cfg.Domains) {
		t.Fatalf("%d domains, want %d", len(o.Domains), len(f.cfg.Domains))
	}
	var all7, all30 sums
	for i, d := range o.Domains {
		cd := f.cfg.Domains[i]
		if d.Domain != cd.Name || d.Mode != cd.Policy.Mode {
			t.Errorf("domain %d: %s %s, want %s %s", i, d.Domain, d.Mode, cd.Name, cd.Policy.Mode)
		}
		for _, w := range []struct {
			name     string
			got      Window
			from, to store.Day
			all      *sums
		}{
			{"7 days", d.Last7Days, "2024-03-22", "2024-03-28", &all7},
			{"30 days", d.Last30Days, "2024-02-28", "2024-03-28", &all30},
		} {
			want := f.expect(d.Domain, w.from, w.to)
			if w.got.From != w.from || w.got.To != w.to || w.got.Reports != want.reports ||
				w.got.Success != want.success || w.got.Failure != want.failure {
				t.Errorf("%s, %s: %+v, want %d reports, %d/%d sessions", d.Domain, w.name, w.got, want.reports, want.success, want.failure)
			}
			if want.reports == 0 {
				t.Errorf("%s, %s: the fixture has no report", d.Domain, w.name)
			}
			rate := float64(want.failure) / float64(want.success+want.failure)
			if w.got.FailureRate == nil || *w.got.FailureRate != rate {
				t.Errorf("%s, %s: failure rate %v, want %v", d.Domain, w.name, w.got.FailureRate, rate)
			}
			w.all.reports += want.reports
			w.all.success += want.success
			w.all.failure += want.failure
		}
		// The sample checks: worst finding, certificate, readiness.
		chk := f.checks[i]
		if d.Check == nil || !d.Check.CheckedAt.Equal(chk.CheckedAt) || d.Check.Errors != chk.Count(health.SeverityError) {
			t.Errorf("%s: check %+v, want from %+v", d.Domain, d.Check, chk)
		}
		// The days left are counted from now to the stored expiry.
		if c := chk.Certificate; c == nil || d.Certificate.DaysLeft == nil || *d.Certificate.DaysLeft != c.DaysLeft(fixtureNow) ||
			d.Certificate.Expires != c.NotAfter.Format(time.DateOnly) {
			t.Errorf("%s: certificate %+v, stored %+v", d.Domain, d.Certificate, c)
		}
	}
	if o.Last30Days.Reports != all30.reports || o.Last30Days.Success != all30.success || o.Last30Days.Failure != all30.failure ||
		o.Last7Days.Success != all7.success || o.Last7Days.Failure != all7.failure {
		t.Errorf("totals %+v %+v, want %+v %+v", o.Last7Days, o.Last30Days, all7, all30)
	}
	byName := map[string]DomainStatus{}
	for _, d := range o.Domains {
		byName[d.Domain] = d
	}
	// example.org is in enforce and has the sample's sts failures.
	if d := byName["example.org"]; d.Check.Status != StatusError || d.Check.Worst.Code != health.CodeReportsSTSFailures ||
		d.Readiness.Status != ReadyEnforced || d.Last30Days.Failure == 0 {
		t.Errorf("example.org: %+v", d)
	}
	// mail.example.com's certificate expires 12 days after the check
	// (2024-03-27 23:00), at 2024-04-08 23:00: 11 whole days and 11 hours
	// after fixtureNow.
	if d := byName["mail.example.com"]; d.Certificate.Status != CertExpiring || d.Certificate.DaysLeft == nil ||
		*d.Certificate.DaysLeft != 11 || d.Certificate.Expires != "2024-04-08" || d.Check.Status != StatusWarning {
		t.Errorf("mail.example.com: %+v %+v", d.Certificate, d.Check)
	}
	if d := byName["example.com"]; d.Readiness.Status != ReadyYes || d.Certificate.Status != CertOK || d.Check.Status != StatusOK {
		t.Errorf("example.com: %+v", d)
	}
}

func TestAPIOverviewWithoutData(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true})
	var o Overview
	f.getJSON(t, "/api/v1/overview", 200, &o)
	if o.SampleData {
		t.Error("sample_data without sample reports")
	}
	for _, d := range o.Domains {
		if d.Check != nil || d.Certificate.Status != CertUnknown {
			t.Errorf("%s: check %+v, certificate %+v without any check", d.Domain, d.Check, d.Certificate)
		}
		if d.Domain != "example.com" && (d.Last30Days.Reports != 0 || d.Last30Days.FailureRate != nil) {
			t.Errorf("%s: %+v without reports", d.Domain, d.Last30Days)
		}
		if d.Domain == "example.com" && d.Last30Days.Reports != 1 { // microsoft-2024-03-no-timezone.json
			t.Errorf("example.com: %+v, want the one real report of March", d.Last30Days)
		}
		if d.Mode == "testing" && d.Readiness.Status != ReadyUnknown {
			t.Errorf("%s: readiness %+v without a check", d.Domain, d.Readiness)
		}
	}
}

func TestAPIDomain(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		domain, query string
		from, to      store.Day
	}{
		{"example.org", "", "2024-02-28", "2024-03-28"},
		{"example.org", "?days=7", "2024-03-22", "2024-03-28"},
		{"example.com", "?from=2024-02-01&to=2024-03-31", "2024-02-01", "2024-03-31"},
		{"mail.example.com", "?to=2024-03-10", "2024-02-10", "2024-03-10"},
		{"EXAMPLE.com.", "?days=366", "2023-03-29", "2024-03-28"},
	}
	for _, tc := range tests {
		t.Run(tc.domain+tc.query, func(t *testing.T) {
			var dd DomainDetail
			f.getJSON(t, "/api/v1/domains/"+url.PathEscape(tc.domain)+tc.query, 200, &dd)
			name := strings.TrimSuffix(strings.ToLower(tc.domain), ".")
			want := f.expect(name, tc.from, tc.to)
			if dd.Domain != name || dd.From != tc.from || dd.To != tc.to {
				t.Errorf("header: %s %s %s", dd.Domain, dd.From, dd.To)
			}
			if dd.Totals.Reports != want.reports || dd.Totals.Success != want.success || dd.Totals.Failure != want.failure {
				t.Errorf("totals %+v, want %d reports %d/%d", dd.Totals, want.reports, want.success, want.failure)
			}
			if n := int(tc.to.Time().Sub(tc.from.Time()).Hours()/24) + 1; len(dd.Daily) != n {
				t.Fatalf("%d daily points, want %d", len(dd.Daily), n)
			}
			reports := 0
			for i, p := range dd.Daily {
				if p.Day != tc.from.AddDays(i) {
					t.Errorf("daily[%d] is %s", i, p.Day)
				}
				if w := want.byDay[p.Day]; p.Success != w[0] || p.Failure != w[1] {
					t.Errorf("%s: %d/%d, want %d/%d", p.Day, p.Success, p.Failure, w[0], w[1])
				}
				reports += p.Reports
			}
			if reports != want.reports {
				t.Errorf("daily reports sum to %d, want %d", reports, want.reports)
			}
			gotTypes := map[string]int64{}
			for _, c := range dd.ByResultType {
				gotTypes[c.Key] = c.Count
			}
			if fmt.Sprint(gotTypes) != fmt.Sprint(want.byResultType) {
				t.Errorf("by result type %v, want %v", gotTypes, want.byResultType)
			}
			gotOrgs := map[string][2]int64{}
			for _, o := range dd.ByOrganization {
				gotOrgs[o.Organization] = [2]int64{o.Success, o.Failure}
			}
			if fmt.Sprint(gotOrgs) != fmt.Sprint(want.byOrg) {
				t.Errorf("by organisation %v, want %v", gotOrgs, want.byOrg)
			}
			// Failure details may not add up to the summary (mail.ru's
			// do not): the breakdowns sum the details.
			var mx, details int64
			for _, c := range dd.ByMXHost {
				mx += c.Count
			}
			for _, n := range want.byResultType {
				details += n
			}
			if mx != details {
				t.Errorf("failures by MX host sum to %d, want %d", mx, details)
			}
			d, _ := f.cfg.Domain(name)
			if dd.Policy.Text != d.PolicyText() || dd.Policy.ID != d.Policy.ID() ||
				dd.Records[0].Value != d.STSRecord().String() || dd.Records[1].Name != "_smtp._tls."+name {
				t.Errorf("as deployed: %+v %+v", dd.Policy, dd.Records)
			}
			if dd.Check == nil || dd.Check.Domain != name {
				t.Errorf("check %+v", dd.Check)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSample: true})
	tests := []struct {
		path   string
		status int
		says   string
	}{
		{"/api/v1/domains/unknown.example", 404, "no such domain"},
		{"/api/v1/domains/example.com?days=0", 400, "days"},
		{"/api/v1/domains/example.com?days=367", 400, "days"},
		{"/api/v1/domains/example.com?days=7&from=2024-01-01", 400, "days"},
		{"/api/v1/domains/example.com?from=2024-13-01", 400, "from"},
		{"/api/v1/domains/example.com?to=yesterday", 400, "to"},
		{"/api/v1/domains/example.com?from=2024-03-02&to=2024-03-01", 400, "from"},
		{"/api/v1/domains/example.com?from=2020-01-01&to=2024-01-01", 400, "from"},
		{"/api/v1/domains/example.com?days=7&days=8", 400, "days"},
		{"/api/v1/domains/example.com?x=%zz", 400, "bad query"},
		{"/api/v1/reports?domain=other.example", 400, "domain"},
		{"/api/v1/reports?result_type=made-up", 400, "result_type"},
		{"/api/v1/reports?failures=maybe", 400, "failures"},
		{"/api/v1/reports?limit=0", 400, "limit"},
		{"/api/v1/reports?limit=501", 400, "limit"},
		{"/api/v1/reports?offset=-1", 400, "offset"},
		{"/api/v1/reports/no-such-report", 404, "no such report"},
		{"/api/v1/reports/..%2F..%2Fetc%2Fpasswd", 404, "no such report"},
		{"/api/v1/reports/no-such-report/raw", 404, "no such report"},
		{"/api/v1/nothing", 404, "no such page"},
	}
	for _, tc := range tests {
		var e struct{ Error string }
		f.getJSON(t, tc.path, tc.status, &e)
		if !strings.Contains(e.Error, tc.says) {
			t.Errorf("GET %s: error %q, want it to name %q", tc.path, e.Error, tc.says)
		}
	}
	resp, body := f.get(t, "/no/such/page")
	if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("no such page")) {
		t.Errorf("page 404: %d %s", resp.StatusCode, body)
	}
	req := must(t, "POST", f.srv.URL+"/api/v1/overview")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

func TestAPIReports(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// The expected list, from the reports as ingested.
	type row struct {
		key              string
		success, failure int64
		types            []string
		org              string
		domains          []string
	}
	expect := func(domain string, from, to store.Day) []row {
		var rows []row
		for _, in := range f.reports {
			day := store.DayOf(in.rep.Start)
			if day < from || day > to {
				continue
			}
			r := row{key: in.key, org: strings.ToLower(strings.TrimSpace(in.rep.OrganizationName))}
			for _, p := range in.rep.Policies {
				if domain != "" && p.Domain != domain {
					continue
				}
				if _, ok := f.cfg.Domain(p.Domain); !ok {
					continue
				}
				r.success += p.Success
				r.failure += p.Failure
				r.domains = append(r.domains, p.Domain)
				for _, d := range p.Failures {
					if !slices.Contains(r.types, string(d.ResultType)) {
						r.types = append(r.types, string(d.ResultType))
					}
				}
			}
			if len(r.domains) > 0 {
				rows = append(rows, r)
			}
		}
		return rows
	}
	all := expect("", "2024-02-28", "2024-03-28")
	tests := []struct {
		query string
		keep  func(r row) bool
		from  store.Day
	}{
		{"", func(row) bool { return true }, "2024-02-28"},
		{"?domain=example.org", func(r row) bool { return slices.Contains(r.domains, "example.org") }, "2024-02-28"},
		{"?organization=Microsoft", func(r row) bool { return strings.Contains(r.org, "microsoft") }, "2024-02-28"},
		{"?failures=true", func(r row) bool { return r.failure > 0 }, "2024-02-28"},
		{"?result_type=certificate-expired", func(r row) bool { return slices.Contains(r.types, "certificate-expired") }, "2024-02-28"},
		{"?from=2024-02-01&to=2024-02-29&organization=mail.ru", func(r row) bool { return r.org == "mail.ru" }, "2024-02-01"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(strings.TrimPrefix(tc.query, "?"))
			to := store.Day("2024-03-28")
			if q.Get("to") != "" {
				to = store.Day(q.Get("to"))
			}
			want := map[string]row{}
			source := all
			if tc.from != "2024-02-28" || q.Get("domain") != "" {
				source = expect(q.Get("domain"), tc.from, to)
			}
			for _, r := range source {
				if tc.keep(r) {
					want[r.key] = r
				}
			}
			if len(want) == 0 {
				t.Fatal("the fixture has no report for this filter")
			}
			var l ReportList
			f.getJSON(t, "/api/v1/reports"+tc.query+sep(tc.query)+"limit=500", 200, &l)
			if l.Total != len(want) || len(l.Reports) != len(want) {
				t.Fatalf("%d reports (total %d), want %d", len(l.Reports), l.Total, len(want))
			}
			for i, r := range l.Reports {
				w, ok := want[r.Key]
				if !ok {
					t.Errorf("report %s not expected", r.Key)
					continue
				}
				if r.Success != w.success || r.Failure != w.failure {
					t.Errorf("%s: %d/%d, want %d/%d", r.Key, r.Success, r.Failure, w.success, w.failure)
				}
				if r.Sample != strings.HasPrefix(r.ReportID, "sample-") {
					t.Errorf("%s: sample %v", r.Key, r.Sample)
				}
				if i > 0 && r.Start.After(l.Reports[i-1].Start) {
					t.Errorf("not newest first at %d", i)
				}
			}
		})
	}

	// Pages: offset and limit split the same list.
	var whole, p1, p2 ReportList
	f.getJSON(t, "/api/v1/reports?limit=500", 200, &whole)
	f.getJSON(t, "/api/v1/reports?limit=7", 200, &p1)
	f.getJSON(t, "/api/v1/reports?limit=7&offset=7", 200, &p2)
	if p1.Total != whole.Total || len(p1.Reports) != 7 || len(p2.Reports) != 7 {
		t.Fatalf("pages: %d+%d of %d", len(p1.Reports), len(p2.Reports), p1.Total)
	}
	for i := range 14 {
		got := p1.Reports
		if i >= 7 {
			got = p2.Reports
		}
		if got[i%7].Key != whole.Reports[i].Key {
			t.Errorf("page entry %d: %s, want %s", i, got[i%7].Key, whole.Reports[i].Key)
		}
	}
	var beyond ReportList
	f.getJSON(t, fmt.Sprintf("/api/v1/reports?offset=%d", whole.Total+5), 200, &beyond)
	if beyond.Total != whole.Total || len(beyond.Reports) != 0 {
		t.Errorf("beyond the end: %d of %d", len(beyond.Reports), beyond.Total)
	}
}

func sep(q string) string {
	if q == "" {
		return "?"
	}
	return "&"
}

func TestAPIReportAndRaw(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	var gz, js int
	for _, in := range f.reports {
		var v ReportView
		f.getJSON(t, "/api/v1/reports/"+in.key, 200, &v)
		if v.Report.Key != in.key || v.Report.ReportID != in.rep.ReportID || v.ParseError != "" {
			t.Fatalf("%s: %+v", in.key, v.Report)
		}
		// Normalised: the raw body parsed again and written back, as
		// sent: a policy-domain that ingestion attributed (a report
		// without one, stalwart-no-policy-domain.json) stays empty here;
		// the record's domains and quirks carry the attribution.
		again, err := tlsrpt.ParseReport(in.raw, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		want, err := again.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(t, v.Normalised, want) {
			t.Errorf("%s: normalized\n%s\nwant\n%s", in.key, v.Normalised, want)
		}
		round, err := tlsrpt.ParseReport(v.Normalised, tlsrpt.DefaultLimits())
		if err != nil || round.ReportID != in.rep.ReportID {
			t.Errorf("%s: normalized does not parse back: %v", in.key, err)
		}
		if v.Sample != strings.HasPrefix(in.rep.ReportID, "sample-") {
			t.Errorf("%s: sample %v", in.key, v.Sample)
		}

		resp, body := f.get(t, v.RawURL)
		if resp.StatusCode != 200 || !bytes.Equal(body, in.raw) {
			t.Fatalf("%s raw: %d, %d bytes, want %d", in.key, resp.StatusCode, len(body), len(in.raw))
		}
		ctype, name := "application/tlsrpt+json", in.key+".json"
		if in.raw[0] == 0x1f {
			ctype, name = "application/tlsrpt+gzip", in.key+".json.gz"
			gz++
		} else {
			js++
		}
		if got := resp.Header.Get("Content-Type"); got != ctype {
			t.Errorf("%s raw: Content-Type %q, want %q", in.key, got, ctype)
		}
		if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="`+name+`"` && got != "attachment; filename="+name {
			t.Errorf("%s raw: Content-Disposition %q", in.key, got)
		}
		// The page download link is the same body.
		if resp, body := f.get(t, "/reports/"+in.key+"/raw"); resp.StatusCode != 200 || !bytes.Equal(body, in.raw) {
			t.Errorf("%s page raw: %d", in.key, resp.StatusCode)
		}
	}
	if gz == 0 || js == 0 {
		t.Errorf("fixture has %d gzip and %d JSON bodies, want both kinds", gz, js)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestAPIReportTooLarge: a stored report whose JSON is over maxViewJSON is
// not parsed again for a view (issue 14 §1: a view re-parsed any stored
// body, 1.8 GB and a 358 MB response for a hostile one): the API and the
// page show its record, say why the rest is omitted, and stay small.
func TestAPIReportTooLarge(t *testing.T) {
	cfg := loadConfig(t)
	domain := cfg.DomainNames()[0]
	var b strings.Builder
	b.WriteString(`{"organization-name":"Big Sender","date-range":{"start-datetime":"2024-03-20T00:00:00Z","end-datetime":"2024-03-20T23:59:59Z"},"report-id":"big-1","policies":[{"policy":{"policy-type":"sts","policy-domain":"` + domain + `"},"summary":{"total-successful-session-count":1,"total-failure-session-count":40000},"failure-details":[`)
	for i := range 40000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"result-type":"certificate-expired","sending-mta-ip":"2001:db8::%x","receiving-ip":"192.0.2.%d","receiving-mx-hostname":"mx%d.example.net","failed-session-count":1}`, i, i%250, i%7)
	}
	b.WriteString(`]}]}`)
	big := []byte(b.String())
	if len(big) <= maxViewJSON {
		t.Fatalf("report of %d bytes, want over %d", len(big), maxViewJSON)
	}
	f := newFixture(t, fixtureOptions{noSample: true, extra: [][]byte{big}})
	key := f.reports[len(f.reports)-1].key
	resp, body := f.get(t, "/api/v1/reports/"+key)
	var v ReportView
	if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d: %v", resp.StatusCode, err)
	}
	if (v.Normalised != nil && string(v.Normalised) != "null") || v.NormalisedOmitted == "" || v.ParseError != "" || v.Report.Key != key {
		t.Errorf("normalized %d bytes, omitted %q, parse error %q", len(v.Normalised), v.NormalisedOmitted, v.ParseError)
	}
	if len(body) > 64<<10 {
		t.Errorf("response of %d bytes for a report of %d", len(body), len(big))
	}
	resp, body = f.get(t, "/reports/"+key)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `id="report-omitted"`) || len(body) > 64<<10 {
		t.Errorf("page: %d, %d bytes", resp.StatusCode, len(body))
	}
	// The raw body is still there as received.
	if resp, raw := f.get(t, v.RawURL); resp.StatusCode != 200 || !bytes.Equal(raw, big) {
		t.Errorf("raw: %d, %d bytes", resp.StatusCode, len(raw))
	}
}
