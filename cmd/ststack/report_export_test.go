package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// exportData stores two real reports about example.com (Google's of
// 2024-02-17, Mail.ru's of 2024-02-22 with sts-policy-fetch-error) and a
// made-up one whose organisation starts with "=" in a data directory.
func exportData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	formula := []byte(`{"organization-name": "=HYPERLINK(\"http://x\")", "date-range": {"start-datetime": "2024-02-20T00:00:00Z",
		"end-datetime": "2024-02-20T23:59:59Z"}, "report-id": "f1", "policies": [{"policy": {"policy-type": "sts",
		"policy-domain": "example.org"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}`)
	for i, raw := range [][]byte{readSample(t, "google-2024-02.json"), readSample(t, "mailru-fetch-error.json"), formula} {
		rep, err := tlsrpt.ParseReport(raw, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		e := store.NewEntry(rep, raw, nil, "https", time.Date(2024, 2, 25, 10, i, 0, 0, time.UTC))
		e.SetProvenance(store.ProvenanceHTTPS)
		if _, err := st.SaveReport(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReportExportCSV: the CSV has the documented header and one row per
// report and domain, in day order, with the failures by result type; a
// field a spreadsheet would run as a formula is defused.
func TestReportExportCSV(t *testing.T) {
	dir := exportData(t)
	code, out, errs := runCLI(t, "", "report", "export", "--config", exampleOrg, "--data", dir,
		"--from", "2024-02-01", "--to", "2024-02-29", "--format", "csv")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !slices.Equal(recs[0], exportColumns) || len(recs) != 4 {
		t.Fatalf("header %q, %d records, want the columns and 3 rows:\n%s", recs[0], len(recs), out)
	}
	col := func(rec []string, name string) string { return rec[slices.Index(exportColumns, name)] }
	google, mailru, formula := recs[1], recs[2], recs[3]
	if col(google, "day") != "2024-02-17" || col(google, "domain") != "example.com" || col(google, "organization_name") != "Google Inc." ||
		col(google, "success") != "53" || col(google, "sts_success") != "53" || col(google, "received_at") != "2024-02-25T10:00:00Z" ||
		col(google, "provenance") != "https" || col(google, "conflict") != "false" {
		t.Errorf("google row %q", google)
	}
	if col(mailru, "day") != "2024-02-22" || col(mailru, "failures") != "sts-policy-fetch-error:2" || col(mailru, "failure") != "1" {
		t.Errorf("mail.ru row %q", mailru)
	}
	if col(formula, "domain") != "example.org" || !strings.HasPrefix(col(formula, "organization_name"), "'=") {
		t.Errorf("formula row %q: the organisation must not start with =", formula)
	}
	// One domain only.
	_, out, _ = runCLI(t, "", "report", "export", "--config", exampleOrg, "--data", dir,
		"--from", "2024-02-01", "--to", "2024-02-29", "--domain", "EXAMPLE.ORG")
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("--domain example.org: %d lines, want header and one row:\n%s", n, out)
	}
}

// TestReportExportJSONL: one JSON object a line, the documented keys.
func TestReportExportJSONL(t *testing.T) {
	dir := exportData(t)
	code, out, errs := runCLI(t, "", "report", "export", "--config", exampleOrg, "--data", dir,
		"--from", "2024-02-18", "--to", "2024-02-22", "--format", "jsonl")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rows []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 { // Google's report is on 2024-02-17, outside
		t.Fatalf("%d rows, want 2:\n%s", len(rows), out)
	}
	var keys []string
	for k := range rows[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Clone(exportColumns)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if rows[0]["organization_name"] != "Mail.ru" || rows[0]["failure"] != float64(1) || rows[1]["domain"] != "example.org" {
		t.Errorf("rows %v", rows)
	}
}

// TestReportExportUsage: bad flags are usage errors naming the flag; an
// unknown domain or data directory is named.
func TestReportExportUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--config", exampleOrg, "--to", "2024-02-01"}, exitUsage, "--from and --to are required"},
		{[]string{"--config", exampleOrg, "--from", "2024-02-31", "--to", "2024-03-01"}, exitUsage, `--from "2024-02-31"`},
		{[]string{"--config", exampleOrg, "--from", "2024-03-02", "--to", "2024-03-01"}, exitUsage, "is after --to"},
		{[]string{"--config", exampleOrg, "--from", "2024-03-01", "--to", "2024-03-01", "--format", "xlsx"}, exitUsage, "want csv or jsonl"},
		{[]string{"--config", exampleOrg, "--from", "2024-03-01", "--to", "2024-03-01", "--aws", "--data", dir}, exitUsage, "either --aws or --data"},
		{[]string{"--config", exampleOrg, "--from", "2024-03-01", "--to", "2024-03-01", "--data", dir, "--domain", "other.example"}, exitInvalid, "--domain other.example: not a domain"},
		{[]string{"--config", exampleOrg, "--from", "2024-03-01", "--to", "2024-03-01", "--data", filepath.Join(dir, "nope")}, exitInvalid, "data directory"},
	} {
		code, _, errs := runCLI(t, "", append([]string{"report", "export"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%q: exit %d %q, want %d with %q", c.args, code, errs, c.code, c.msg)
		}
	}
}

// manyFacts is a FactLister of perDay facts a day for every domain, that
// records the ranges read.
type manyFacts struct {
	perDay int
	reads  []int // days per read
}

func (m *manyFacts) Facts(_ context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	days := int(to.Time().Sub(from.Time()).Hours()/24) + 1
	m.reads = append(m.reads, days)
	var fs []store.Fact
	for d := from; d <= to; d = d.AddDays(1) {
		for i := range m.perDay {
			fs = append(fs, store.Fact{Domain: domain, Day: d, Organization: "org", ReportID: fmt.Sprint(i), Success: 1})
		}
	}
	return fs, nil
}

// TestReportExportStreams: a year of two domains is read a week at a time
// and every row is written, so memory is bounded by one week of one domain.
func TestReportExportStreams(t *testing.T) {
	m := &manyFacts{perDay: 20}
	var buf bytes.Buffer
	n, err := exportFacts(context.Background(), m, []string{"a.example", "b.example"}, "2024-01-01", "2024-12-31", "jsonl", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 366 * 20; n != want || strings.Count(buf.String(), "\n") != want {
		t.Errorf("%d rows, %d lines; want %d", n, strings.Count(buf.String(), "\n"), want)
	}
	if slices.Max(m.reads) > exportChunkDays || len(m.reads) != 2*53 {
		t.Errorf("reads of %v days, want %d reads of at most %d", m.reads, 2*53, exportChunkDays)
	}
}
