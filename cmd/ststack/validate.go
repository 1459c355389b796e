package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// problemJSON is one error or warning in --json output.
type problemJSON struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// runPolicy implements `ststack policy validate FILE|-`.
func runPolicy(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "policy validate", "[--json] FILE|-",
		"Validates an MTA-STS policy file (RFC 8461 §3.2) and prints its errors and warnings.")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, code := parseSubcommand(fs, args, env, "validate", "'validate'")
	if code >= 0 {
		return code
	}
	name, data, code := readOneInput(fs, pos, env)
	if code >= 0 {
		return code
	}

	type policyJSON struct {
		Version string   `json:"version"`
		Mode    string   `json:"mode"`
		MaxAge  int      `json:"max_age"`
		MX      []string `json:"mx"`
		ID      string   `json:"id"`
	}
	out := struct {
		File     string        `json:"file"`
		Valid    bool          `json:"valid"`
		Errors   []problemJSON `json:"errors"`
		Warnings []problemJSON `json:"warnings"`
		Policy   *policyJSON   `json:"policy,omitempty"`
	}{File: name, Errors: []problemJSON{}, Warnings: []problemJSON{}}

	p, err := mtasts.ParsePolicy(data)
	if err != nil {
		out.Errors = append(out.Errors, problemJSON{Message: err.Error()})
	} else {
		for _, pr := range p.Problems() {
			pj := problemJSON{Field: pr.Field, Message: pr.Message}
			if pr.Severity == mtasts.SeverityError {
				out.Errors = append(out.Errors, pj)
			} else {
				out.Warnings = append(out.Warnings, pj)
			}
		}
		pj := &policyJSON{Version: p.Version, Mode: string(p.Mode), MaxAge: p.MaxAge, MX: []string{}, ID: p.ID()}
		for _, mx := range p.MX {
			pj.MX = append(pj.MX, mx.String())
		}
		out.Policy = pj
	}
	out.Valid = len(out.Errors) == 0

	if *asJSON {
		if err := writeJSON(env.stdout, out); err != nil {
			return exitInvalid
		}
	} else {
		for _, e := range out.Errors {
			fmt.Fprintf(env.stdout, "%s: error: %s\n", name, joinField(e))
		}
		for _, w := range out.Warnings {
			fmt.Fprintf(env.stdout, "%s: warning: %s\n", name, joinField(w))
		}
		if out.Valid {
			fmt.Fprintf(env.stdout, "%s: valid policy: mode %s, max_age %d, mx %s (id %s)\n",
				name, out.Policy.Mode, out.Policy.MaxAge, strings.Join(out.Policy.MX, " "), out.Policy.ID)
		}
	}
	if !out.Valid {
		return exitInvalid
	}
	return exitOK
}

func joinField(p problemJSON) string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// runRecord implements `ststack record validate [--kind sts|tlsrpt] 'TXT'`.
func runRecord(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "record validate", "[--kind sts|tlsrpt] [--json] 'TXT'",
		`Validates the value of an _mta-sts TXT record (RFC 8461 §3.1) or an
_smtp._tls TXT record (RFC 8460 §3). Without --kind, the kind is taken from
the record's v= tag.`)
	kind := fs.String("kind", "", "sts (_mta-sts) or tlsrpt (_smtp._tls); default: from the v= tag")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, code := parseSubcommand(fs, args, env, "validate", "'validate'")
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return usageError(fs, env, "expected one TXT value (quote it)")
	}
	txt := pos[0]
	k := *kind
	if k == "" {
		switch v := strings.TrimSpace(txt); {
		case strings.HasPrefix(v, "v=STSv1"):
			k = "sts"
		case strings.HasPrefix(v, "v=TLSRPTv1"):
			k = "tlsrpt"
		default:
			return usageError(fs, env, "cannot tell the kind from the record (it does not start with v=STSv1 or v=TLSRPTv1); give --kind")
		}
	}

	out := struct {
		Kind   string   `json:"kind"`
		Valid  bool     `json:"valid"`
		Error  string   `json:"error,omitempty"`
		Record string   `json:"record,omitempty"`
		ID     string   `json:"id,omitempty"`
		RUA    []string `json:"rua,omitempty"`
	}{Kind: k}
	switch k {
	case "sts":
		r, err := mtasts.ParseRecord(txt)
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Valid, out.Record, out.ID = true, r.String(), r.ID
		}
	case "tlsrpt":
		r, err := tlsrpt.ParseRecord(txt)
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Valid, out.Record = true, r.String()
			for _, u := range r.RUA {
				out.RUA = append(out.RUA, u.String())
			}
		}
	default:
		return usageError(fs, env, "--kind must be sts or tlsrpt, not %q", k)
	}

	if *asJSON {
		_ = writeJSON(env.stdout, out)
	} else if out.Valid {
		fmt.Fprintf(env.stdout, "valid %s record: %s\n", k, out.Record)
	} else {
		fmt.Fprintf(env.stdout, "invalid %s record: %s\n", k, out.Error)
	}
	if !out.Valid {
		return exitInvalid
	}
	return exitOK
}

// runConfig implements `ststack config validate FILE`.
func runConfig(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "config validate", "[--json] [--deployed OUTPUTS.json] [--at TIME] FILE",
		`Validates the organisation file and prints, for every domain, the policy id
and the DNS records ststack publishes (or that you create, for external DNS).
With --deployed, it also compares the file with the deployed stack, whose
outputs OUTPUTS.json holds (aws cloudformation describe-stacks --region
us-east-1 > OUTPUTS.json: the domains' outputs are in the edge stack's
shards), and refuses removing a
domain before senders' cached copies of its policy have expired (RFC 8461
§8.3; see retire: in docs/config.md).`)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	deployedPath := fs.String("deployed", "", "the deployed stack's outputs (JSON) to compare the file with")
	at := fs.String("at", "", "judge retirements at this time (RFC 3339, such as 2026-12-21T00:00:00Z) instead of now")
	pos, code := parseSubcommand(fs, args, env, "validate", "'validate'")
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return usageError(fs, env, "expected one FILE")
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError(fs, env, "--at %q is not an RFC 3339 time such as 2026-12-21T00:00:00Z", *at)
		}
		now = t
	}

	type domainJSON struct {
		Name      string `json:"name"`
		Mode      string `json:"mode"`
		PolicyID  string `json:"policy_id"`
		STSRecord string `json:"sts_record"`
		DNS       string `json:"dns"`
		// Retiring: RFC 3339 time after which the domain may be removed.
		RemovableAfter string `json:"removable_after,omitempty"`
		// Delegated: the CNAMEs the client creates once, and the CAs a
		// CAA record of the client must allow.
		ClientRecords []clientRecordJSON `json:"client_records,omitempty"`
		CAAIssuers    []string           `json:"caa_issuers,omitempty"`
	}
	out := struct {
		File         string       `json:"file"`
		Valid        bool         `json:"valid"`
		Errors       []string     `json:"errors"`
		Warnings     []string     `json:"warnings"`
		Organization string       `json:"organization,omitempty"`
		StackName    string       `json:"stack_name,omitempty"`
		Domains      []domainJSON `json:"domains,omitempty"`
		TLSRPT       string       `json:"tlsrpt_record,omitempty"`
	}{File: pos[0], Errors: []string{}, Warnings: []string{}}

	cfg, err := config.Load(pos[0])
	var limitWarns []config.Warning
	if err == nil {
		// AWS's limits for this many domains and these features (issue
		// 16): refused here, not halfway through a deployment.
		limitWarns, err = cfg.CheckLimits()
	}
	if err != nil {
		out.Errors = splitJoined(err)
	} else {
		out.Valid = true
		out.Organization, out.StackName = cfg.Organization, cfg.StackName()
		for _, w := range append(cfg.Warnings(), limitWarns...) {
			out.Warnings = append(out.Warnings, w.String())
		}
		for _, d := range cfg.Domains {
			dns := "route53 " + d.DNS.HostedZoneID
			switch {
			case d.DNS.External:
				dns = "external"
			case d.DNS.Delegated:
				dns = "delegated"
			}
			dj := domainJSON{
				Name: d.Name, Mode: string(d.Policy.Mode), PolicyID: d.Policy.ID(),
				STSRecord: d.STSRecord().String(), DNS: dns,
			}
			if del, ok := cfg.Delegated(d); ok {
				for _, r := range del.Records() {
					dj.ClientRecords = append(dj.ClientRecords, clientRecordJSON{Name: r.Name, Type: "CNAME", Value: r.Target})
				}
				dj.CAAIssuers = config.AmazonCAAIssuers()
			}
			if d.Retiring() {
				dj.RemovableAfter = d.Retire.RemovableAfter().UTC().Format(time.RFC3339)
			}
			out.Domains = append(out.Domains, dj)
		}
		endpoint := "https://<report endpoint>" + ingest.Path
		if cfg.Reporting.Domain != "" {
			endpoint = "https://" + cfg.Reporting.Domain + ingest.Path // as the stack publishes it
		}
		out.TLSRPT = cfg.TLSRPTRecord(endpoint).String()
		if *deployedPath != "" {
			if errs := checkDeployed(cfg, *deployedPath, now); len(errs) > 0 {
				out.Valid = false
				out.Errors = append(out.Errors, errs...)
			}
		}
	}

	if *asJSON {
		_ = writeJSON(env.stdout, out)
	} else {
		for _, e := range out.Errors {
			fmt.Fprintf(env.stdout, "error: %s\n", e)
		}
		for _, w := range out.Warnings {
			fmt.Fprintf(env.stdout, "warning: %s\n", w)
		}
		if out.Valid {
			fmt.Fprintf(env.stdout, "%s: valid; organisation %q, stack %s, %d domain(s)\n",
				out.File, out.Organization, out.StackName, len(out.Domains))
			for _, d := range out.Domains {
				fmt.Fprintf(env.stdout, "  %-30s %-8s %s  [%s]\n", d.Name, d.Mode, d.STSRecord, d.DNS)
				if d.RemovableAfter != "" {
					when := "may be removed after " + d.RemovableAfter
					if t, err := time.Parse(time.RFC3339, d.RemovableAfter); err == nil && !now.Before(t) {
						when = "the wait ended at " + d.RemovableAfter + "; it may be removed"
					}
					fmt.Fprintf(env.stdout, "  %-30s retiring: %s\n", "", when)
				}
				if len(d.ClientRecords) > 0 {
					fmt.Fprintf(env.stdout, "  %-30s the client creates these records once:\n", "")
					for _, r := range d.ClientRecords {
						fmt.Fprintf(env.stdout, "  %-30s   %s. %s %s.\n", "", r.Name, r.Type, r.Value)
					}
					fmt.Fprintf(env.stdout, "  %-30s a client that publishes CAA records must allow Amazon to issue for %s:\n", "", d.ClientRecords[0].Name)
					fmt.Fprintf(env.stdout, "  %-30s   CAA 0 issue \"%s\" (or %s)\n", "", d.CAAIssuers[0], strings.Join(d.CAAIssuers[1:], ", "))
				}
			}
			fmt.Fprintf(env.stdout, "  _smtp._tls: %s\n", out.TLSRPT)
		}
	}
	if !out.Valid {
		return exitInvalid
	}
	return exitOK
}

// clientRecordJSON is one DNS record a client creates for a delegated
// domain.
type clientRecordJSON struct {
	Name  string `json:"name"`  // owner, no trailing dot
	Type  string `json:"type"`  // CNAME
	Value string `json:"value"` // target, no trailing dot
}

// checkDeployed compares cfg with the deployed stack whose outputs are in
// path, at now; it returns one message per problem.
func checkDeployed(cfg *config.Config, path string, now time.Time) []string {
	data, err := readDeployed(path)
	if err != nil {
		return []string{err.Error()}
	}
	dep, err := config.ReadDeployed(data, path, cfg.StackName())
	if err != nil {
		return splitJoined(err)
	}
	if err := cfg.CheckDeployed(dep, now); err != nil {
		return splitJoined(err)
	}
	return nil
}

// readDeployed reads at most config.MaxDeployedSize+1 bytes of path, so
// that an oversized file is refused as such.
func readDeployed(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, config.MaxDeployedSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// splitJoined flattens the errors.Join tree config.Load returns into one
// message per *config.Error.
func splitJoined(err error) []string {
	var msgs []string
	var walk func(error)
	walk = func(e error) {
		if _, ok := e.(*config.Error); ok {
			msgs = append(msgs, e.Error())
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		msgs = append(msgs, e.Error())
	}
	walk(err)
	return msgs
}
