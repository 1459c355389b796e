// Command stress runs `ststack serve` under a bounded, mixed load over
// loopback (`make stress`, perf.mk) and checks it: policy GETs for many
// hosts, new reports, duplicates and concurrent duplicates (package
// internal/stress), for a fixed time and at most a fixed number of
// requests. It then stops the server, opens its embedded store and
// compares the facts with what was sent: no report lost, none counted
// twice. It prints throughput, latency percentiles by kind of request and
// the server's memory over the run.
//
// Usage:
//
//	stress --bin bin/ststack [--duration 20s] [--requests 30000]
//	       [--concurrency 16] [--domains 50] [--seed 1] [--keep]
//
// Exit status: 0 when every answer was right, the store holds exactly what
// was sent and the memory stayed flat; 1 otherwise; 2 on a usage error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/stress"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "the ststack binary (required)")
	duration := fs.Duration("duration", 20*time.Second, "how long to load the server, at most")
	requests := fs.Int("requests", 30000, "how many requests to send, at most")
	concurrency := fs.Int("concurrency", 16, "concurrent clients")
	domains := fs.Int("domains", 50, "configured domains (policy hosts and report domains)")
	seed := fs.Uint64("seed", 1, "seed of the reports and of the mix")
	keep := fs.Bool("keep", false, "keep the data directory and the server log")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *bin == "" || fs.NArg() > 0 || *domains < 1 || *domains > 1000 {
		fmt.Fprintln(stderr, "stress: --bin is required; --domains is 1 to 1000; no arguments")
		return 2
	}
	dir, err := os.MkdirTemp("", "ststack-stress-")
	if err != nil {
		fmt.Fprintf(stderr, "stress: %v\n", err)
		return 1
	}
	if *keep {
		fmt.Fprintf(stdout, "stress: data and log kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ok, err := load(ctx, dir, *bin, stress.Config{
		Duration: *duration, MaxRequests: *requests, Concurrency: *concurrency, Seed: *seed,
	}, *domains, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "stress: %v\n", err)
		if b, rerr := os.ReadFile(filepath.Join(dir, "serve.log")); rerr == nil {
			l := strings.Split(strings.TrimSpace(string(b)), "\n")
			fmt.Fprintf(stderr, "last lines of the server log:\n%s\n", strings.Join(l[max(0, len(l)-20):], "\n"))
		}
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// load runs the server and the load in dir and checks the outcome; ok is
// false when a check failed (reported on out).
func load(ctx context.Context, dir, bin string, cfg stress.Config, n int, out io.Writer) (ok bool, err error) {
	org, domains, policies, err := stress.Org(n)
	if err != nil {
		return false, err
	}
	cfgPath, data := filepath.Join(dir, "ststack.yaml"), filepath.Join(dir, "data")
	if err := os.WriteFile(cfgPath, []byte(org), 0o644); err != nil {
		return false, err
	}
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return false, err
	}
	defer logs.Close()
	srv, err := stress.StartServe(bin, cfgPath, data, logs)
	if err != nil {
		return false, err
	}
	cfg.BaseURL, cfg.Policies, cfg.Domains = srv.URL, policies, domains
	cfg.Memory = func() (int64, error) { return stress.RSS(srv.Pid()) }
	fmt.Fprintf(out, "stress: %s serving %d domains on %s; %d clients for %v or %d requests\n",
		bin, n, srv.URL, cfg.Concurrency, cfg.Duration, cfg.MaxRequests)
	res, err := stress.Run(ctx, cfg)
	if err != nil {
		srv.Kill()
		return false, err
	}
	fileRSS, _ := stress.FileRSS(srv.Pid())
	if err := srv.Stop(); err != nil {
		return false, fmt.Errorf("stopping the server: %w", err)
	}
	fmt.Fprint(out, res.Summary())
	fmt.Fprintf(out, "server file-backed memory at the end (binary, memory-mapped database): %.1f MiB\n", float64(fileRSS)/(1<<20))

	st, err := embedded.Open(data)
	if err != nil {
		return false, err
	}
	defer st.Close()
	diffs, err := stress.Verify(ctx, st, res, []string{"stress.example", "unknown.example"})
	if err != nil {
		return false, err
	}
	ok = true
	for _, e := range res.Errors {
		fmt.Fprintf(out, "error: %s\n", e)
		ok = false
	}
	if res.ErrorCount > len(res.Errors) {
		fmt.Fprintf(out, "… and %d more errors\n", res.ErrorCount-len(res.Errors))
	}
	for _, d := range diffs {
		fmt.Fprintf(out, "store differs: %s\n", d)
		ok = false
	}
	if len(diffs) == 0 {
		fmt.Fprintf(out, "store: the facts of all %d distinct reports, each counted once\n", res.Reports)
	}
	if _, _, flat := stress.Flat(res.Memory); !flat {
		fmt.Fprintln(out, "memory: the server's resident memory grew over the run")
		ok = false
	}
	if ok {
		fmt.Fprintln(out, "stress: PASS")
	} else {
		fmt.Fprintln(out, "stress: FAIL")
	}
	return ok, nil
}
