package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/mailin"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// mailCase is a hostile report e-mail dropped into the inbox of `ststack
// serve`: where it must end up (mailin.DoneDir or mailin.RejectedDir) and
// what its reason file must say.
type mailCase struct {
	name   string
	msg    []byte
	dir    string
	reason string // substring of the reason file (rejected only)
}

// mailSigner is an ed25519 DKIM key of the submitter, published in a
// loopback DNS: DKIM lookups never leave the machine.
type mailSigner struct {
	domain, selector string
	key              ed25519.PrivateKey
}

func newMailSigner(t *testing.T, d *checktest.DNS) mailSigner {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := mailSigner{domain: "reporter.example.net", selector: "s1", key: key}
	d.Add(fmt.Sprintf(`%s._domainkey.%s. 300 IN TXT "v=DKIM1; k=ed25519; s=tlsrpt; p=%s"`, s.selector, s.domain,
		base64.StdEncoding.EncodeToString(pub)))
	return s
}

// sign prepends sigs DKIM-Signatures naming From, TLS-Report-Submitter and
// absent further fields that the message does not have (valid: absent
// fields add nothing to the hash, RFC 6376 §5.4).
func (s mailSigner) sign(t *testing.T, msg []byte, sigs, absent int) []byte {
	t.Helper()
	keys := []string{"From", "TLS-Report-Submitter"}
	for i := range absent {
		keys = append(keys, fmt.Sprintf("X-Absent-%d", i))
	}
	for range sigs {
		var out bytes.Buffer
		if err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
			Domain: s.domain, Selector: s.selector, Signer: s.key, HeaderKeys: keys,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		}); err != nil {
			t.Fatal(err)
		}
		msg = out.Bytes()
	}
	return msg
}

// reportMail is a report e-mail of the submitter about example.com with
// report-id id: a multipart/report, padding bytes of text before the gzip
// report.
func reportMail(t *testing.T, id string, padding int) []byte {
	t.Helper()
	report := bytes.Replace(controlReport, []byte(`"control-1"`), []byte(`"`+id+`"`), 1)
	report = bytes.Replace(report, []byte(`"Control"`), []byte(`"Reporter"`), 1)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(report)
	zw.Close()
	var b strings.Builder
	b.WriteString("From: tlsrpt@reporter.example.net\r\nTo: tlsrpt@example.org\r\nSubject: Report Domain: example.org " +
		"Submitter: reporter.example.net Report-ID: <" + id + ">\r\nTLS-Report-Submitter: reporter.example.net\r\n" +
		"TLS-Report-Domain: example.org\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=tlsrpt; boundary=\"R\"\r\n\r\n" +
		"--R\r\nContent-Type: text/plain\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	b.WriteString(strings.Repeat(line, padding/len(line)))
	b.WriteString("\r\n--R\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(gz.Bytes()) + "\r\n--R--\r\n")
	return []byte(b.String())
}

// attach wraps msg levels times as the message/rfc822 part of a
// multipart/mixed, as forwarding an e-mail as an attachment does; cte is
// the attached message's transfer encoding ("" or "base64").
func attach(msg []byte, levels int, cte string) []byte {
	for i := range levels {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: fw%d@example.net\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"L%d\"\r\n\r\n"+
			"--L%d\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--L%d\r\nContent-Type: message/rfc822\r\n", i, i, i, i)
		if cte == "base64" {
			b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
			enc := base64.StdEncoding.EncodeToString(msg)
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n")
		} else {
			b.WriteString("\r\n")
			b.Write(msg)
		}
		fmt.Fprintf(&b, "\r\n--L%d--\r\n", i)
		msg = b.Bytes()
	}
	return msg
}

// sniffBait wraps msg as the last part of a multipart/mixed whose parts
// before it are n unnamed application/octet-stream parts of size bytes that
// start like a JSON report: each is a candidate found by its content
// (issue 17), which must cost no more than one part's read.
func sniffBait(msg []byte, n, size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: bait@example.net\r\nSubject: Report Domain: example.com\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"S\"\r\n\r\n")
	part := "{" + strings.Repeat("x", size-1)
	for range n {
		b.WriteString("--S\r\nContent-Type: application/octet-stream\r\n\r\n" + part + "\r\n")
	}
	b.WriteString("--S\r\nContent-Type: message/rfc822\r\n\r\n")
	b.Write(msg)
	b.WriteString("\r\n--S--\r\n")
	return b.Bytes()
}

// withFields adds n unsigned header fields in front of msg.
func withFields(msg []byte, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "X-Filler-%d: x\r\n", i)
	}
	return append(b.Bytes(), msg...)
}

// mailCases are the hostile messages of issue 14 §4 and §5, signed by s,
// and a control report. Each report has its own report-id.
func mailCases(t *testing.T, s mailSigner) []mailCase {
	t.Helper()
	const big = 39_800_000 // the message
	deepest := (tlsrpt.MaxMIMEDepth - 2) / 2
	return []mailCase{
		{"mail-control", s.sign(t, reportMail(t, "mail-control", 0), 1, 0), mailin.DoneDir, ""},
		{"mail-nested-15-levels-40MB", attach(reportMail(t, "nested-15", big), 15, ""), mailin.RejectedDir,
			"nesting too deep"},
		{fmt.Sprintf("mail-nested-%d-levels-40MB", deepest), attach(reportMail(t, "nested-deepest", big), deepest, ""),
			mailin.DoneDir, ""},
		{fmt.Sprintf("mail-nested-%d-levels-base64-40MB", deepest), attach(reportMail(t, "nested-base64", 15_500_000), deepest, "base64"),
			mailin.DoneDir, ""},
		{"mail-sniff-990-json-like-parts-40MB", sniffBait(reportMail(t, "sniff-990", 0), 990, 40_000), mailin.DoneDir, ""},
		{"mail-dkim-40k-fields-40k-absent", withFields(s.sign(t, reportMail(t, "dkim-40k", 0), 1, 40_000), 40_000),
			mailin.RejectedDir, fmt.Sprintf("more than %d header fields", mailin.MaxHeaderFields)},
		{"mail-dkim-worst-accepted", withFields(s.sign(t, reportMail(t, "dkim-worst", 0), mailin.MaxSignatures, mailin.MaxSignedFields-2),
			mailin.MaxHeaderFields-20), mailin.DoneDir, ""},
	}
}

// TestMail drops hostile report e-mails (issue 14 §4, §5) into the inbox of
// `ststack serve`, one at a time: each ends in done/ or rejected/ with its
// reason, and the peak resident memory of the serve process that processed
// it (started for it) stays under serveMemoryBound. DKIM keys come from a
// loopback DNS (--resolver). Before the bounds a 39.8 MB mail nested 15 levels took
// 839 MB (the inbox 902 MB), and a DKIM-Signature naming 40,000 absent
// fields over 40,000 fields stalled the inbox for 22 s.
func TestMail(t *testing.T) {
	d := checktest.NewDNS(t)
	cases := mailCases(t, newMailSigner(t, d))

	dir := t.TempDir()
	cfg, data := filepath.Join(dir, "ststack.yaml"), filepath.Join(dir, "data")
	if err := os.WriteFile(cfg, []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	inbox := filepath.Join(data, "inbox")
	if err := os.MkdirAll(inbox, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := buildCLI(t)
	var peaks []casePeak
	for _, c := range cases {
		// The message waits in the inbox; serve starts (a new process
		// per message: the peak is this message's, not the garbage of
		// the one before), processes it on its first poll, and stops.
		name := c.name + ".eml"
		path := filepath.Join(inbox, name)
		if err := os.WriteFile(path, c.msg, 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Minute)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p := startServe(t, bin, cfg, data, "--resolver", d.Addr)
		got := ""
		for deadline := time.Now().Add(2 * time.Minute); got == "" && time.Now().Before(deadline); {
			for _, sub := range []string{mailin.DoneDir, mailin.RejectedDir} {
				if _, err := os.Stat(filepath.Join(inbox, sub, name)); err == nil {
					got = sub
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(start)
		rss, err := peakRSS(p.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		p.stop(t)
		peaks = append(peaks, casePeak{fmt.Sprintf("%s (%.1f MB)", c.name, float64(len(c.msg))/1e6), 0, rss})
		why, _ := os.ReadFile(filepath.Join(inbox, mailin.RejectedDir, name+".reason"))
		t.Logf("%s: %s %v after serve started; %s", c.name, got, took.Round(time.Millisecond), strings.TrimSpace(string(why)))
		if got != c.dir || !strings.Contains(string(why), c.reason) {
			t.Errorf("%s: in %q (reason %q); want %s, reason containing %q", c.name, got, why, c.dir, c.reason)
		}
	}
	checkPeaks(t, "serve inbox", peaks, serveMemoryBound)
	if d.Queries() == 0 {
		t.Error("no DKIM key was asked of the loopback DNS")
	}
}

// mailinMemoryBound is the peak resident memory the mailin function must
// stay under for each message: half of its memory size (infra: 512 MB),
// as for tlsrpt, a margin for the runtime and the S3 client.
const mailinMemoryBound = 256 << 20

// TestMailLambda invokes the mailin function (its bootstrap under the
// Runtime Interface Emulator) with an S3 event for each hostile message,
// stored in the S3 stand-in as the SES receipt rule stores it: the
// invocation succeeds (a refused message is not retried), a report is
// stored exactly for the messages that end in done/ under serve, and the
// function's peak resident memory for each stays under mailinMemoryBound.
func TestMailLambda(t *testing.T) {
	d := checktest.NewDNS(t)
	cases := mailCases(t, newMailSigner(t, d))
	env := awstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mailBucket := env.Bucket + "-mail"
	if _, err := env.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(mailBucket)}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	fnEnv := map[string]string{"LAMBDA_TASK_ROOT": root, "STSTACK_CONFIG": "ststack.yaml", "STSTACK_RESOLVER": d.Addr,
		runMarker: id}
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		fnEnv[k] = v
	}
	bin := lambdatest.Bootstrap(t, "mailin")
	fn := lambdatest.Start(t, bin, fnEnv)

	stored := func() int {
		out, err := env.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(env.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Contents)
	}
	pid := 0
	var peaks []casePeak
	for _, c := range cases {
		key := "inbox/" + c.name
		if _, err := env.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(mailBucket), Key: aws.String(key),
			Body: bytes.NewReader(c.msg)}); err != nil {
			t.Fatal(err)
		}
		if pid != 0 {
			if err := resetPeakRSS(pid); err != nil {
				t.Fatal(err)
			}
		}
		before := stored()
		start := time.Now()
		out, err := fn.Invoke(ctx, s3MailEvent(mailBucket, key, len(c.msg)))
		took := time.Since(start)
		if err != nil || bytes.Contains(out, []byte("errorMessage")) {
			t.Errorf("%s: invocation %s, %v; want success", c.name, out, err)
		}
		if pid == 0 {
			if pid, err = findProcess(bin, id); err != nil {
				t.Fatal(err)
			}
		}
		rss, err := peakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		peaks = append(peaks, casePeak{fmt.Sprintf("%s (%.1f MB)", c.name, float64(len(c.msg))/1e6), 0, rss})
		got := stored() - before
		t.Logf("%s: %d report(s) stored, %v", c.name, got, took.Round(time.Millisecond))
		if want := map[string]int{mailin.DoneDir: 1, mailin.RejectedDir: 0}[c.dir]; got != want {
			t.Errorf("%s: %d reports stored, want %d", c.name, got, want)
		}
	}
	checkPeaks(t, "mailin function", peaks, mailinMemoryBound)
	if out := fn.Output(); strings.Contains(out, "panic") {
		t.Errorf("the mailin function panicked:\n%s", lastLines(out, 30))
	}
}

// s3MailEvent is the S3 event notification of a message stored under key.
func s3MailEvent(bucket, key string, size int) []byte {
	ev := map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": awstest.Region,
		"eventTime": "2024-09-04T10:53:22.052Z", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"bucket":          map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object":          map[string]any{"key": key, "size": size},
		},
	}}}
	b, _ := json.Marshal(ev)
	return b
}
