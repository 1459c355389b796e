package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one benchmark's result line: its name without the -GOMAXPROCS
// suffix, the iteration count and every "value unit" pair.
type Result struct {
	Name       string
	Iterations int64
	Metrics    map[string]float64
}

// Run is what the benchmark output says.
type Run struct {
	Results map[string]Result // by name; the last line wins (-count > 1)
	Context []string          // goos, goarch, pkg, cpu lines, first of each
	Failed  []string          // tests and benchmarks that failed, and packages
	Output  []string          // lines of failed tests, for the report
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

var (
	// A result line: name, iterations, then value-unit pairs.
	resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)
	// A benchmark name printed alone, its figures following on a later
	// line (test2json splits them).
	nameOnly = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s*$`)
)

// ParseOutput reads `go test -bench -json` output, or plain `go test
// -bench` output (lines that are not JSON are taken as output).
func ParseOutput(r io.Reader) (*Run, error) {
	run := &Run{Results: map[string]Result{}}
	texts := map[string]*strings.Builder{} // output by package, in order
	var order []string
	failedOutput := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	add := func(pkg, s string) {
		b := texts[pkg]
		if b == nil {
			b = &strings.Builder{}
			texts[pkg] = b
			order = append(order, pkg)
		}
		b.WriteString(s)
	}
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			add("", string(line)+"\n")
			continue
		}
		switch ev.Action {
		case "output":
			add(ev.Package, ev.Output)
			if ev.Test != "" {
				key := ev.Package + " " + ev.Test
				failedOutput[key] = append(failedOutput[key], strings.TrimRight(ev.Output, "\n"))
			}
		case "fail":
			name := ev.Package
			if ev.Test != "" {
				name += " " + ev.Test
				run.Output = append(run.Output, failedOutput[name]...)
			}
			run.Failed = append(run.Failed, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, pkg := range order {
		pending := ""
		for _, l := range strings.Split(texts[pkg].String(), "\n") {
			l = strings.TrimRight(l, "\r")
			for _, k := range []string{"goos:", "goarch:", "cpu:"} {
				if strings.HasPrefix(l, k) && !seen[k] {
					seen[k] = true
					run.Context = append(run.Context, strings.TrimSpace(l))
				}
			}
			if m := nameOnly.FindStringSubmatch(l); m != nil {
				pending = m[1]
				continue
			}
			if pending != "" && strings.TrimSpace(l) != "" && (l[0] == ' ' || l[0] == '\t') {
				l = pending + " " + l
			}
			if strings.HasPrefix(l, "Benchmark") {
				pending = ""
			}
			if res, ok := parseResult(l); ok {
				run.Results[res.Name] = res
			}
		}
	}
	return run, nil
}

// parseResult parses one result line.
func parseResult(line string) (Result, bool) {
	m := resultLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return Result{}, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Result{}, false
	}
	f := strings.Fields(m[3])
	if len(f)%2 != 0 {
		return Result{}, false
	}
	res := Result{Name: m[1], Iterations: n, Metrics: map[string]float64{}}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// metric returns a result's metric, or an error naming what is missing.
func (r *Run) metric(bench, unit string) (float64, error) {
	res, ok := r.Results[bench]
	if !ok {
		return 0, fmt.Errorf("no result for %s", bench)
	}
	v, ok := res.Metrics[unit]
	if !ok {
		return 0, fmt.Errorf("%s reports no %s", bench, unit)
	}
	return v, nil
}
