package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// exportChunkDays is how many days of one domain's facts an export reads
// at once: the memory an export needs is one such read, whatever the range.
const exportChunkDays = 7

// exportRow is one exported row: one report's facts for one domain (a
// store.Fact). The field names are the CSV header and the JSON keys; they
// are documented in docs/reports.md ("Export") and must not change.
type exportRow struct {
	Day              string `json:"day"`
	Domain           string `json:"domain"`
	Organization     string `json:"organization"`
	OrganizationName string `json:"organization_name"`
	ReportID         string `json:"report_id"`
	ReportKey        string `json:"report_key"`
	Start            string `json:"start"`
	End              string `json:"end"`
	ReceivedAt       string `json:"received_at"`
	Provenance       string `json:"provenance"`
	Conflict         bool   `json:"conflict"`
	Success          int64  `json:"success"`
	Failure          int64  `json:"failure"`
	STSSuccess       int64  `json:"sts_success"`
	STSFailure       int64  `json:"sts_failure"`
	TLSASuccess      int64  `json:"tlsa_success"`
	TLSAFailure      int64  `json:"tlsa_failure"`
	MXHosts          string `json:"mx_hosts"`
	Failures         string `json:"failures"`
}

// exportColumns are the CSV columns, in order.
var exportColumns = []string{"day", "domain", "organization", "organization_name", "report_id", "report_key",
	"start", "end", "received_at", "provenance", "conflict", "success", "failure", "sts_success", "sts_failure",
	"tlsa_success", "tlsa_failure", "mx_hosts", "failures"}

func (r exportRow) record() []string {
	return []string{r.Day, r.Domain, r.Organization, r.OrganizationName, r.ReportID, r.ReportKey, r.Start, r.End,
		r.ReceivedAt, r.Provenance, strconv.FormatBool(r.Conflict), strconv.FormatInt(r.Success, 10),
		strconv.FormatInt(r.Failure, 10), strconv.FormatInt(r.STSSuccess, 10), strconv.FormatInt(r.STSFailure, 10),
		strconv.FormatInt(r.TLSASuccess, 10), strconv.FormatInt(r.TLSAFailure, 10), r.MXHosts, r.Failures}
}

func newExportRow(f store.Fact) exportRow {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	r := exportRow{Day: string(f.Day), Domain: f.Domain, Organization: f.Organization, OrganizationName: f.OrganizationName,
		ReportID: f.ReportID, ReportKey: f.ReportKey, Start: ts(f.Start), End: ts(f.End), ReceivedAt: ts(f.ReceivedAt),
		Provenance: f.Provenance, Conflict: f.Conflict, Success: f.Success, Failure: f.Failure,
		MXHosts: strings.Join(f.MXHosts, " ")}
	for _, p := range f.Policies {
		switch p.Type {
		case tlsrpt.PolicyTypeSTS:
			r.STSSuccess, r.STSFailure = store.AddSat(r.STSSuccess, p.Success), store.AddSat(r.STSFailure, p.Failure)
		case tlsrpt.PolicyTypeTLSA:
			r.TLSASuccess, r.TLSAFailure = store.AddSat(r.TLSASuccess, p.Success), store.AddSat(r.TLSAFailure, p.Failure)
		}
	}
	// Failed sessions of the failure details by result type, in order of
	// first appearance (the largest first, as facts order them).
	var types []tlsrpt.ResultType
	by := map[tlsrpt.ResultType]int64{}
	for _, c := range f.Failures {
		if _, ok := by[c.ResultType]; !ok {
			types = append(types, c.ResultType)
		}
		by[c.ResultType] = store.AddSat(by[c.ResultType], c.Count)
	}
	var fs []string
	for _, t := range types {
		fs = append(fs, fmt.Sprintf("%s:%d", t, by[t]))
	}
	r.Failures = strings.Join(fs, " ")
	return r
}

// csvSafe keeps a spreadsheet from reading a field as a formula: a field
// starting with = + - @ (or a tab or CR) gets a leading apostrophe. Report
// fields are sent by anyone who can post a report.
func csvSafe(rec []string) []string {
	for i, v := range rec {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				rec[i] = "'" + v
			}
		}
	}
	return rec
}

// runReportExport implements `ststack report export`.
func runReportExport(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "report export",
		"--config FILE (--data DIR | --aws [--stack NAME] [--region R]) --from YYYY-MM-DD --to YYYY-MM-DD [--domain D] --format csv|jsonl",
		`Writes the stored reports of a day range to standard output, one row per
report and domain, for spreadsheets (csv, RFC 4180, with a header) and data
tools (jsonl: one JSON object a line). Columns: docs/reports.md, "Export".
Rows are written as they are read, a week of one domain at a time, so any
range exports in bounded memory. Days are the UTC days reports start on.`)
	cfgPath := fs.String("config", "", "the organisation file (required)")
	data := fs.String("data", "", "data directory of an embedded store (default .ststack-data, without --aws)")
	useAWS := fs.Bool("aws", false, "read a deployed stack (DynamoDB) with your AWS credentials")
	stack := fs.String("stack", "", "with --aws: the stack name (default: from the organisation file)")
	region := fs.String("region", "", "with --aws: the region (default: the file's region)")
	fromS := fs.String("from", "", "first day, YYYY-MM-DD (required)")
	toS := fs.String("to", "", "last day, YYYY-MM-DD, included (required)")
	domain := fs.String("domain", "", "only this configured domain")
	format := fs.String("format", "csv", "csv or jsonl")
	pos, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if len(pos) != 0 {
		return usageError(fs, env, "unexpected argument %q", pos[0])
	}
	from, errF := store.ParseDay(*fromS)
	to, errT := store.ParseDay(*toS)
	switch {
	case *cfgPath == "":
		return usageError(fs, env, "--config is required")
	case *fromS == "" || *toS == "":
		return usageError(fs, env, "--from and --to are required")
	case errF != nil:
		return usageError(fs, env, "--from %q: want YYYY-MM-DD", *fromS)
	case errT != nil:
		return usageError(fs, env, "--to %q: want YYYY-MM-DD", *toS)
	case from > to:
		return usageError(fs, env, "--from %s is after --to %s", from, to)
	case *format != "csv" && *format != "jsonl":
		return usageError(fs, env, "--format %q: want csv or jsonl", *format)
	case *useAWS && set["data"]:
		return usageError(fs, env, "give either --aws or --data")
	case !*useAWS && (set["stack"] || set["region"]):
		return usageError(fs, env, "--stack and --region need --aws")
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.stderr, "ststack report export: "+format+"\n", a...)
		return exitInvalid
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		for _, m := range splitJoined(err) {
			fmt.Fprintf(env.stderr, "ststack report export: %s\n", m)
		}
		return exitInvalid
	}
	domains := cfg.DomainNames()
	if *domain != "" {
		d, ok := cfg.Domain(*domain)
		if !ok {
			return fail("--domain %s: not a domain of %s", *domain, *cfgPath)
		}
		domains = []string{d.Name}
	}
	var src store.FactLister
	if *useAWS {
		s, _, _, err := openAWS(ctx, cfg, *stack, *region, "", "")
		if err != nil {
			return fail("%v", err)
		}
		src = s
	} else {
		es, _, err := openEmbedded(*data)
		if err != nil {
			return fail("%v", err)
		}
		defer es.Close()
		src = es
	}
	n, err := exportFacts(ctx, src, domains, from, to, *format, env.stdout)
	if err != nil {
		return fail("after %d rows: %v", n, err)
	}
	if env.isTerminal {
		fmt.Fprintf(env.stderr, "%d rows\n", n)
	}
	return exitOK
}

// exportFacts writes the facts of domains over [from, to] to w in format,
// reading exportChunkDays days of one domain at a time, and returns the
// number of rows written.
func exportFacts(ctx context.Context, src store.FactLister, domains []string, from, to store.Day, format string, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if format == "csv" {
		if err := cw.Write(exportColumns); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, d := range domains {
		for start := from; start <= to; start = start.AddDays(exportChunkDays) {
			end := min(start.AddDays(exportChunkDays-1), to)
			facts, err := src.Facts(ctx, d, start, end)
			if err != nil {
				return n, fmt.Errorf("reading %s %s to %s: %w", d, start, end, err)
			}
			for _, f := range facts {
				row := newExportRow(f)
				if format == "csv" {
					err = cw.Write(csvSafe(row.record()))
				} else {
					err = enc.Encode(row)
				}
				if err != nil {
					return n, err
				}
				n++
			}
			if format == "csv" {
				cw.Flush()
				if err := cw.Error(); err != nil {
					return n, err
				}
			}
			if err := bw.Flush(); err != nil { // stream: what is read is written
				return n, err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
