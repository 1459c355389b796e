package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const samples = "../../testdata/tlsrpt"

// runCLI runs ststack in-process with args and stdin, and returns the exit
// status and what it wrote.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code = run(context.Background(), args, env)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{nil, exitUsage, "usage: ststack"},
		{[]string{"--help"}, exitOK, "Commands:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"policy"}, exitUsage, "expected the subcommand 'validate'"},
		{[]string{"policy", "validate"}, exitUsage, "expected one FILE"},
		{[]string{"policy", "validate", "--help"}, exitOK, "usage: ststack policy validate"},
		{[]string{"policy", "validate", "--nope", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"record", "validate"}, exitUsage, "expected one TXT value"},
		{[]string{"record", "validate", "--kind", "dmarc", "v=STSv1; id=1"}, exitUsage, "--kind must be sts or tlsrpt"},
		{[]string{"record", "validate", "hello"}, exitUsage, "give --kind"},
		{[]string{"report", "parse"}, exitUsage, "expected one FILE"},
		{[]string{"report", "validate", "x"}, exitUsage, "expected the subcommand 'parse'"},
		{[]string{"config", "validate", "a", "b"}, exitUsage, "expected one FILE"},
		{[]string{"check", "--help"}, exitOK, "usage: ststack check"},
		{[]string{"serve", "--help"}, exitOK, "usage: ststack serve"},
		{[]string{"serve", "--bogus"}, exitUsage, "usage: ststack serve"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("ststack %q = %d\nstdout: %s\nstderr: %s\nwant %d and %q", c.args, code, out, errs, c.code, c.want)
		}
		if n := strings.Count(out+errs, "usage: ststack"); n > 1 {
			t.Errorf("ststack %q printed its usage %d times", c.args, n)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	good := "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.com\r\nmax_age: 1209600\r\n"
	cases := []struct {
		name, text string
		code       int
		want       string
	}{
		{"valid", good, exitOK, "valid policy: mode enforce, max_age 1209600, mx mx1.example.com *.mail.example.com"},
		{"valid LF with warning", "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 3600\n", exitOK, "warning: max_age"},
		{"no mx", "version: STSv1\nmode: enforce\nmax_age: 86400\n", exitInvalid, "error:"},
		{"bad version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 86400\n", exitInvalid, "version"},
		{"bad mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 86400\n", exitInvalid, "mode"},
		{"max_age too large", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", exitInvalid, "max_age"},
		{"bad wildcard", "version: STSv1\nmode: enforce\nmx: mx.*.example\nmax_age: 86400\n", exitInvalid, "mx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "policy.txt", []byte(c.text))
			code, out, errs := runCLI(t, "", "policy", "validate", p)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, c.code, out, errs, c.want)
			}
			if !strings.Contains(out, p) {
				t.Errorf("output does not name the file %s: %s", p, out)
			}
		})
	}
	t.Run("stdin and json", func(t *testing.T) {
		code, out, _ := runCLI(t, good, "policy", "validate", "-", "--json")
		var got struct {
			Valid  bool
			Policy struct {
				Mode   string
				MaxAge int `json:"max_age"`
				MX     []string
				ID     string
			}
		}
		if code != exitOK {
			t.Fatalf("code %d: %s", code, out)
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if !got.Valid || got.Policy.Mode != "enforce" || got.Policy.MaxAge != 1209600 || len(got.Policy.MX) != 2 || got.Policy.ID == "" {
			t.Errorf("unexpected JSON: %+v", got)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		code, _, errs := runCLI(t, "", "policy", "validate", filepath.Join(t.TempDir(), "nope.txt"))
		if code != exitInvalid || !strings.Contains(errs, "nope.txt") {
			t.Errorf("code %d, stderr %s", code, errs)
		}
	})
}

func TestRecordValidate(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"v=STSv1; id=20240101T000000"}, exitOK, "valid sts record: v=STSv1; id=20240101T000000"},
		{[]string{"--kind", "sts", "v=STSv1; id=abc;"}, exitOK, "valid sts record"},
		{[]string{"--kind", "sts", "v=STSv1; id=has-dash"}, exitInvalid, "invalid sts record"},
		{[]string{"--kind", "sts", "v=STSv1;"}, exitInvalid, "invalid sts record"},
		{[]string{"--kind", "sts", "id=abc; v=STSv1"}, exitInvalid, "invalid sts record"},
		{[]string{"v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/v1/tlsrpt"}, exitOK, "valid tlsrpt record"},
		{[]string{"--kind", "tlsrpt", "v=TLSRPTv1; rua=http://r.example.com/"}, exitInvalid, "invalid tlsrpt record"},
		{[]string{"--kind", "tlsrpt", "v=TLSRPTv1;"}, exitInvalid, "invalid tlsrpt record"},
		{[]string{"--kind", "tlsrpt", "v=TLSRPTv2; rua=mailto:a@example.com"}, exitInvalid, "invalid tlsrpt record"},
		{[]string{"--kind", "tlsrpt", "rua=mailto:a@example.com; v=TLSRPTv1"}, exitInvalid, "invalid tlsrpt record"},
		{[]string{"--kind", "tlsrpt", "v=TLSRPTv1; rua=ftp://r.example.com/"}, exitInvalid, "invalid tlsrpt record"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, "", append([]string{"record", "validate"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("record validate %q = %d\nstdout: %s\nstderr: %s\nwant %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	code, out, _ := runCLI(t, "", "record", "validate", "--json", "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x")
	var got struct {
		Kind  string
		Valid bool
		RUA   []string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK {
		t.Fatalf("code %d, %v: %s", code, err, out)
	}
	if got.Kind != "tlsrpt" || !got.Valid || len(got.RUA) != 2 || got.RUA[1] != "https://r.example.com/x" {
		t.Errorf("unexpected JSON %+v", got)
	}
}

func TestReportParseSamples(t *testing.T) {
	// The counts each sample states, read from the files themselves.
	cases := []struct {
		file             string
		org, id          string
		domain           string
		success, failure int64
		details          int
	}{
		{"google-2024-02.json", "Google Inc.", "2024-02-17T00:00:00Z_example.com", "example.com", 53, 0, 0},
		{"microsoft-2024-02.json", "Microsoft Corporation", "133526718584528772+example.com", "example.com", 18, 0, 0},
		{"microsoft-2024-03-no-timezone.json", "Microsoft Corporation", "133561180919336230+example.com", "example.com", 7, 0, 0},
		{"rfc8460-example.json", "Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", "company-y.example", 5326, 303, 3},
		{"mailru-fetch-error.json", "Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", "example.com", 0, 1, 2},
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join(samples, c.file))
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		for form, data := range map[string][]byte{"json": raw, "gzip": gz.Bytes()} {
			t.Run(c.file+"/"+form, func(t *testing.T) {
				code, out, errs := runCLI(t, string(data), "report", "parse", "--json", "-")
				if code != exitOK {
					t.Fatalf("code %d: %s", code, errs)
				}
				var r reportJSON
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatal(err)
				}
				if r.Organization != c.org || r.ReportID != c.id || len(r.Policies) != 1 {
					t.Fatalf("got %+v", r)
				}
				p := r.Policies[0]
				if p.Domain != c.domain || p.Type != "sts" || p.Success != c.success || p.Failure != c.failure || len(p.Failures) != c.details {
					t.Errorf("policy %+v", p)
				}
			})
		}
	}
}

// TestReportParseEveryRealReport: every file in testdata/tlsrpt (reports
// and whole e-mails from real senders, see its SOURCES.md) is accepted by
// `ststack report parse` with the session counts it states, policy by
// policy; a file added there without a row here fails.
func TestReportParseEveryRealReport(t *testing.T) {
	type pol struct {
		typ, domain      string
		success, failure int64
	}
	want := map[string]struct {
		org, id  string
		policies []pol
	}{
		"contact-null-2026-01.json":           {"server.com", "123_456", []pol{{"sts", "server.com", 1, 0}}},
		"google-2020-01-week.json":            {"Google Inc.", "2020-01-01T00:00:00Z_example.com", []pol{{"sts", "example.com", 23, 1}}},
		"google-2022-09.eml":                  {"Google Inc.", "2022-09-15T00:00:00Z_test.xmox.nl", []pol{{"sts", "test.xmox.nl", 3, 0}}},
		"google-2024-02.json":                 {"Google Inc.", "2024-02-17T00:00:00Z_example.com", []pol{{"sts", "example.com", 53, 0}}},
		"google-2024-09.eml":                  {"Google Inc.", "2024-09-03T00:00:00Z_cardinalhealth.ca", []pol{{"no-policy-found", "cardinalhealth.ca", 48, 0}}},
		"google-2025-03-no-policy-found.json": {"Google Inc.", "2025-03-27T00:00:00Z_foo-bar.io", []pol{{"no-policy-found", "foo-bar.io", 1, 0}}},
		"google-2026-02-failure.eml":          {"Google Inc.", "2026-02-08T00:00:00Z_example.com", []pol{{"sts", "example.com", 4523, 2}}},
		"google-2026-05.eml":                  {"Google Inc.", "2026-05-11T00:00:00Z_example.com", []pol{{"sts", "example.com", 1, 0}}},
		"microsoft-2026-05.eml":               {"Microsoft Corporation", "134232617934286362+example.com", []pol{{"sts", "example.com", 2, 0}}},
		"google-2025-05.json":                 {"Google Inc.", "2025-05-22T00:00:00Z_foo-bar.io", []pol{{"sts", "foo-bar.io", 1, 0}}},
		"mailru-fetch-error.json":             {"Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", []pol{{"sts", "example.com", 0, 1}}},
		"microsoft-2023.eml":                  {"Microsoft Corporation", "133198585438131172+test.xmox.nl", []pol{{"sts", "test.xmox.nl", 2, 0}}},
		"microsoft-2024-02.json":              {"Microsoft Corporation", "133526718584528772+example.com", []pol{{"sts", "example.com", 18, 0}}},
		"microsoft-2024-03-no-timezone.json":  {"Microsoft Corporation", "133561180919336230+example.com", []pol{{"sts", "example.com", 7, 0}}},
		"microsoft-2025-05-tlsa.json":         {"Microsoft Corporation", "133925885310113267+random.net", []pol{{"sts", "random.net", 2, 0}, {"tlsa", "random.net", 2, 0}}},
		"microsoft-2025-06-no-ip-no-mx.json":  {"Microsoft Corporation", "1234567890+", []pol{{"sts", "xxxxxxxx.xx", 0, 3}}},
		"parsedmarc-empty-detail-fields.json": {"Reporter Example", "2024-06-01T00:00:00Z_example.com", []pol{{"sts", "example.com", 0, 1}}},
		"parsedmarc-validation-failure.json":  {"Example Inc.", "2024-01-09T00:00:00Z_example.com", []pol{{"sts", "example.com", 0, 3}}},
		"rfc8460-example.json":                {"Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", []pol{{"sts", "company-y.example", 5326, 303}}},
		"tlsa-microsoft-shape.json":           {"Microsoft Corporation", "133529310241234567+example.com", []pol{{"sts", "example.com", 3, 0}, {"tlsa", "example.com", 42, 0}, {"tlsa", "example.com", 11, 4}}},
		"stalwart-company-x.json":             {"Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", []pol{{"sts", "company-y.example", 5326, 303}}},
		// No policy-domain: unattributed without a served domain to
		// give it; no total-failure-session-count: 0, its details' sum.
		"stalwart-no-policy-domain.json": {"Google Inc.", "2019-04-14T00:00:00Z_example.org", []pol{{"no-policy-found", "", 1, 0}, {"invalid-policy-type", "", 1, 0}}},
	}
	files, err := filepath.Glob(filepath.Join(samples, "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		name := filepath.Base(f)
		if name == "SOURCES.md" {
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected counts in this test", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", "report", "parse", "--json", f)
			if code != exitOK {
				t.Fatalf("code %d: %s", code, errs)
			}
			var r reportJSON
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Organization != w.org || r.ReportID != w.id || len(r.Policies) != len(w.policies) {
				t.Fatalf("got %s %s with %d policies, want %s %s with %d", r.Organization, r.ReportID, len(r.Policies), w.org, w.id, len(w.policies))
			}
			for i, p := range r.Policies {
				if got := (pol{p.Type, p.Domain, p.Success, p.Failure}); got != w.policies[i] {
					t.Errorf("policy %d: %+v, want %+v", i, got, w.policies[i])
				}
			}
		})
	}
	if seen != len(want) {
		t.Errorf("%d of the %d expected files found in %s", seen, len(want), samples)
	}
}

// TestReportParseUnattributed: a policy without policy-domain or
// policy-type says so in the text output instead of an empty word.
func TestReportParseUnattributed(t *testing.T) {
	code, out, errs := runCLI(t, "", "report", "parse", filepath.Join(samples, "stalwart-no-policy-domain.json"))
	if code != exitOK || !strings.Contains(out, "policy no-policy-found for (no policy-domain): 1 successful, 0 failed sessions") {
		t.Errorf("code %d\n%s\n%s", code, out, errs)
	}
	body := `{"organization-name":"o","report-id":"r","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},` +
		`"policies":[{"policy":{"policy-domain":"example.com"},"summary":{"total-successful-session-count":2,"total-failure-session-count":0}}]}`
	if code, out, errs := runCLI(t, body, "report", "parse", "-"); code != exitOK || !strings.Contains(out, "policy (no policy-type) for example.com: 2 successful") {
		t.Errorf("code %d\n%s\n%s", code, out, errs)
	}
}

func TestReportParseEmail(t *testing.T) {
	for _, f := range []string{"google-2024-09.eml", "microsoft-2023.eml"} {
		code, out, errs := runCLI(t, "", "report", "parse", filepath.Join(samples, f))
		if code != exitOK || !strings.Contains(out, "organization:") || !strings.Contains(out, "successful") {
			t.Errorf("%s: code %d\n%s\n%s", f, code, out, errs)
		}
	}
}

func TestReportParseInvalid(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"not json", "hello world", ""},
		{"array", `[1,2]`, ""},
		{"negative count", `{"organization-name":"x","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"report-id":"1","policies":[{"policy":{"policy-type":"sts","policy-domain":"example.com"},"summary":{"total-successful-session-count":-1,"total-failure-session-count":0}}]}`, "total-successful-session-count"},
		{"no policies", `{"organization-name":"x","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"report-id":"1","policies":[]}`, "policies"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.body, "report", "parse", "-")
		if code != exitInvalid || !strings.Contains(errs, "<stdin>") || !strings.Contains(errs, c.want) {
			t.Errorf("%s: code %d, stderr %q (want %q)", c.name, code, errs, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	code, out, errs := runCLI(t, "", "config", "validate", "../../ststack.example.yaml")
	if code != exitOK || !strings.Contains(out, "valid;") || !strings.Contains(out, "v=STSv1; id=") || !strings.Contains(out, "v=TLSRPTv1; rua=") {
		t.Fatalf("example: code %d\n%s\n%s", code, out, errs)
	}
	// The example sets reporting.domain: the https rua is known, not a placeholder.
	if !strings.Contains(out, "rua=https://tlsrpt.example.com/v1/tlsrpt,") || strings.Contains(out, "<report endpoint>") {
		t.Errorf("example: _smtp._tls rua not derived from reporting.domain:\n%s", out)
	}
	bad := writeFile(t, "bad.yaml", []byte("organization: X\nregion: eu-west-1\ndomains:\n  - name: example.com\n    dns: { external: true }\n    policy: { mode: enforce, max_age: 99999999999, mx: [mx.example.com] }\nreporting: { mailto: tlsrpt@example.com }\n"))
	code, out, _ = runCLI(t, "", "config", "validate", bad)
	if code != exitInvalid || !strings.Contains(out, "bad.yaml:6") || !strings.Contains(out, "max_age") {
		t.Errorf("bad: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "config", "validate", "--json", "../../ststack.example.yaml")
	var got struct {
		Valid   bool
		Domains []struct {
			Name      string
			PolicyID  string `json:"policy_id"`
			STSRecord string `json:"sts_record"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || !got.Valid || len(got.Domains) == 0 {
		t.Fatalf("json: code %d err %v\n%s", code, err, out)
	}
	for _, d := range got.Domains {
		if d.STSRecord != "v=STSv1; id="+d.PolicyID {
			t.Errorf("%s: record %q does not carry id %q", d.Name, d.STSRecord, d.PolicyID)
		}
	}
}

// TestReportParseArrayBomb: `ststack report parse` of a gzip report whose
// policy-string array holds millions of empty strings (issue 14 §1: 1.5 GB
// before the arrays had a limit) is refused, naming the field, with memory
// for the inflated report and little more.
func TestReportParseArrayBomb(t *testing.T) {
	var js bytes.Buffer
	js.WriteString(`{"organization-name":"o","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"report-id":"r","policies":[{"policy":{"policy-type":"sts","policy-domain":"example.com","policy-string":[`)
	js.Write(bytes.Repeat([]byte(`"",`), 8<<20))
	js.WriteString(`""]},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(js.Bytes())
	zw.Close()
	path := writeFile(t, "bomb.json.gz", gz.Bytes())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code, _, errs := runCLI(t, "", "report", "parse", path)
	runtime.ReadMemStats(&after)
	if code != exitInvalid || !strings.Contains(errs, path) || !strings.Contains(errs, "policies[0].policy.policy-string[") {
		t.Errorf("exit %d, %q; want %d naming the file and the field", code, errs, exitInvalid)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("allocated %d MiB for %d KiB of gzip", alloc>>20, gz.Len()>>10)
	}
}
