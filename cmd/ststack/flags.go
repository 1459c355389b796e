package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlagSet returns a flag set that reports errors to env.stderr and whose
// usage names the command and its synopsis.
func newFlagSet(env *cliEnv, name, synopsis, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: ststack %s %s\n", name, synopsis)
		if doc != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(doc))
		}
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nOptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses flags that may stand before, between or after the
// positional arguments (`report parse r.json --json`), and returns the
// positional ones. A lone "-" is a positional argument (standard input); "--"
// ends the flags. It returns the exit status to use when parsing stopped:
// exitOK for --help, exitUsage for a bad flag, and -1 to go on.
func parseArgs(fs *flag.FlagSet, args []string, env *cliEnv) ([]string, int) {
	// The flag package prints the usage itself on -help and on a bad flag;
	// print it once, here: to stdout when asked for, to stderr on error.
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(env.stdout)
				usage()
				return nil, exitOK
			}
			usage()
			return nil, exitUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, -1
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseSubcommand checks that args start with the subcommand sub (what
// names the accepted subcommands in the error, e.g. "'parse' (or 'ingest')")
// and parses the flags after it, as parseArgs does; a leading --help prints
// the usage.
func parseSubcommand(fs *flag.FlagSet, args []string, env *cliEnv, sub, what string) ([]string, int) {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fs.SetOutput(env.stdout)
		fs.Usage()
		return nil, exitOK
	}
	if len(args) == 0 || args[0] != sub {
		return nil, usageError(fs, env, "expected the subcommand %s", what)
	}
	return parseArgs(fs, args[1:], env)
}

// usageError prints a usage problem and the command's usage, and returns
// exitUsage.
func usageError(fs *flag.FlagSet, env *cliEnv, format string, a ...any) int {
	fmt.Fprintf(env.stderr, "ststack %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// maxInput bounds what a validator reads from a file or standard input:
// larger than anything it validates (reports are bounded again by their
// parser) yet small enough to never exhaust memory.
const maxInput = 64 << 20

// readInput reads a file, or standard input when name is "-", up to maxInput
// bytes.
func readInput(name string, env *cliEnv) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = env.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("larger than %d MiB", maxInput>>20)
	}
	return b, nil
}

// readOneInput reads the single FILE|- argument of a validating command:
// it returns the input's display name and bytes, or the exit status to
// return (>= 0) after saying what was wrong.
func readOneInput(fs *flag.FlagSet, pos []string, env *cliEnv) (string, []byte, int) {
	if len(pos) != 1 {
		return "", nil, usageError(fs, env, "expected one FILE (or - for standard input)")
	}
	name := displayName(pos[0])
	data, err := readInput(pos[0], env)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack %s: %s: %v\n", fs.Name(), name, err)
		return "", nil, exitInvalid
	}
	return name, data, -1
}

// displayName is how messages name an input: the path, or "<stdin>".
func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
