package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dnsname"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/ingest"
)

const checkDoc = `Checks live domains as a sending mail server sees them (RFC 8461, RFC 8460):
the _mta-sts TXT record, the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
and its certificate, MX hosts against the policy's mx patterns, and the
_smtp._tls TXT record; with --smtp also STARTTLS on port 25 of every MX host.
Works for any domain. With --config, the domains are compared with the
organisation file too (policy, record id, rua); without DOMAIN arguments all
configured domains are checked.

Exit status: 0 no errors (warnings allowed), 1 errors found or invalid input,
2 usage error.`

// checkOutput is the stable --json form of a check: field names are
// documented in docs/checker.md and must not change.
type checkOutput struct {
	Results  []health.Result `json:"results"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
}

// runCheck implements `ststack check`.
func runCheck(ctx context.Context, args []string, env *cliEnv) int {
	return runCheckWith(ctx, args, env, checker.Config{})
}

// runCheckWith is runCheck on top of base, whose fields no flag sets (ports,
// clock) stay as given: tests point them at loopback fixtures.
func runCheckWith(ctx context.Context, args []string, env *cliEnv, base checker.Config) int {
	fs := newFlagSet(env, "check",
		"[--config FILE] [--json] [--smtp] [--resolver HOST:PORT] [--ca-file PEM] [--timeout D] [--concurrency N] [--rua-https URL] [DOMAIN…]",
		checkDoc)
	configPath := fs.String("config", "", "organisation `FILE`: compare with the configured policies and records")
	asJSON := fs.Bool("json", false, "print the results as JSON (stable field names, see docs/checker.md)")
	smtpProbe := fs.Bool("smtp", false, "also probe STARTTLS on port 25 of every MX host")
	resolver := fs.String("resolver", "", "ask the DNS server at `HOST:PORT` instead of the system's (like dig @server)")
	caFile := fs.String("ca-file", "", "also trust the CA certificates in `PEM` (private PKI)")
	timeout := fs.Duration("timeout", checker.DefaultTimeout, "bound for each network operation (DNS query, policy fetch, SMTP probe)")
	concurrency := fs.Int("concurrency", checker.DefaultConcurrency, "domains checked at once, 1 to 256")
	ruaHTTPS := fs.String("rua-https", "", "with --config: the deployment's https rua `URL`, required in _smtp._tls")
	domains, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	switch {
	case *timeout <= 0:
		return usageError(fs, env, "--timeout must be positive, not %v", *timeout)
	case *concurrency < 1 || *concurrency > 256:
		return usageError(fs, env, "--concurrency must be 1 to 256, not %d", *concurrency)
	case len(domains) == 0 && *configPath == "":
		return usageError(fs, env, "expected DOMAIN arguments, or --config FILE")
	case *ruaHTTPS != "" && *configPath == "":
		return usageError(fs, env, "--rua-https needs --config")
	}

	var targets []checker.Target
	if *configPath != "" {
		cfg, err := config.Load(*configPath)
		if err != nil {
			fmt.Fprintf(env.stderr, "ststack check: %v\n", err)
			return exitInvalid
		}
		if *ruaHTTPS == "" && cfg.Reporting.Domain != "" {
			// The stack publishes the custom domain's endpoint.
			*ruaHTTPS = "https://" + cfg.Reporting.Domain + ingest.Path
		}
		targets = selectTargets(checker.TargetsFromConfig(cfg, *ruaHTTPS), cfg, domains)
	} else {
		targets = selectTargets(nil, nil, domains)
	}

	cc := base
	cc.Resolver = *resolver
	cc.SMTPProbe = *smtpProbe
	cc.Timeout = *timeout
	cc.Concurrency = *concurrency
	if *caFile != "" {
		pool, err := loadRoots(*caFile, base.RootCAs)
		if err != nil {
			fmt.Fprintf(env.stderr, "ststack check: --ca-file %s: %v\n", *caFile, err)
			return exitInvalid
		}
		cc.RootCAs = pool
	}
	c, err := checker.New(cc)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack check: %v\n", err)
		return exitInvalid
	}

	var progress func(done, total int)
	if env.isTerminal && len(targets) > 1 {
		progress = func(done, total int) {
			fmt.Fprintf(env.stderr, "\rchecked %d of %d domains", done, total)
			if done == total {
				fmt.Fprint(env.stderr, "\r\033[K")
			}
		}
	}
	results := c.CheckAll(ctx, targets, progress)
	if ctx.Err() != nil {
		fmt.Fprintln(env.stderr, "ststack check: interrupted")
		return exitInvalid
	}
	out := checkOutput{Results: results}
	for _, r := range results {
		out.Errors += r.Count(health.SeverityError)
		out.Warnings += r.Count(health.SeverityWarning)
	}
	if *asJSON {
		if err := writeJSON(env.stdout, out); err != nil {
			return exitInvalid
		}
	} else {
		printResults(env.stdout, out)
	}
	if out.Errors > 0 {
		return exitInvalid
	}
	return exitOK
}

// selectTargets returns the targets for the DOMAIN arguments: a configured
// domain with its configuration, any other bare; without arguments, all
// configured. Names are taken as A-labels (U-labels are converted);
// duplicates are dropped.
func selectTargets(configured []checker.Target, cfg *config.Config, domains []string) []checker.Target {
	if len(domains) == 0 {
		return configured
	}
	var ts []checker.Target
	seen := map[string]bool{}
	for _, d := range domains {
		// U-labels become A-labels; a name that does not convert is left
		// for the checker to refuse with a finding.
		if n, err := dnsname.Parse(d); err == nil {
			d = n.String()
		}
		t := checker.Target{Domain: d}
		if cfg != nil {
			if dom, ok := cfg.Domain(d); ok {
				for _, ct := range configured {
					if ct.Domain == dom.Name {
						t = ct
					}
				}
			}
		}
		key := strings.TrimSuffix(strings.ToLower(t.Domain), ".")
		if !seen[key] {
			seen[key] = true
			ts = append(ts, t)
		}
	}
	return ts
}

// loadRoots returns the system roots (or base, when set) plus the
// certificates of the PEM file at path.
func loadRoots(path string, base *x509.CertPool) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := base
	if pool == nil {
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
	} else {
		pool = pool.Clone()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return pool, nil
}

// printResults writes the human-readable table: one row per finding (its
// remedy on the row below), one row for a domain without findings, and a
// summary line.
func printResults(w io.Writer, out checkOutput) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSEVERITY\tCODE\tMESSAGE")
	var withErrors, withWarnings int
	for _, r := range out.Results {
		if len(r.Findings) == 0 {
			mode := ""
			if r.Mode != "" {
				mode = " (mode " + string(r.Mode) + ")"
			}
			fmt.Fprintf(tw, "%s\tok\t-\tall checks pass%s\n", r.Domain, mode)
			continue
		}
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Domain, f.Severity, f.Code, f.Message)
			if f.Remedy != "" {
				fmt.Fprintf(tw, "\t\t\tfix: %s\n", f.Remedy)
			}
		}
		switch {
		case r.Count(health.SeverityError) > 0:
			withErrors++
		case r.Count(health.SeverityWarning) > 0:
			withWarnings++
		}
	}
	tw.Flush()
	n := len(out.Results)
	fmt.Fprintf(w, "\n%s checked: %d with errors, %d with warnings only, %d without either (%s, %s)\n",
		plural(n, "domain"), withErrors, withWarnings, n-withErrors-withWarnings,
		plural(out.Errors, "error"), plural(out.Warnings, "warning"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
