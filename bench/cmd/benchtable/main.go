// Command benchtable prints the benchmark table of `make bench-table`
// (perf.mk): it reads the output of
//
//	go test -run='^$' -bench=. -benchmem -json ./bench/
//
// (plain `go test -bench` output works too) from the files named, or from
// standard input, and prints one Markdown table: for each comparison of
// package bench, ststack's figures, the baseline's, and the ratio of the
// two on the row's first figure, oriented so that > 1 means ststack is
// ahead. A benchmark that did not run shows "—".
//
// Exit status: 0 when every benchmark and test passed, 1 when one failed
// (their output is printed after the table) or no result was found, 2 on a
// usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchtable [FILE…]  (go test -bench -json output; default: standard input)")
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var in []io.Reader
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "benchtable: %v\n", err)
			return 2
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = []io.Reader{stdin}
	}
	r, err := ParseOutput(io.MultiReader(in...))
	if err != nil {
		fmt.Fprintf(stderr, "benchtable: reading the benchmark output: %v\n", err)
		return 1
	}
	if len(r.Results) == 0 {
		fmt.Fprintln(stderr, "benchtable: no benchmark results in the input")
		return 1
	}
	if err := r.Write(stdout); err != nil {
		fmt.Fprintf(stderr, "benchtable: %v\n", err)
		return 1
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(stderr, "\nbenchtable: FAILED: %s\n", strings.Join(r.Failed, "; "))
		for _, l := range r.Output {
			fmt.Fprintln(stderr, l)
		}
		return 1
	}
	return 0
}
