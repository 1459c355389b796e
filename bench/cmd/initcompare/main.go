// Command initcompare measures the init of Lambda bootstraps the way the
// runtime waits for it: from exec to the bootstrap's first request for an
// event (GET /2018-06-01/runtime/invocation/next) to a stand-in runtime API
// on loopback. The bootstraps are run in turn, in a new random order each
// round, so that the load of a shared machine falls on all of them alike;
// it prints each one's least, first quartile and median time, and its
// least as a multiple of the first one's (the baseline).
//
//	go run ./bench/cmd/initcompare -root DIR trivial=PATH before=PATH after=PATH
//
// DIR is the functions' LAMBDA_TASK_ROOT (holding ststack.yaml); each is
// given the variables the functions require, with placeholder values: init
// builds no connection. Build the bootstraps for this machine with the
// Makefile's flags (make lambdas-amd64). A bootstrap that exits before
// asking for an event is reported and left out.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 40, "rounds of every bootstrap")
	root := flag.String("root", ".", "LAMBDA_TASK_ROOT of the bootstraps")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: initcompare [-rounds N] [-root DIR] NAME=BOOTSTRAP...")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	asked := make(chan time.Time, 1)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invocation/next") {
			asked <- time.Now()
			<-r.Context().Done() // no event: the bootstrap is killed
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	env := append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "LAMBDA_TASK_ROOT="+*root,
		"AWS_LAMBDA_FUNCTION_NAME=initcompare", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_LAMBDA_FUNCTION_VERSION=1",
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=placeholder", "AWS_SECRET_ACCESS_KEY=placeholder",
		"STSTACK_BUCKET=placeholder", "STSTACK_TABLE=placeholder", "STSTACK_TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:placeholder")
	names := make([]string, flag.NArg())
	times := make([][]time.Duration, flag.NArg())
	for r := 0; r < *rounds; r++ {
		for _, i := range rand.Perm(flag.NArg()) {
			name, path, ok := strings.Cut(flag.Arg(i), "=")
			if !ok {
				fmt.Fprintf(os.Stderr, "initcompare: %q: want NAME=BOOTSTRAP\n", flag.Arg(i))
				os.Exit(2)
			}
			names[i] = name
			if abs, err := filepath.Abs(path); err == nil {
				path = abs // the bootstrap runs in root
			}
			cmd := exec.Command(path)
			cmd.Env, cmd.Dir = env, *root
			t0 := time.Now()
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case t := <-asked:
				times[i] = append(times[i], t.Sub(t0))
				cmd.Process.Kill()
				<-exited
			case err := <-exited:
				fmt.Fprintf(os.Stderr, "initcompare: %s exited before asking for an event: %v\n", name, err)
			}
		}
	}
	var base time.Duration
	for i, d := range times {
		if len(d) == 0 {
			continue
		}
		slices.Sort(d)
		if base == 0 {
			base = d[0]
		}
		fmt.Printf("%-16s least %6.2f ms (%.2fx)  p25 %6.2f ms  median %6.2f ms  n=%d\n",
			names[i], ms(d[0]), float64(d[0])/float64(base), ms(d[len(d)/4]), ms(d[len(d)/2]), len(d))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
