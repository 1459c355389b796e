package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
)

// ingestOrg serves the domains of the real report e-mails.
const ingestOrg = `organization: Ingest Test
region: eu-west-1
defaults: {policy: {mx: [mx.example.net]}}
domains:
  - {name: cardinalhealth.ca, dns: {external: true}}
  - {name: test.xmox.nl, dns: {external: true}}
reporting: {mailto: tlsrpt@reports.example.net}
`

func TestReportIngest(t *testing.T) {
	d := checktest.NewDNS(t) // has no keys: Microsoft's signature finds none
	cfg := writeFile(t, "org.yaml", []byte(ingestOrg))
	data := t.TempDir()
	google, microsoft := filepath.Join(samples, "google-2024-09.eml"), filepath.Join(samples, "microsoft-2023.eml")
	args := []string{"report", "ingest", "--config", cfg, "--data", data, "--resolver", d.Addr}

	code, out, errs := runCLI(t, "", append(args, google, microsoft)...)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{
		google + ": stored report google_20inc_2e.2024-09-03T00_3a00_3a00Z_5fcardinalhealth_2eca for cardinalhealth.ca; DKIM fail (google.com): dkim: signature has expired",
		microsoft + ": stored report ",
		" for test.xmox.nl; DKIM fail (microsoft.com): dkim: no key for signature",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	// Again, with a message that is not a report: exit 1, as JSON.
	spam := writeFile(t, "spam.eml", []byte("From: a@spam.example\r\nSubject: hi\r\n\r\nBuy.\r\n"))
	code, out, errs = runCLI(t, "", append(args, "--json", google, spam)...)
	if code != exitInvalid || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var got []ingestJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(got) != 2 || got[0].Outcome != "duplicate" || got[0].DKIM == nil || got[0].DKIM.Result != "fail" ||
		got[1].Outcome != "not-report" || got[1].File != spam || got[1].DKIM != nil {
		t.Errorf("JSON: %+v", got)
	}
	for _, key := range []string{`"file"`, `"outcome"`, `"report"`, `"domains"`, `"dkim"`, `"result"`, `"reason"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s:\n%s", key, out)
		}
	}

	code, _, errs = runCLI(t, "", append(args, spam)...)
	if code != exitInvalid || !strings.Contains(errs, spam+": not-report: no TLS report in the message") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}

	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	facts, err := st.Facts(context.Background(), "cardinalhealth.ca", "2024-09-03", "2024-09-03")
	if err != nil || len(facts) != 1 || facts[0].Success != 48 {
		t.Errorf("facts: %+v, %v", facts, err)
	}
	rep, err := st.Report(context.Background(), facts[0].ReportKey)
	if err != nil || rep.Channel != "email" || rep.DKIM == nil || rep.DKIM.Result != store.DKIMFail {
		t.Errorf("record: %+v, %v", rep, err)
	}
}

func TestReportIngestErrors(t *testing.T) {
	cfg := writeFile(t, "org.yaml", []byte(ingestOrg))
	data := t.TempDir()
	google := filepath.Join(samples, "google-2024-09.eml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no file", []string{"--config", cfg}, exitUsage, "expected at least one FILE.eml"},
		{"bad resolver", []string{"--config", cfg, "--resolver", "localhost", google}, exitUsage, "--resolver"},
		{"config missing", []string{"--data", data, google}, exitInvalid, "give the organisation file with --config FILE"},
		{"bad config", []string{"--config", writeFile(t, "bad.yaml", []byte("region: x\n")), google}, exitInvalid, "bad.yaml:1"},
		{"file missing", []string{"--config", cfg, "--data", data, "nothing.eml"}, exitInvalid, "nothing.eml: error: open nothing.eml"},
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "config missing" { // no ststack.yaml where it runs
				tc.args[len(tc.args)-1] = filepath.Join(wd, google)
				t.Chdir(dir)
			}
			code, _, errs := runCLI(t, "", append([]string{"report", "ingest"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errs, tc.code, tc.stderr)
			}
		})
	}
	code, out, _ := runCLI(t, "", "report", "ingest", "--help")
	if code != exitOK || !strings.Contains(out, "usage: ststack report ingest") {
		t.Errorf("--help: %d %s", code, out)
	}
}

// TestReportIngestLocked: while serve holds the data directory, ingest says
// so and where to drop the files instead.
func TestReportIngestLocked(t *testing.T) {
	data := t.TempDir()
	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := writeFile(t, "org.yaml", []byte(ingestOrg))
	code, _, errs := runCLI(t, "", "report", "ingest", "--config", cfg, "--data", data, filepath.Join(samples, "google-2024-09.eml"))
	if code != exitInvalid || !strings.Contains(errs, "in use by another process") || !strings.Contains(errs, "'ststack serve'") ||
		!strings.Contains(errs, filepath.Join(data, "inbox")) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestServeInbox: `ststack serve` ingests the e-mails dropped into
// <data>/inbox/ and moves them to done/ or rejected/.
func TestServeInbox(t *testing.T) {
	cfg := writeFile(t, "org.yaml", []byte(ingestOrg))
	data := t.TempDir()
	_, stop := startServe(t, "--config", cfg, "--data", data)
	inbox := filepath.Join(data, "inbox")
	if err := os.MkdirAll(inbox, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	for name, body := range map[string][]byte{
		"google.eml": mustRead(t, filepath.Join(samples, "google-2024-09.eml")), // expired signature: no DNS query
		"spam.eml":   []byte("From: a@spam.example\r\n\r\nBuy.\r\n"),
	} {
		// Dropped as a user should: written beside the inbox, then renamed
		// in, so the poller never sees it half written (it may move it at
		// once, before a Chtimes inside the inbox could run).
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p, filepath.Join(inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	done, rejected := filepath.Join(inbox, "done", "google.eml"), filepath.Join(inbox, "rejected", "spam.eml")
	deadline := time.Now().Add(20 * time.Second)
	for !(exists(done) && exists(rejected)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exited %d", code)
	}
	if !exists(done) || !exists(rejected) {
		t.Fatalf("not moved: done %v, rejected %v", exists(done), exists(rejected))
	}
	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if f, err := st.Facts(context.Background(), "cardinalhealth.ca", "2024-09-03", "2024-09-03"); err != nil || len(f) != 1 {
		t.Errorf("facts: %v, %v", f, err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
