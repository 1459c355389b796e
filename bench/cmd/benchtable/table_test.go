package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// jsonOutput renders lines as `go test -json` output events of package
// bench, splitting each benchmark line after its name as test2json does.
func jsonOutput(t *testing.T, lines ...string) string {
	t.Helper()
	var b strings.Builder
	emit := func(action, test, out string) {
		ev, err := json.Marshal(map[string]string{"Action": action, "Package": "github.com/ststack/ststack/bench", "Test": test, "Output": out})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(ev)
		b.WriteByte('\n')
	}
	for _, l := range lines {
		if name, rest, ok := strings.Cut(l, "\t"); ok && strings.HasPrefix(l, "Benchmark") {
			emit("output", strings.TrimSpace(name), name+"\t")
			emit("output", strings.TrimSpace(name), rest+"\n")
			continue
		}
		emit("output", "", l+"\n")
	}
	return b.String()
}

var sampleLines = []string{
	"goos: linux",
	"goarch: amd64",
	"pkg: github.com/ststack/ststack/bench",
	"cpu: Test CPU",
	"BenchmarkParse/samples-json/ststack-2   \t   51492\t     20210 ns/op\t 272.04 MB/s\t        22.57 allocs/report\t      2887 ns/report\t    8456 B/op\t     158 allocs/op",
	"BenchmarkParse/samples-json/plain-2     \t   23256\t     50342 ns/op\t 109.21 MB/s\t        26.29 allocs/report\t      7192 ns/report\t    8425 B/op\t     184 allocs/op",
	"BenchmarkPolicyHandler-2   \t   31874\t    110341 ns/op\t        14.02 bare-allocs/req\t     28000 bare-req/s\t        17.97 headers-allocs/req\t     26800 headers-req/s\t        17.99 ststack-allocs/req\t     26600 ststack-req/s",
	"BenchmarkBootstrap/trivial-2 \t 3 \t 121736205 ns/op \t 5.563 arm64-MiB \t 50.0 coldstart-ms \t 40.0 init-ms",
	"BenchmarkBootstrap/policy-2 \t 3 \t 85031682 ns/op \t 6.500 arm64-MiB \t 62.5 coldstart-ms \t 50.0 init-ms",
	"PASS",
}

func TestParseOutput(t *testing.T) {
	for _, tc := range []struct {
		name, in string
	}{
		{"json", jsonOutput(t, sampleLines...)},
		{"text", strings.Join(sampleLines, "\n") + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseOutput(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Results) != 5 {
				t.Fatalf("%d results: %v", len(r.Results), r.Results)
			}
			res := r.Results["BenchmarkParse/samples-json/ststack"]
			if res.Iterations != 51492 || res.Metrics["ns/report"] != 2887 || res.Metrics["MB/s"] != 272.04 {
				t.Errorf("parsed %+v", res)
			}
			if v, err := r.metric("BenchmarkPolicyHandler", "headers-req/s"); err != nil || v != 26800 {
				t.Errorf("headers-req/s = %v, %v", v, err)
			}
			if _, err := r.metric("BenchmarkNone", "x"); err == nil || !strings.Contains(err.Error(), "BenchmarkNone") {
				t.Errorf("missing benchmark: %v", err)
			}
			if strings.Join(r.Context, ", ") != "goos: linux, goarch: amd64, cpu: Test CPU" {
				t.Errorf("context %q", r.Context)
			}
		})
	}
}

func TestParseResult(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		name string
	}{
		{"BenchmarkX-8 \t 10 \t 5 ns/op", true, "BenchmarkX"},
		{"BenchmarkX/sub/c=8-16 10 5 ns/op 3 reports/s", true, "BenchmarkX/sub/c=8"},
		{"BenchmarkX 10 5 ns/op", true, "BenchmarkX"},
		{"BenchmarkX-8 10 5", false, ""},          // a value without unit
		{"BenchmarkX-8 ten 5 ns/op", false, ""},   // no iteration count
		{"BenchmarkX-8 10 five ns/op", false, ""}, // not a number
		{"--- FAIL: BenchmarkX", false, ""},
		{"ok  \tgithub.com/x\t1.2s", false, ""},
	} {
		res, ok := parseResult(tc.line)
		if ok != tc.ok || res.Name != tc.name {
			t.Errorf("parseResult(%q) = %+v, %v; want name %q, %v", tc.line, res, ok, tc.name, tc.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v     float64
		label string
		want  string
	}{
		{2887, "/report", "2.89 µs/report"},
		{45.5, "/report", "45.5 ns/report"},
		{3.2e9, "/op", "3.20 s/op"},
		{26456.4, "req/s", "26,456 req/s"},
		{1234567, "x", "1,234,567 x"},
		{292.04, "MB/s", "292 MB/s"},
		{22.57, "allocs", "22.6 allocs"},
		{0, "allocs", "0 allocs"},
		{-1500, "x", "-1,500 x"},
	} {
		if got := format(tc.v, tc.label); got != tc.want {
			t.Errorf("format(%v, %q) = %q, want %q", tc.v, tc.label, got, tc.want)
		}
	}
}

func TestTable(t *testing.T) {
	r, err := ParseOutput(strings.NewReader(jsonOutput(t, sampleLines...)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		// lower is better (ns/report): plain ÷ ststack.
		"| parse, 7 real samples, JSON ", "2.49× ahead", "2.89 µs/report, 272 MB/s, 22.6 allocs/report",
		// higher is better (req/s): ststack ÷ bare.
		"0.95× behind 5%", "0.99× behind 1%",
		// init: trivial ÷ policy.
		"0.80× behind 20%", "50.0 ms init, 62.5 ms cold start, 6.50 MiB arm64",
		// benchmarks that did not run.
		"| checker, 1,000 domains, 20 ms DNS ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var width int
	for _, l := range lines {
		if strings.HasPrefix(l, "|") {
			if n := len([]rune(l)); width == 0 {
				width = n
			} else if n != width {
				t.Errorf("row %q is %d wide, not %d", l, n, width)
			}
		}
	}
	if !strings.Contains(s, "| — ") {
		t.Errorf("missing benchmarks not shown as —:\n%s", s)
	}
}

func TestRun(t *testing.T) {
	good := jsonOutput(t, sampleLines...)
	failed := good + `{"Action":"output","Package":"p","Test":"BenchmarkZ","Output":"    z_test.go:9: broken\n"}` + "\n" +
		`{"Action":"fail","Package":"p","Test":"BenchmarkZ"}` + "\n"
	for _, tc := range []struct {
		name   string
		args   []string
		in     string
		code   int
		stderr string
	}{
		{"table", nil, good, 0, ""},
		{"failure", nil, failed, 1, "z_test.go:9: broken"},
		{"no results", nil, "PASS\n", 1, "no benchmark results"},
		{"missing file", []string{"/nonexistent/bench.json"}, "", 2, "no such file"},
		{"bad flag", []string{"-x"}, "", 2, ""},
		{"help", []string{"-h"}, "", 0, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.in), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
			if tc.code == 0 && tc.name == "table" && !strings.Contains(stdout.String(), "ststack ÷ baseline") {
				t.Errorf("no table: %q", stdout.String())
			}
		})
	}
}
