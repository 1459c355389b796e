package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/mtasts"
)

var checkNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// checkWorld is a loopback world with three domains:
// good.test (healthy), warn.test (no _smtp._tls record: a warning for an
// unconfigured domain) and bad.test (id mismatch, MX outside the policy).
type checkWorld struct {
	w      *checktest.World
	caFile string
	base   checker.Config
}

func newCheckWorld(t *testing.T) *checkWorld {
	t.Helper()
	w := checktest.NewWorld(t, checkNow)
	for _, d := range []string{"good.test", "warn.test", "bad.test"} {
		p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx." + d + "\nmax_age: 604800\n"))
		if err != nil {
			t.Fatal(err)
		}
		dom := checktest.Domain{Name: d, Policy: p.String(), ID: p.ID(), MX: []string{"mx." + d},
			TLSRPT: "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"}
		switch d {
		case "warn.test":
			dom.TLSRPT = ""
		case "bad.test":
			dom.ID = "stale1"
		}
		w.Serve(t, dom)
	}
	w.DNS.Add("bad.test. MX 20 mail.elsewhere.test.")
	return &checkWorld{w: w, caFile: writeFile(t, "ca.pem", w.CA.PEM),
		base: checker.Config{HTTPSPort: w.HTTPS.Port, SMTPPort: w.SMTP.Port, Now: func() time.Time { return checkNow }}}
}

func (cw *checkWorld) run(t *testing.T, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, isTerminal: terminal}
	args = append([]string{"--resolver", cw.w.DNS.Addr, "--ca-file", cw.caFile, "--timeout", "3s"}, args...)
	code = runCheckWith(context.Background(), args, env, cw.base)
	return code, out.String(), errb.String()
}

func TestCheckUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check"}, exitUsage, "expected DOMAIN arguments, or --config FILE"},
		{[]string{"check", "--help"}, exitOK, "usage: ststack check"},
		{[]string{"check", "--timeout", "0s", "example.com"}, exitUsage, "--timeout must be positive"},
		{[]string{"check", "--concurrency", "0", "example.com"}, exitUsage, "--concurrency must be 1 to 256"},
		{[]string{"check", "--rua-https", "https://r.example/", "example.com"}, exitUsage, "--rua-https needs --config"},
		{[]string{"check", "--bogus", "example.com"}, exitUsage, "flag provided but not defined"},
		{[]string{"check", "--resolver", "nope", "example.com"}, exitInvalid, `resolver "nope"`},
		{[]string{"check", "--ca-file", "/nonexistent/ca.pem", "example.com"}, exitInvalid, "--ca-file /nonexistent/ca.pem"},
		{[]string{"check", "--config", "/nonexistent/org.yaml"}, exitInvalid, "/nonexistent/org.yaml"},
	} {
		code, out, errs := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("ststack %q = %d\nstdout: %s\nstderr: %s\nwant %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	code, _, errs := runCLI(t, "", "check", "--ca-file", writeFile(t, "x.pem", []byte("not pem")), "example.com")
	if code != exitInvalid || !strings.Contains(errs, "no PEM certificate") {
		t.Errorf("non-PEM --ca-file: %d %s", code, errs)
	}
}

func TestCheckTable(t *testing.T) {
	cw := newCheckWorld(t)
	code, out, errs := cw.run(t, false, "good.test", "warn.test", "bad.test", "GOOD.test.")
	if code != exitInvalid {
		t.Errorf("exit %d, want 1 (errors found)", code)
	}
	if errs != "" {
		t.Errorf("stderr %q, want nothing when not a terminal", errs)
	}
	for _, want := range []string{
		"DOMAIN", "SEVERITY", "CODE", "MESSAGE",
		"good.test  ok", "all checks pass (mode enforce)",
		"warn.test  warning   tlsrpt-record-missing",
		"bad.test   error     mx-not-covered",
		"fix: add mx: mail.elsewhere.test",
		"3 domains checked: 1 with errors, 1 with warnings only, 1 without either (1 error, 1 warning)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --config the id is not compared: bad.test has one error.
	if strings.Contains(out, "sts-id-mismatch") {
		t.Errorf("id compared without --config:\n%s", out)
	}
	// A U-label is checked as its A-label; a name that is not one is a finding.
	code, out, _ = cw.run(t, false, "bücher.test", "not a domain")
	if code != exitInvalid || !strings.Contains(out, "xn--bcher-kva.test  error     domain-nxdomain") ||
		!strings.Contains(out, "domain-invalid") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// Warnings only: exit 0.
	if code, out, _ := cw.run(t, false, "warn.test"); code != exitOK {
		t.Errorf("warnings only: exit %d\n%s", code, out)
	}
}

func TestCheckJSON(t *testing.T) {
	cw := newCheckWorld(t)
	code, out, _ := cw.run(t, false, "--json", "good.test", "bad.test")
	if code != exitInvalid {
		t.Errorf("exit %d, want 1", code)
	}
	var got struct {
		Results []struct {
			Domain    string    `json:"domain"`
			CheckedAt time.Time `json:"checked_at"`
			Mode      string    `json:"mode"`
			Findings  []struct {
				Severity, Code, Subject, Message, Remedy string
			} `json:"findings"`
			Certificate *struct {
				Host      string    `json:"host"`
				NotBefore time.Time `json:"not_before"`
				NotAfter  time.Time `json:"not_after"`
			} `json:"certificate"`
		} `json:"results"`
		Errors   *int `json:"errors"`
		Warnings *int `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got.Results) != 2 || got.Errors == nil || *got.Errors != 1 || got.Warnings == nil || *got.Warnings != 0 {
		t.Fatalf("JSON %s", out)
	}
	r0, r1 := got.Results[0], got.Results[1]
	if r0.Domain != "good.test" || len(r0.Findings) != 0 || r0.Mode != "enforce" || !r0.CheckedAt.Equal(checkNow) {
		t.Errorf("good.test: %+v", r0)
	}
	// checktest.World.Serve issues the policy host's certificate for 90 days
	// from a month before the check.
	if c := r0.Certificate; c == nil || c.Host != "mta-sts.good.test" ||
		!c.NotBefore.Equal(checkNow.AddDate(0, -1, 0)) || !c.NotAfter.Equal(checkNow.AddDate(0, 0, 90)) {
		t.Errorf("good.test certificate %+v", c)
	}
	if r1.Domain != "bad.test" || len(r1.Findings) != 1 {
		t.Fatalf("bad.test: %+v", r1)
	}
	f := r1.Findings[0]
	if f.Severity != "error" || f.Code != "mx-not-covered" || f.Subject != "mail.elsewhere.test" || f.Message == "" || f.Remedy == "" {
		t.Errorf("finding %+v", f)
	}
	if !strings.Contains(out, `"findings": []`) {
		t.Errorf("a domain without findings must have an empty list, not null:\n%s", out)
	}
}

func TestCheckConfig(t *testing.T) {
	cw := newCheckWorld(t)
	org := writeFile(t, "org.yaml", []byte(`organization: Acme
region: eu-west-1
domains:
  - name: good.test
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.good.test]}
  - name: bad.test
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.bad.test]}
reporting: {https: true, mailto: tlsrpt@reports.test}
`))
	// All configured domains: bad.test's id is now compared.
	code, out, _ := cw.run(t, false, "--config", org)
	if code != exitInvalid || !strings.Contains(out, "bad.test   error     sts-id-mismatch") || !strings.Contains(out, "good.test  ok") ||
		strings.Contains(out, "warn.test") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// --rua-https: good.test's record lacks the https endpoint.
	code, out, _ = cw.run(t, false, "--config", org, "--rua-https", "https://r.reports.test/v1", "good.test", "warn.test")
	if code != exitInvalid || !strings.Contains(out, "tlsrpt-rua-missing-endpoint") ||
		!strings.Contains(out, "warn.test  warning") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// reporting.domain makes the https rua known without --rua-https:
	// good.test's record lacks it.
	custom := writeFile(t, "custom.yaml", []byte(`organization: Acme
region: eu-west-1
domains:
  - name: good.test
    dns: {route53: {hosted_zone_id: Z0123456789ABCDEFGHIJ, zone_name: good.test}}
    policy: {mode: enforce, mx: [mx.good.test]}
reporting: {https: true, domain: tlsrpt.good.test, mailto: tlsrpt@reports.test}
`))
	code, out, _ = cw.run(t, false, "--config", custom)
	if code != exitInvalid || !strings.Contains(out, "tlsrpt-rua-missing-endpoint") || !strings.Contains(out, "https://tlsrpt.good.test/v1/tlsrpt") {
		t.Errorf("reporting.domain: exit %d:\n%s", code, out)
	}
	// A bad organisation file names file and line.
	bad := writeFile(t, "bad.yaml", []byte("organization: Acme\nregion: eu-west-1\ndomains: 7\n"))
	code, _, errs := cw.run(t, false, "--config", bad)
	if code != exitInvalid || !strings.Contains(errs, filepath.Base(bad)+":3") {
		t.Errorf("bad config: exit %d, stderr %s", code, errs)
	}
}

func TestCheckSMTPAndProgress(t *testing.T) {
	cw := newCheckWorld(t)
	cw.w.SMTP.SetCert("mx.good.test", checktest.SelfSigned(t, checkNow.AddDate(0, -1, 0), checkNow.AddDate(0, 2, 0), "mx.good.test"), 0)
	code, out, errs := cw.run(t, true, "--smtp", "good.test", "warn.test")
	if code != exitInvalid || !strings.Contains(out, "smtp-cert-untrusted") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(errs, "checked 2 of 2 domains") {
		t.Errorf("no progress on a terminal: %q", errs)
	}
	// Without --smtp the MX host is not probed.
	if code, out, _ := cw.run(t, false, "good.test"); code != exitOK || strings.Contains(out, "smtp-") {
		t.Errorf("without --smtp: exit %d\n%s", code, out)
	}
	// The DNS server failing is a finding, not a crash.
	cw.w.DNS.SetRcode("good.test", dns.RcodeServerFailure)
	if code, out, _ := cw.run(t, false, "good.test"); code != exitInvalid || !strings.Contains(out, "dns-error") {
		t.Errorf("SERVFAIL: exit %d\n%s", code, out)
	}
}
