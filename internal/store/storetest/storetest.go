// Package storetest is the contract test suite of the report stores: Run it
// against every implementation (awsstore on the loopback stand-ins of
// package awstest, embedded on a temporary directory) so they behave the
// same.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Store is what the suite exercises: the methods both stores have.
type Store interface {
	SaveReport(ctx context.Context, e store.Entry) (store.Saved, error)
	Report(ctx context.Context, key string) (store.Receipt, error)
	Raw(ctx context.Context, key string) ([]byte, error)
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
	Summary(ctx context.Context, domain string, from, to store.Day) (store.Summary, error)
	// DaySums and Rebuild: the derived sums by day (store.DaySum).
	DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error)
	Rebuild(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error)
	// Last and Save: the history of check results (checker.History).
	Last(ctx context.Context, domain string) (r health.Result, ok bool, err error)
	Save(ctx context.Context, r health.Result) error
}

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Idempotent", testIdempotent},
		{"Concurrent", testConcurrent},
		{"FirstRawBodyKept", testFirstRawKept},
		{"Invalid", testInvalid},
		{"NotFound", testNotFound},
		{"DayRanges", testDayRanges},
		{"Sums", testSums},
		{"Bounds", testBounds},
		{"HostileIdentity", testHostileIdentity},
		{"History", testHistory},
		{"HistoryCertificate", testHistoryCertificate},
		{"EmailVerdict", testEmailVerdict},
		{"Provenance", testProvenance},
		{"ConflictKept", testConflictKept},
		{"ConcurrentBodies", testConcurrentBodies},
		{"IdenticalConcurrent", testIdenticalConcurrent},
		{"ConflictsExcluded", testConflictsExcluded},
		{"ConflictsBounded", testConflictsBounded},
		{"DaySums", testDaySums},
		{"DaySumLate", testDaySumLate},
		{"DaySumConcurrent", testDaySumConcurrent},
		{"DaySumSaturates", testDaySumSaturates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var received = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// Report returns a report by org with report-id id, starting on day, with
// one sts policy for each domain: success sessions and the failure details.
func Report(org, id string, day store.Day, success int64, domains []string, details ...tlsrpt.FailureDetail) *tlsrpt.Report {
	r := &tlsrpt.Report{
		OrganizationName: org, ContactInfo: "tlsrpt@" + strings.ToLower(org), ReportID: id,
		Start: day.Time(), End: day.Time().Add(24*time.Hour - time.Second),
	}
	for _, d := range domains {
		p := tlsrpt.PolicyResult{Type: tlsrpt.PolicyTypeSTS, Domain: d, MXHosts: []string{"mx1." + d, "*.mx." + d},
			PolicyStrings: []string{"version: STSv1", "mode: testing", "mx: mx1." + d, "max_age: 86400"},
			Success:       success, Failures: details}
		for _, f := range details {
			p.Failure += f.Count
		}
		r.Policies = append(r.Policies, p)
	}
	return r
}

// Entry is store.NewEntry of r with a JSON raw body, every domain served.
func Entry(t testing.TB, r *tlsrpt.Report) store.Entry {
	t.Helper()
	raw, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return store.NewEntry(r, raw, nil, "https", received)
}

func save(t *testing.T, s Store, e store.Entry) bool {
	t.Helper()
	saved, err := s.SaveReport(context.Background(), e)
	if err != nil {
		t.Fatalf("SaveReport(%s): %v", e.Report.Key, err)
	}
	return saved.Created
}

func facts(t *testing.T, s Store, domain string, from, to store.Day) []store.Fact {
	t.Helper()
	f, err := s.Facts(context.Background(), domain, from, to)
	if err != nil {
		t.Fatalf("Facts(%s, %s, %s): %v", domain, from, to, err)
	}
	return f
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

var fetchError = tlsrpt.FailureDetail{ResultType: tlsrpt.ResultSTSPolicyFetchError, Count: 2,
	ReceivingMXHostname: "mx1.example.com", ReceivingIP: "192.0.2.1", SendingMTAIP: "198.51.100.7",
	ReasonCode: "bad https response code: 404"}

func testRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	e := Entry(t, Report("Google Inc.", "2024-02-17T00:00:00Z_example.com", "2024-02-17", 53,
		[]string{"example.com", "example.org"}, fetchError))
	if !save(t, s, e) {
		t.Fatal("first SaveReport: created = false")
	}
	rep, err := s.Report(ctx, e.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Report", rep, e.Report)
	raw, err := s.Raw(ctx, e.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(e.Raw) {
		t.Errorf("Raw = %q, want %q", raw, e.Raw)
	}
	for i, d := range []string{"example.com", "example.org"} {
		equal(t, "Facts of "+d, facts(t, s, d, "2024-02-17", "2024-02-17"), []store.Fact{e.Facts[i]})
	}
}

func testIdempotent(t *testing.T, s Store) {
	ctx := context.Background()
	r := Report("Mail.ru", "123+", "2024-02-22", 10, []string{"example.com"}, fetchError)
	e := Entry(t, r)
	save(t, s, e)
	// The same report again, later, with another body (gzip by e-mail):
	// nothing changes.
	again := store.NewEntry(r, []byte("\x1f\x8banother body"), nil, "email", received.Add(time.Hour))
	if save(t, s, again) {
		t.Error("second SaveReport: created = true")
	}
	rep, err := s.Report(ctx, e.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Report after a duplicate", rep, e.Report)
	raw, _ := s.Raw(ctx, e.Report.Key)
	if string(raw) != string(e.Raw) {
		t.Errorf("Raw after a duplicate = %q, want the first body", raw)
	}
	equal(t, "Facts after a duplicate", facts(t, s, "example.com", "2024-02-22", "2024-02-22"), e.Facts)
}

func testConcurrent(t *testing.T, s Store) {
	e := Entry(t, Report("Microsoft Corporation", "133538880000000000+example.com", "2024-03-01", 5, []string{"example.com"}))
	const n = 8
	var wg sync.WaitGroup
	created := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var saved store.Saved
			saved, errs[i] = s.SaveReport(context.Background(), e)
			created[i] = saved.Created
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("SaveReport %d: %v", i, errs[i])
		}
		if created[i] {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d concurrent SaveReports said created, want exactly 1", count)
	}
	equal(t, "Facts", facts(t, s, "example.com", "2024-03-01", "2024-03-01"), e.Facts)
}

func testFirstRawKept(t *testing.T, s Store) {
	ctx := context.Background()
	r := Report("Org", "raw", "2024-03-03", 1, []string{"example.com"})
	first := store.NewEntry(r, []byte(`{"first":1}`), nil, "https", received)
	second := store.NewEntry(r, []byte(`{"second":2}`), nil, "https", received)
	var wg sync.WaitGroup
	for _, e := range []store.Entry{first, second} {
		wg.Go(func() {
			if _, err := s.SaveReport(ctx, e); err != nil {
				t.Errorf("SaveReport: %v", err)
			}
		})
	}
	wg.Wait()
	raw, err := s.Raw(ctx, first.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"first":1}` && string(raw) != `{"second":2}` {
		t.Errorf("Raw = %q, want one of the bodies whole", raw)
	}
}

func testInvalid(t *testing.T, s Store) {
	ctx := context.Background()
	good := Entry(t, Report("Org", "invalid", "2024-03-04", 1, []string{"example.com"}))
	tests := []struct {
		name   string
		mutate func(e *store.Entry)
	}{
		{"no facts (no served domain)", func(e *store.Entry) { e.Facts = nil }},
		{"empty raw body", func(e *store.Entry) { e.Raw = nil }},
		{"key with a slash", func(e *store.Entry) { e.Report.Key = "a/b" }},
		{"key ..", func(e *store.Entry) { e.Report.Key = ".." }},
		{"fact of another report", func(e *store.Entry) { e.Facts[0].ReportKey = "other.1" }},
		{"fact without a day", func(e *store.Entry) { e.Facts[0].Day = "" }},
		{"domain twice", func(e *store.Entry) { e.Facts = append(e.Facts, e.Facts[0]) }},
	}
	for _, tc := range tests {
		e := good
		e.Facts = append([]store.Fact(nil), good.Facts...)
		tc.mutate(&e)
		saved, err := s.SaveReport(ctx, e)
		if !errors.Is(err, store.ErrInvalidEntry) || saved.Created {
			t.Errorf("%s: SaveReport = %+v, %v; want ErrInvalidEntry", tc.name, saved, err)
		}
	}
	// A refused entry leaves nothing.
	if _, err := s.Report(ctx, good.Report.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Report after refused entries: %v, want ErrNotFound", err)
	}
	if _, err := s.Raw(ctx, good.Report.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Raw after refused entries: %v, want ErrNotFound", err)
	}
	if f := facts(t, s, "example.com", "2024-01-01", "2024-12-31"); len(f) != 0 {
		t.Errorf("Facts after refused entries: %d, want none", len(f))
	}
}

func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	for _, key := range []string{"nobody.nothing", "../etc/passwd", "", "a/b"} {
		if _, err := s.Report(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Report(%q) = %v, want ErrNotFound", key, err)
		}
		if _, err := s.Raw(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Raw(%q) = %v, want ErrNotFound", key, err)
		}
	}
	if f := facts(t, s, "unknown.example", "2000-01-01", "2099-12-31"); len(f) != 0 {
		t.Errorf("Facts of an unknown domain: %v", f)
	}
	if _, ok, err := s.Last(ctx, "unknown.example"); ok || err != nil {
		t.Errorf("Last of an unknown domain: ok %v, err %v", ok, err)
	}
	sum, err := s.Summary(ctx, "unknown.example", "2024-01-01", "2024-12-31")
	if err != nil || sum.Reports != 0 || sum.Totals != (store.Totals{}) || sum.STS != (store.Totals{}) ||
		len(sum.ByDay) != 0 || len(sum.ByResultType) != 0 || len(sum.ByMXHost) != 0 {
		t.Errorf("Summary of an unknown domain: %+v, %v; want zero sums", sum, err)
	}
}

func testDayRanges(t *testing.T, s Store) {
	days := []store.Day{"2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"}
	for i, d := range days {
		for j, org := range []string{"Google Inc.", "Microsoft Corporation"} {
			save(t, s, Entry(t, Report(org, fmt.Sprintf("r%d-%d", i, j), d, int64(10*i+j), []string{"example.com"})))
		}
		save(t, s, Entry(t, Report("Other", fmt.Sprintf("other%d", i), d, 1, []string{"example.net"})))
	}
	tests := []struct {
		from, to store.Day
		want     []store.Day // day of each fact, in order
	}{
		{"2024-02-28", "2024-03-02", []store.Day{"2024-02-28", "2024-02-28", "2024-02-29", "2024-02-29", "2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02"}},
		{"2024-02-29", "2024-02-29", []store.Day{"2024-02-29", "2024-02-29"}},
		{"2024-02-29", "2024-03-01", []store.Day{"2024-02-29", "2024-02-29", "2024-03-01", "2024-03-01"}},
		{"2024-03-03", "2024-12-31", nil},
		{"2023-01-01", "2024-02-27", nil},
		{"2024-03-01", "2024-02-28", nil}, // from after to
	}
	for _, tc := range tests {
		var got []store.Day
		for _, f := range facts(t, s, "example.com", tc.from, tc.to) {
			if f.Domain != "example.com" {
				t.Errorf("[%s, %s]: fact of %s", tc.from, tc.to, f.Domain)
			}
			got = append(got, f.Day)
		}
		equal(t, fmt.Sprintf("days of Facts(example.com, %s, %s)", tc.from, tc.to), got, tc.want)
	}
}

func testSums(t *testing.T, s Store) {
	ctx := context.Background()
	mx2 := tlsrpt.FailureDetail{ResultType: tlsrpt.ResultCertificateExpired, Count: 3, ReceivingMXHostname: "mx2.example.com"}
	save(t, s, Entry(t, Report("Google Inc.", "g1", "2024-04-01", 100, []string{"example.com"}, fetchError)))
	save(t, s, Entry(t, Report("Google Inc.", "g2", "2024-04-02", 50, []string{"example.com"}, fetchError, mx2)))
	// A tlsa policy: counted in the totals, not in the sts ones.
	tlsa := Report("Microsoft Corporation", "m1", "2024-04-02", 20, []string{"example.com"}, mx2)
	tlsa.Policies[0].Type = tlsrpt.PolicyTypeTLSA
	save(t, s, Entry(t, tlsa))
	// Outside the range, and another domain: not counted.
	save(t, s, Entry(t, Report("Google Inc.", "g0", "2024-03-31", 1000, []string{"example.com"}, fetchError)))
	save(t, s, Entry(t, Report("Google Inc.", "gx", "2024-04-01", 1000, []string{"example.net"}, fetchError)))

	sum, err := s.Summary(ctx, "example.com", "2024-04-01", "2024-04-02")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Summary{
		Domain: "example.com", From: "2024-04-01", To: "2024-04-02", Reports: 3,
		Totals: store.Totals{Success: 170, Failure: 10},
		STS:    store.Totals{Success: 150, Failure: 7},
		ByDay: []store.DayTotals{
			{Day: "2024-04-01", Totals: store.Totals{Success: 100, Failure: 2}, STS: store.Totals{Success: 100, Failure: 2}},
			{Day: "2024-04-02", Totals: store.Totals{Success: 70, Failure: 8}, STS: store.Totals{Success: 50, Failure: 5}},
		},
		ByOrganization: []store.OrgTotals{
			{Organization: "google inc.", Name: "Google Inc.", Reports: 2, Totals: store.Totals{Success: 150, Failure: 7}},
			{Organization: "microsoft corporation", Name: "Microsoft Corporation", Reports: 1, Totals: store.Totals{Success: 20, Failure: 3}},
		},
		ByResultType:  []store.Count{{Key: "certificate-expired", Count: 6}, {Key: "sts-policy-fetch-error", Count: 4}},
		ByMXHost:      []store.Count{{Key: "mx2.example.com", Count: 6}, {Key: "mx1.example.com", Count: 4}},
		ByReceivingIP: []store.Count{{Key: "", Count: 6}, {Key: "192.0.2.1", Count: 4}},
		BySendingIP:   []store.Count{{Key: "", Count: 6}, {Key: "198.51.100.7", Count: 4}},
	}
	equal(t, "Summary", sum, want)
}

// testBounds stores a report whose failure details exceed what one fact
// holds (and one DynamoDB item of 400 KB could): it is folded, and its
// totals by result type stay exact.
func testBounds(t *testing.T, s Store) {
	var details []tlsrpt.FailureDetail
	long := strings.Repeat("x", 1000)
	var total int64
	for i := range 3000 {
		rt := tlsrpt.ResultCertificateNotTrusted
		if i%3 == 0 {
			rt = tlsrpt.ResultSTSWebPKIInvalid
		}
		details = append(details, tlsrpt.FailureDetail{ResultType: rt, Count: int64(i + 1),
			ReceivingMXHostname: fmt.Sprintf("mx%d.example.com", i), ReasonCode: long,
			SendingMTAIP: fmt.Sprintf("2001:db8::%x", i), ReceivingIP: "192.0.2.1"})
		total += int64(i + 1)
	}
	e := Entry(t, Report("Big", "big", "2024-05-01", 1, []string{"example.com"}, details...))
	if !e.Facts[0].Folded {
		t.Fatal("fact not folded")
	}
	save(t, s, e)
	got := facts(t, s, "example.com", "2024-05-01", "2024-05-01")
	equal(t, "folded fact", got, e.Facts)
	sum, err := s.Summary(context.Background(), "example.com", "2024-05-01", "2024-05-01")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range sum.ByResultType {
		n += c.Count
	}
	if n != total || sum.Failure != total {
		t.Errorf("failures by result type sum to %d, total %d; want %d", n, sum.Failure, total)
	}
}

func testHostileIdentity(t *testing.T, s Store) {
	ctx := context.Background()
	r := Report("../../etc", "/passwd\x00\n..", "2024-06-01", 1, []string{"example.com"})
	e := Entry(t, r)
	if err := store.ValidKey(e.Report.Key); err != nil {
		t.Fatalf("identity key %q: %v", e.Report.Key, err)
	}
	save(t, s, e)
	raw, err := s.Raw(ctx, e.Report.Key)
	if err != nil || string(raw) != string(e.Raw) {
		t.Fatalf("Raw = %q, %v", raw, err)
	}
	rep, err := s.Report(ctx, e.Report.Key)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReportID != r.ReportID {
		t.Errorf("ReportID = %q, want %q", rep.ReportID, r.ReportID)
	}
}

func testHistory(t *testing.T, s Store) {
	ctx := context.Background()
	t0 := time.Date(2024, 7, 1, 10, 0, 0, 123456789, time.UTC)
	res := func(domain string, at time.Time, code health.Code) health.Result {
		return health.Result{Domain: domain, CheckedAt: at, Mode: "testing", Findings: []health.Finding{
			{Severity: health.SeverityError, Code: code, Subject: "mx1." + domain, Message: "message", Remedy: "remedy"},
			{Severity: health.SeverityInfo, Code: health.CodeNotReady, Message: "not ready"},
		}}
	}
	r1 := res("example.com", t0, health.CodeCertExpired)
	r2 := res("example.com", t0.Add(time.Hour), health.CodeMXNotCovered)
	older := res("example.com", t0.Add(-time.Hour), health.CodePolicyInvalid)
	other := res("example.org", t0.Add(2*time.Hour), health.CodeDNSError)
	for _, r := range []health.Result{r1, r2, older, other} {
		if err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		domain string
		want   health.Result
	}{{"example.com", r2}, {"example.org", other}} {
		got, ok, err := s.Last(ctx, tc.domain)
		if err != nil || !ok {
			t.Fatalf("Last(%s): ok %v, %v", tc.domain, ok, err)
		}
		equal(t, "Last("+tc.domain+")", got, tc.want)
	}
}

// testHistoryCertificate: the policy host's certificate of a check result
// reads back as saved, and a result without one reads back without.
func testHistoryCertificate(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)
	with := health.Result{Domain: "example.com", CheckedAt: at, Mode: "enforce", Findings: []health.Finding{
		{Severity: health.SeverityWarning, Code: health.CodeCertExpiring, Subject: "mta-sts.example.com",
			Message: "certificate of mta-sts.example.com expires in 12 days (2024-07-13)", Remedy: "renew"},
	}, Certificate: &health.CertInfo{Host: "mta-sts.example.com",
		NotBefore: time.Date(2024, 4, 14, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2024, 7, 13, 23, 59, 59, 0, time.UTC)}}
	without := health.Result{Domain: "example.org", CheckedAt: at, Findings: []health.Finding{
		{Severity: health.SeverityError, Code: health.CodePolicyFetchFailed, Message: "timed out", Remedy: "serve it"},
	}}
	for _, r := range []health.Result{with, without} {
		if err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Last(ctx, r.Domain)
		if err != nil || !ok {
			t.Fatalf("Last(%s): ok %v, %v", r.Domain, ok, err)
		}
		equal(t, "Last("+r.Domain+")", got, r)
	}
	// A later result replaces the certificate as Last, days and all.
	later := with
	later.CheckedAt = at.Add(24 * time.Hour)
	later.Certificate = &health.CertInfo{Host: "mta-sts.example.com",
		NotBefore: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)}
	later.Findings = []health.Finding{}
	if err := s.Save(ctx, later); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Last(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Last(example.com) after renewal", got, later)
}

// testEmailVerdict: the DKIM verdict of an e-mailed report is kept with its
// record, each result as written; a report without one reads back without.
func testEmailVerdict(t *testing.T, s Store) {
	ctx := context.Background()
	for i, v := range []*store.DKIM{
		{Result: store.DKIMPass, Domain: "google.com"},
		{Result: store.DKIMFail, Domain: "microsoft.com", Reason: "dkim: body hash did not verify"},
		{Result: store.DKIMNone, Reason: "no DKIM-Signature"},
		nil,
	} {
		e := Entry(t, Report("Mailer", fmt.Sprintf("dkim-%d", i), "2024-03-04", 1, []string{"example.com"}))
		e.Report.Channel = "email"
		e.Report.DKIM = v
		save(t, s, e)
		rep, err := s.Report(ctx, e.Report.Key)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "Report with verdict "+fmt.Sprint(v), rep, e.Report)
	}
}

// testProvenance: a report's provenance is kept on its record and on each
// of its facts.
func testProvenance(t *testing.T, s Store) {
	ctx := context.Background()
	for i, p := range store.Provenances() {
		e := Entry(t, Report("Mailer", fmt.Sprintf("prov-%d", i), "2024-03-05", 1, []string{"example.com", "example.org"}))
		e.SetProvenance(p)
		save(t, s, e)
		rep, err := s.Report(ctx, e.Report.Key)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Provenance != p || rep.ProvenanceOf() != p {
			t.Errorf("Report(%s).Provenance = %q, want %q", e.Report.Key, rep.Provenance, p)
		}
		for _, d := range []string{"example.com", "example.org"} {
			for _, f := range facts(t, s, d, "2024-03-05", "2024-03-05") {
				if f.ReportKey == e.Report.Key && f.Provenance != p {
					t.Errorf("fact %s/%s: provenance %q, want %q", d, f.ReportKey, f.Provenance, p)
				}
			}
		}
	}
}
