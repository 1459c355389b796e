package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/rollout"
)

// planOutput is the JSON form of `ststack plan` (docs/rollout.md).
type planOutput struct {
	File       string         `json:"file"`
	FileSHA256 string         `json:"file_sha256"`
	Date       string         `json:"date"`
	Source     string         `json:"source"`
	Domains    []rollout.Step `json:"domains"`
	// Applied is true when --apply wrote the file; Diff is the change
	// (unified diff), "" when nothing changes.
	Applied bool   `json:"applied"`
	Diff    string `json:"diff"`
}

// runPlan implements `ststack plan`.
func runPlan(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "plan", "[--config FILE] (--data DIR | --aws [--stack NAME]) [--json] [--apply [--sha256 HASH]]",
		`Says, for every domain of the organisation file, where it stands in the
rollout from testing to enforce and a long max_age, and its next safe step
with the evidence (reports, triage verdicts, checks): docs/rollout.md.
  --data   reads the data directory of 'ststack serve' (not while it runs).
  --aws    reads a deployed stack's table with your AWS credentials.
  --apply  writes the proposed steps (mode, max_age, stage_since) into the
           file, keeping everything else byte for byte, and prints the diff;
           nothing is deployed: review it and run make deploy. It refuses
           when the file changes while it runs, or differs from --sha256
           (the file_sha256 of the plan you reviewed).`)
	cfgPath := fs.String("config", "ststack.yaml", "the organisation file")
	useAWS := fs.Bool("aws", false, "read a deployed stack (S3 and DynamoDB)")
	stack := fs.String("stack", "", "CloudFormation stack name (default: derived from the organisation)")
	region := fs.String("region", "", "AWS region of the stack (default: region of the organisation file)")
	data := fs.String("data", "", "data directory of an embedded store (default .ststack-data, without --aws)")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	apply := fs.Bool("apply", false, "write the proposed steps into the organisation file")
	sum := fs.String("sha256", "", "with --apply: refuse unless the file's SHA-256 is this (from the plan reviewed)")
	pos, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	if len(pos) != 0 {
		return usageError(fs, env, "unexpected argument %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *useAWS && set["data"]:
		return usageError(fs, env, "give either --aws or --data")
	case !*useAWS && (set["stack"] || set["region"]):
		return usageError(fs, env, "--stack and --region need --aws")
	case set["sha256"] && !*apply:
		return usageError(fs, env, "--sha256 needs --apply")
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.stderr, "ststack plan: "+format+"\n", a...)
		return exitInvalid
	}

	raw, err := os.ReadFile(*cfgPath)
	if err != nil {
		return fail("%s: %v", *cfgPath, errors.Unwrap(err))
	}
	hash := fileHash(raw)
	if *sum != "" && !strings.EqualFold(*sum, hash) {
		return fail("%s changed since the plan you reviewed (its SHA-256 is %s, not %s): run ststack plan again and review it", *cfgPath, hash, *sum)
	}
	cfg, err := config.Parse(raw, *cfgPath)
	if err != nil {
		for _, m := range splitJoined(err) {
			fmt.Fprintf(env.stderr, "ststack plan: %s\n", m)
		}
		return exitInvalid
	}

	var (
		src    rollout.Source
		source string
	)
	if *useAWS {
		s, desc, _, err := openAWS(ctx, cfg, *stack, *region, "", "")
		if err != nil {
			return fail("%v", err)
		}
		src, source = s, desc
	} else {
		es, desc, err := openEmbedded(*data)
		if err != nil {
			return fail("%v", err)
		}
		defer es.Close()
		src, source = es, desc
	}

	now := env.clock()
	steps, err := rollout.Plan(ctx, src, cfg, now)
	if err != nil {
		return fail("%v", err)
	}
	out := planOutput{File: *cfgPath, FileSHA256: hash, Date: now.UTC().Format(config.DateLayout), Source: source, Domains: steps}

	var edits []config.DomainEdit
	for _, s := range steps {
		if e, ok := s.Edit(now); ok {
			edits = append(edits, e)
		}
	}
	if len(edits) > 0 {
		edited, err := config.Edit(raw, *cfgPath, edits)
		if err != nil {
			return fail("%v", err)
		}
		out.Diff = lineDiff(*cfgPath, *cfgPath+" (planned)", string(raw), string(edited))
		if *apply {
			if err := writeIfUnchanged(*cfgPath, raw, edited); err != nil {
				return fail("%v", err)
			}
			out.Applied = true
		}
	}
	if *asJSON {
		if err := writeJSON(env.stdout, out); err != nil {
			return fail("%v", err)
		}
		return exitOK
	}
	from := "--data " + shellQuote(cmp.Or(*data, ".ststack-data"))
	if *useAWS {
		from = "--aws"
		if *stack != "" {
			from += " --stack " + shellQuote(*stack)
		}
		if *region != "" {
			from += " --region " + shellQuote(*region)
		}
	}
	printPlan(env.stdout, out, shellQuote(*cfgPath)+" "+from, *apply)
	return exitOK
}

// fileHash is the SHA-256 of the file, as the plan shows it.
func fileHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeIfUnchanged replaces the file at path with edited if it still holds
// read: the file is read again just before a temporary file beside it is
// renamed over it, so an edit made meanwhile is refused, not lost.
func writeIfUnchanged(path string, read, edited []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".plan-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(edited); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), fi.Mode().Perm()); err != nil {
		return err
	}
	now, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(now, read) {
		return fmt.Errorf("%s changed while the plan was computed: nothing written; run ststack plan again", path)
	}
	return os.Rename(tmp.Name(), path)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printPlan writes the plan for people; args are the plan's --config and
// data flags, for the command that applies it.
func printPlan(w io.Writer, out planOutput, args string, applied bool) {
	fmt.Fprintf(w, "Rollout plan of %s (sha256 %s) on %s, data: %s\n", out.File, out.FileSHA256, out.Date, out.Source)
	for _, s := range out.Domains {
		since := ""
		if s.Since != "" {
			since = ", since " + string(s.Since)
			if !s.SinceFile {
				since += " (no stage_since: the first report of the look-back)"
			}
		}
		fmt.Fprintf(w, "\n%s: %s, max_age %d%s\n", s.Domain, s.Stage, s.MaxAge, since)
		fmt.Fprintf(w, "  next: %s\n  why:  %s\n", s.Summary(), s.Reason)
		if s.Evidence.Watch != nil {
			fmt.Fprintf(w, "  watched closely: day %d of %d after the move to enforce\n", s.Evidence.Watch.Day, s.Evidence.Watch.Days)
		}
		for i, c := range s.Evidence.Clusters {
			if i == 5 {
				fmt.Fprintf(w, "  … %d more clusters (--json lists them)\n", len(s.Evidence.Clusters)-5)
				break
			}
			mx := c.MXHost
			if mx == "" {
				mx = "(MX not named)"
			}
			fmt.Fprintf(w, "  %s %s %s: %d failed, %s: %s; reports: %s\n", c.Day, mx, c.ResultType, c.FailedSessions,
				c.Verdict, c.Reason, shortList(c.Reports, 3))
		}
		for _, f := range s.Evidence.Checks {
			fmt.Fprintf(w, "  check %s %s %s: %s\n", f.Severity, f.Code, f.Subject, f.Message)
		}
	}
	fmt.Fprintln(w)
	switch {
	case out.Diff == "":
		fmt.Fprintln(w, "Nothing to change in the file.")
	case applied:
		fmt.Fprintf(w, "Written to %s:\n%s\nReview it, then deploy (make deploy).\n", out.File, out.Diff)
	default:
		fmt.Fprintf(w, "The steps change %s so:\n%s\nApply them with:\n  ststack plan --config %s --apply --sha256 %s\n",
			out.File, out.Diff, args, out.FileSHA256)
	}
}

// shortList lists the first n of l and how many more.
func shortList(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:n], ", ") + fmt.Sprintf(" and %d more", len(l)-n)
}

// clock is the verb's clock: env.now, else time.Now.
func (env *cliEnv) clock() time.Time {
	if env.now != nil {
		return env.now()
	}
	return time.Now()
}
