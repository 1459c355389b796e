package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// reportJSON is the stable --json form of a parsed report. Field names are
// documented in README.md (CLI reference) and must not change.
type reportJSON struct {
	Organization string       `json:"organization"`
	ReportID     string       `json:"report_id"`
	ContactInfo  string       `json:"contact_info,omitempty"`
	Start        time.Time    `json:"start"`
	End          time.Time    `json:"end"`
	Policies     []policyJSON `json:"policies"`
	Quirks       []string     `json:"quirks,omitempty"`
}

type policyJSON struct {
	Type          string        `json:"type"`
	Domain        string        `json:"domain"`
	PolicyStrings []string      `json:"policy_strings,omitempty"`
	MXHosts       []string      `json:"mx_hosts,omitempty"`
	Success       int64         `json:"success"`
	Failure       int64         `json:"failure"`
	Failures      []failureJSON `json:"failures"`
}

type failureJSON struct {
	ResultType          string `json:"result_type"`
	Count               int64  `json:"count"`
	SendingMTAIP        string `json:"sending_mta_ip,omitempty"`
	ReceivingIP         string `json:"receiving_ip,omitempty"`
	ReceivingMXHostname string `json:"receiving_mx_hostname,omitempty"`
	ReceivingMXHelo     string `json:"receiving_mx_helo,omitempty"`
	ReasonCode          string `json:"reason_code,omitempty"`
	AdditionalInfo      string `json:"additional_info,omitempty"`
}

func newReportJSON(r *tlsrpt.Report) reportJSON {
	out := reportJSON{
		Organization: r.OrganizationName, ReportID: r.ReportID, ContactInfo: r.ContactInfo,
		Start: r.Start, End: r.End, Policies: []policyJSON{}, Quirks: r.Quirks,
	}
	for _, p := range r.Policies {
		pj := policyJSON{
			Type: string(p.Type), Domain: p.Domain, PolicyStrings: p.PolicyStrings, MXHosts: p.MXHosts,
			Success: p.Success, Failure: p.Failure, Failures: []failureJSON{},
		}
		for _, f := range p.Failures {
			pj.Failures = append(pj.Failures, failureJSON{
				ResultType: string(f.ResultType), Count: f.Count, SendingMTAIP: f.SendingMTAIP,
				ReceivingIP: f.ReceivingIP, ReceivingMXHostname: f.ReceivingMXHostname,
				ReceivingMXHelo: f.ReceivingMXHelo, ReasonCode: f.ReasonCode, AdditionalInfo: f.AdditionalInfo,
			})
		}
		out.Policies = append(out.Policies, pj)
	}
	return out
}

// parseReportInput detects what data is — a gzip or JSON report, or a whole
// e-mail carrying one — and parses the report.
func parseReportInput(data []byte) (*tlsrpt.Report, error) {
	lim := tlsrpt.DefaultLimits()
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) || bytes.HasPrefix(trimmed, []byte("{")) {
		return tlsrpt.ParseReport(data, lim)
	}
	body, err := tlsrpt.ExtractFromMessage(data, lim)
	if err != nil {
		return nil, err
	}
	return tlsrpt.ParseReport(body, lim)
}

// runReport implements `ststack report parse FILE|-`.
func runReport(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "report parse", "[--json] FILE|-",
		`Parses an SMTP TLS report (RFC 8460 §4): JSON, gzip, or a whole report
e-mail (detected from the content), and prints its normalised form.`)
	asJSON := fs.Bool("json", false, "print the report as JSON (stable field names, see README)")
	// --- report ingest (report_ingest.go) ---
	if len(args) > 0 && args[0] == "ingest" {
		return runReportIngest(ctx, args[1:], env)
	}
	if len(args) > 0 && args[0] == "export" { // report_export.go (issue 18 §4)
		return runReportExport(ctx, args[1:], env)
	}
	// --- end report ingest ---
	pos, code := parseSubcommand(fs, args, env, "parse", "'parse' (or 'ingest', 'export')")
	if code >= 0 {
		return code
	}
	name, data, code := readOneInput(fs, pos, env)
	if code >= 0 {
		return code
	}
	r, err := parseReportInput(data)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack report parse: %s: %v\n", name, err)
		return exitInvalid
	}
	out := newReportJSON(r)
	if *asJSON {
		if err := writeJSON(env.stdout, out); err != nil {
			return exitInvalid
		}
		return exitOK
	}
	w := env.stdout
	fmt.Fprintf(w, "organization: %s\nreport-id:    %s\n", out.Organization, out.ReportID)
	if out.ContactInfo != "" {
		fmt.Fprintf(w, "contact:      %s\n", out.ContactInfo)
	}
	fmt.Fprintf(w, "range:        %s – %s\n", out.Start.Format(time.RFC3339), out.End.Format(time.RFC3339))
	for _, p := range out.Policies {
		domain := p.Domain
		if domain == "" {
			domain = "(no policy-domain)"
		}
		typ := p.Type
		if typ == "" {
			typ = "(no policy-type)"
		}
		fmt.Fprintf(w, "\npolicy %s for %s: %d successful, %d failed sessions\n", typ, domain, p.Success, p.Failure)
		if len(p.MXHosts) > 0 {
			fmt.Fprintf(w, "  mx-host: %s\n", strings.Join(p.MXHosts, ", "))
		}
		for _, f := range p.Failures {
			fmt.Fprintf(w, "  %6d  %s", f.Count, f.ResultType)
			for _, kv := range [][2]string{{"mx", f.ReceivingMXHostname}, {"receiving-ip", f.ReceivingIP},
				{"sending-ip", f.SendingMTAIP}, {"reason", f.ReasonCode}} {
				if kv[1] != "" {
					fmt.Fprintf(w, "  %s=%s", kv[0], kv[1])
				}
			}
			fmt.Fprintln(w)
		}
	}
	for _, q := range out.Quirks {
		fmt.Fprintf(w, "\nnote: %s", q)
	}
	if len(out.Quirks) > 0 {
		fmt.Fprintln(w)
	}
	return exitOK
}
