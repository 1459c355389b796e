// Command ststack is the command-line interface of ststack: it validates
// policies, records, reports and the organisation file, checks live domains,
// and serves everything locally.
//
// Exit status: 0 fine, 1 findings or invalid input, 2 usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
)

// Exit statuses shared by every verb.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

// verb is one `ststack VERB` command. run receives the arguments after the
// verb and returns the process exit status; it never calls os.Exit itself.
type verb struct {
	summary string
	run     func(ctx context.Context, args []string, env *cliEnv) int
}

// cliEnv is what a verb may touch of the outside world, so tests can run
// verbs in-process.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// isTerminal reports whether stderr is a terminal (progress output).
	isTerminal bool
	// now is the clock of verbs that date what they do (nil: time.Now).
	now func() time.Time
}

func verbs() map[string]verb {
	return map[string]verb{
		"policy":    {"validate an MTA-STS policy file", runPolicy},
		"record":    {"validate an _mta-sts or _smtp._tls TXT record", runRecord},
		"report":    {"parse a TLS report (JSON, gzip or e-mail)", runReport},
		"config":    {"validate the organisation file", runConfig},
		"serve":     {"serve policies and the report endpoint locally", runServe},
		"check":     {"check live domains (DNS, policy, certificates, MX)", runCheck},
		"dashboard": {"serve the dashboard of a deployed stack (--aws) or a data directory", runDashboard},
		"plan":      {"the rollout plan: each domain's next safe step to enforce (--apply writes it)", runPlan},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, isTerminal: isTerminal(os.Stderr)}
	code := run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, env *cliEnv) int {
	vs := verbs()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout, vs)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	v, ok := vs[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "ststack: unknown command %q (see ststack --help)\n", args[0])
		return exitUsage
	}
	return v.run(ctx, args[1:], env)
}

func usage(w io.Writer, vs map[string]verb) {
	fmt.Fprintln(w, "usage: ststack COMMAND [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(vs))
	for n := range vs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, vs[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ststack COMMAND --help' for a command's options.")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
