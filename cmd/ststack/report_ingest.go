package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/mailin"
	"github.com/ststack/ststack/internal/store/embedded"
)

// ingestJSON is the stable --json form of what `report ingest` did with one
// file. Field names are documented in docs/email.md and must not change.
type ingestJSON struct {
	File    string    `json:"file"`
	Outcome string    `json:"outcome"` // stored, duplicate, dropped, not-report, refused, error
	Reason  string    `json:"reason,omitempty"`
	Report  string    `json:"report,omitempty"` // the report's identity key
	Domains []string  `json:"domains,omitempty"`
	DKIM    *dkimJSON `json:"dkim,omitempty"`
	// Provenance: email-aligned or email-unaligned, once the report was
	// parsed (docs/email.md).
	Provenance string `json:"provenance,omitempty"`
}

type dkimJSON struct {
	Result string `json:"result"` // pass, fail, none
	Domain string `json:"domain,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// runReportIngest implements `ststack report ingest FILE.eml…`.
func runReportIngest(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "report ingest", "[--data DIR] [--config FILE] [--resolver HOST:PORT] [--json] FILE.eml…",
		`Ingests TLS report e-mails (RFC 8460 §5.3), one message per file (- for
standard input), into the embedded store of the data directory, as the
mailin function does in AWS: the report is extracted, the message's DKIM
signature verified (the verdict is kept with the report; reporting.email.
drop_unsigned drops reports without a valid signature of their submitter),
and the report stored once, whatever channel brought it before.

The store is locked while 'ststack serve' runs on the same data directory;
drop the files into DIR/inbox/ instead, serve ingests them from there.
Exit status: 0 every file stored (or stored before), 1 otherwise.`)
	data := fs.String("data", ".ststack-data", "data `DIR`ectory of the embedded store (as ststack serve)")
	cfgPath := fs.String("config", "ststack.yaml", "the organisation `FILE` (its domains are the ones served)")
	resolver := fs.String("resolver", "", "ask this DNS server (`HOST:PORT`) for DKIM keys instead of the system's")
	asJSON := fs.Bool("json", false, "print one JSON object per file, in an array (stable field names, see docs/email.md)")
	verbose := fs.Bool("verbose", false, "log each message's processing to standard error")
	pos, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 {
		return usageError(fs, env, "expected at least one FILE.eml (or - for standard input)")
	}
	const cmd = "ststack report ingest"
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		for _, m := range splitJoined(err) {
			fmt.Fprintf(env.stderr, "%s: %s\n", cmd, m)
		}
		if strings.Contains(err.Error(), "no such file") && *cfgPath == "ststack.yaml" {
			fmt.Fprintf(env.stderr, "%s: give the organisation file with --config FILE\n", cmd)
		}
		return exitInvalid
	}
	lookup, err := dnsresolve.NewStd(*resolver)
	if err != nil {
		return usageError(fs, env, "--resolver: %v", err)
	}
	st, err := embedded.Open(*data)
	if err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", cmd, err)
		if strings.Contains(err.Error(), "in use by another process") {
			fmt.Fprintf(env.stderr, "%s: is 'ststack serve' running on %s? Stop it, or drop the files into %s where it ingests them\n",
				cmd, *data, filepath.Join(*data, "inbox"))
		}
		return exitInvalid
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	p, err := mailin.New(st, mailin.Options{Domains: cfg.DomainNames(), DropUnsigned: cfg.Reporting.Email.DropUnsigned,
		Resolver: lookup, Logger: logger})
	if err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", cmd, err)
		return exitInvalid
	}

	results := []ingestJSON{}
	status := exitOK
	for _, name := range pos {
		r := ingestFile(ctx, p, name, env)
		if r.Outcome != string(mailin.KindStored) && r.Outcome != string(mailin.KindDuplicate) {
			status = exitInvalid
		}
		results = append(results, r)
		if !*asJSON {
			printIngest(env, r)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if *asJSON {
		if err := writeJSON(env.stdout, results); err != nil {
			return exitInvalid
		}
	}
	return status
}

// ingestFile reads and processes one file.
func ingestFile(ctx context.Context, p *mailin.Processor, name string, env *cliEnv) ingestJSON {
	r := ingestJSON{File: displayName(name)}
	msg, err := readInput(name, env)
	if err != nil {
		r.Outcome, r.Reason = "error", err.Error()
		return r
	}
	out, err := p.Process(ctx, msg)
	if err != nil {
		r.Outcome, r.Reason = "error", err.Error()
		if errors.Is(err, mailin.ErrTemporary) {
			r.Reason += " (try again later)"
		}
		return r
	}
	r.Outcome, r.Reason, r.Report, r.Domains = string(out.Kind), out.Reason, out.Key, out.Domains
	r.Provenance = out.Provenance
	if out.DKIM != nil {
		r.DKIM = &dkimJSON{Result: out.DKIM.Result, Domain: out.DKIM.Domain, Reason: out.DKIM.Reason}
	}
	return r
}

// printIngest prints one file's result: on stdout when stored, on stderr
// (naming the file) otherwise.
func printIngest(env *cliEnv, r ingestJSON) {
	var dkim string
	if r.DKIM != nil {
		dkim = "DKIM " + r.DKIM.Result
		if r.DKIM.Domain != "" {
			dkim += " (" + r.DKIM.Domain + ")"
		}
		if r.DKIM.Reason != "" {
			dkim += ": " + r.DKIM.Reason
		}
	}
	switch r.Outcome {
	case string(mailin.KindStored), string(mailin.KindDuplicate):
		what := "stored"
		if r.Outcome == string(mailin.KindDuplicate) {
			what = "already stored"
		}
		fmt.Fprintf(env.stdout, "%s: %s report %s for %s; %s; provenance %s\n", r.File, what, r.Report,
			strings.Join(r.Domains, ", "), dkim, r.Provenance)
	default:
		fmt.Fprintf(env.stderr, "ststack report ingest: %s: %s: %s\n", r.File, r.Outcome, r.Reason)
	}
}

// startInbox makes `ststack serve` ingest the report e-mails dropped into
// <dataDir>/inbox/, polled every few seconds (processed files are moved to
// inbox/done/ or inbox/rejected/). It prints where the inbox is; the
// function it returns stops the polling and waits for it. Without an inbox
// (its folder cannot be made) serve goes on, with a warning. lookup fetches
// DKIM keys (nil: the system's resolver); m counts what is stored (nil:
// nothing).
func startInbox(ctx context.Context, cfg *config.Config, st *embedded.Store, m ingest.Metrics, dataDir string, lookup dnsresolve.Resolver,
	log *slog.Logger, env *cliEnv) func() {
	p, err := mailin.New(st, mailin.Options{Domains: cfg.DomainNames(), DropUnsigned: cfg.Reporting.Email.DropUnsigned,
		Resolver: lookup, Logger: log, Metrics: m})
	var box *mailin.Inbox
	if err == nil {
		box, err = mailin.NewInbox(filepath.Join(dataDir, "inbox"), p, log)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack serve: no e-mail inbox: %v\n", err)
		return func() {}
	}
	fmt.Fprintf(env.stdout, "Drop report e-mails (one message per file) into %s/: they are ingested, then moved to %s/ or %s/.\n\n",
		box.Dir(), mailin.DoneDir, mailin.RejectedDir)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { box.Run(ctx, mailin.DefaultPollInterval) })
	return func() {
		cancel()
		wg.Wait()
	}
}
