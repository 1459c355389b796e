package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// side is one side of a comparison: the benchmark, the metric compared
// (key) and the metrics shown, each as (unit in the result, label shown).
type side struct {
	bench string
	key   string
	show  [][2]string
}

// Row compares ststack with its baseline on one key metric.
type Row struct {
	Label        string
	Baseline     string // what the baseline is
	Subject      side
	Base         side
	HigherBetter bool // for the key metric
}

// Rows are the table's rows: the benchmarks of package bench.
var Rows = []Row{
	parseRow("parse, 7 real samples, JSON", "samples-json"),
	parseRow("parse, 7 real samples, gzip", "samples-gzip"),
	parseRow("parse, corpus of 10,000, JSON", "corpus-json"),
	parseRow("parse, corpus of 10,000, gzip", "corpus-gzip"),
	{
		Label: "parse, 6 real samples mox's design reads, JSON", Baseline: "mox's tlsrpt.Parse design (json.Decoder, time.Time)",
		Subject: side{"BenchmarkParse/samples-mox/ststack", "ns/report", parseShow},
		Base:    side{"BenchmarkParse/samples-mox/mox-design", "ns/report", parseShow},
	},
	policyRow("policy handler (net/http, loopback)", "bare handler, constant body", "bare"),
	policyRow("policy handler (net/http, loopback)", "bare handler + the same headers", "headers"),
	ingestRow(1),
	ingestRow(8),
	{
		Label: "checker, 1,000 domains, 20 ms DNS", Baseline: "same questions in turn, same concurrency",
		Subject:      side{"BenchmarkChecker/ststack", "domains/s", [][2]string{{"domains/s", "domains/s"}, {"peak-heap-MiB", "MiB peak heap"}}},
		Base:         side{"BenchmarkChecker/sequential", "domains/s", [][2]string{{"domains/s", "domains/s"}, {"peak-heap-MiB", "MiB peak heap"}}},
		HigherBetter: true,
	},
	bootstrapRow("policy"),
	bootstrapRow("tlsrpt"),
	bootstrapRow("mailin"),
	bootstrapRow("checker"),
	bootstrapRow("reconciler"),
}

// parseShow are the figures shown for the parse rows; cpu-ns/report is the
// thread's CPU time, which load on the machine changes less.
var parseShow = [][2]string{{"ns/report", "/report"}, {"cpu-ns/report", "/report of CPU"}, {"MB/s", "MB/s"}, {"allocs/report", "allocs/report"}}

func parseRow(label, set string) Row {
	return Row{
		Label: label, Baseline: "encoding/json into RFC structs",
		Subject: side{"BenchmarkParse/" + set + "/ststack", "ns/report", parseShow},
		Base:    side{"BenchmarkParse/" + set + "/plain", "ns/report", parseShow},
	}
}

func policyRow(label, baseline, base string) Row {
	return Row{
		Label: label, Baseline: baseline,
		Subject:      side{"BenchmarkPolicyHandler", "ststack-req/s", [][2]string{{"ststack-req/s", "req/s"}, {"ststack-allocs/req", "allocs/req"}}},
		Base:         side{"BenchmarkPolicyHandler", base + "-req/s", [][2]string{{base + "-req/s", "req/s"}, {base + "-allocs/req", "allocs/req"}}},
		HigherBetter: true,
	}
}

func ingestRow(c int) Row {
	show := [][2]string{{"reports/s", "reports/s"}, {"p50-ms", "ms p50"}, {"p99-ms", "ms p99"}}
	n := strconv.Itoa(c)
	return Row{
		Label:        "ingest → embedded store, " + n + " sender(s)",
		Baseline:     "decode + write body + fsync",
		Subject:      side{"BenchmarkIngest/ststack/c=" + n, "reports/s", show},
		Base:         side{"BenchmarkIngest/plain/c=" + n, "reports/s", show},
		HigherBetter: true,
	}
}

func bootstrapRow(fn string) Row {
	show := [][2]string{{"init-ms", "ms init"}, {"coldstart-ms", "ms cold start"}, {"arm64-MiB", "MiB arm64"}}
	return Row{
		Label: "bootstrap " + fn + " (RIE init; cold start; size)", Baseline: "trivial Go handler",
		Subject: side{"BenchmarkBootstrap/" + fn, "init-ms", show},
		Base:    side{"BenchmarkBootstrap/trivial", "init-ms", show},
	}
}

// cell is a formatted table row; missing benchmarks give "—".
type cell struct {
	label, baseline, ratio, subject, base string
}

// advantage is how many times ststack is ahead of the baseline on the key
// metric (> 1: ahead).
func (row Row) advantage(s, b float64) float64 {
	if row.HigherBetter {
		return s / b
	}
	return b / s
}

func (r *Run) cells() []cell {
	var out []cell
	for _, row := range Rows {
		c := cell{label: row.Label, baseline: row.Baseline, ratio: "—", subject: "—", base: "—"}
		s, err1 := r.metric(row.Subject.bench, row.Subject.key)
		b, err2 := r.metric(row.Base.bench, row.Base.key)
		if err1 == nil && err2 == nil && s > 0 && b > 0 {
			a := row.advantage(s, b)
			verdict := "ahead"
			switch {
			case a < 0.995:
				verdict = fmt.Sprintf("behind %.0f%%", (1-a)*100)
			case a < 1.005:
				verdict = "even"
			}
			c.ratio = fmt.Sprintf("%.2f× %s", a, verdict)
		}
		c.subject = r.figures(row.Subject)
		c.base = r.figures(row.Base)
		out = append(out, c)
	}
	return out
}

// figures formats the shown metrics of one side.
func (r *Run) figures(s side) string {
	var parts []string
	for _, m := range s.show {
		v, err := r.metric(s.bench, m[0])
		if err != nil {
			continue
		}
		parts = append(parts, format(v, m[1]))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// format writes v with three significant digits; a label starting with
// "/" is a duration in ns per something, scaled to ns, µs, ms or s.
func format(v float64, label string) string {
	if strings.HasPrefix(label, "/") {
		unit := "ns"
		for _, u := range []string{"µs", "ms", "s"} {
			if v < 1000 {
				break
			}
			v /= 1000
			unit = u
		}
		return sig3(v) + " " + unit + label
	}
	return sig3(v) + " " + label
}

// sig3 formats v with about three significant digits, thousands
// separated.
func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return thousands(int64(math.Round(v)))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Write prints the table as a Markdown pipe table, columns padded so that
// it also reads as text.
func (r *Run) Write(w io.Writer) error {
	header := cell{"benchmark", "baseline", "ststack ÷ baseline", "ststack", "baseline figures"}
	rows := append([]cell{header}, r.cells()...)
	widths := make([]int, 5)
	for _, c := range rows {
		for i, f := range c.fields() {
			widths[i] = max(widths[i], utf8.RuneCountInString(f))
		}
	}
	line := func(fs []string) string {
		var b strings.Builder
		b.WriteString("|")
		for i, f := range fs {
			b.WriteString(" " + f + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f)) + " |")
		}
		return b.String()
	}
	var b strings.Builder
	if len(r.Context) > 0 {
		b.WriteString(strings.Join(r.Context, ", ") + "\n\n")
	}
	b.WriteString(line(header.fields()) + "\n")
	seps := make([]string, 5)
	for i := range seps {
		seps[i] = strings.Repeat("-", widths[i])
	}
	b.WriteString(line(seps) + "\n")
	for _, c := range rows[1:] {
		b.WriteString(line(c.fields()) + "\n")
	}
	b.WriteString("\nststack ÷ baseline compares the first figure of each side; > 1 means ststack is ahead.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (c cell) fields() []string {
	return []string{c.label, c.baseline, c.ratio, c.subject, c.base}
}
