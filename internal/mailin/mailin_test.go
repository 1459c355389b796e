package mailin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t testing.TB) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newProcessor(t *testing.T, st ingest.Store, d *checktest.DNS, o Options) *Processor {
	t.Helper()
	if o.Domains == nil {
		o.Domains = []string{"example.com", "cardinalhealth.ca", "test.xmox.nl"}
	}
	o.Resolver = lookupOf(t, d)
	if o.Logger == nil {
		o.Logger = quiet
	}
	p, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyOf(t *testing.T, msg []byte) string {
	t.Helper()
	data, err := tlsrpt.ExtractFromMessage(msg, tlsrpt.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tlsrpt.ParseReport(data, tlsrpt.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Identity().Key()
}

// TestRealSamples: the real report e-mails are parsed and ingested (for
// a configuration serving their domains): stored once, with their DKIM
// verdict and channel, the raw report as attached, the facts as stated.
func TestRealSamples(t *testing.T) {
	d := checktest.NewDNS(t)
	st := openStore(t)
	p := newProcessor(t, st, d, Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		file, domain string
		success      int64
		dkimDomain   string
	}{
		{googleEML, "cardinalhealth.ca", 48, "google.com"},
		{microsoftEML, "test.xmox.nl", 2, "microsoft.com"},
		{mox2022EML, "test.xmox.nl", 3, "google.com"},
	} {
		msg := sample(t, tc.file)
		out, err := p.Process(ctx, msg)
		if err != nil || out.Kind != KindStored {
			t.Fatalf("%s: Process = %+v, %v; want stored", tc.file, out, err)
		}
		if out.DKIM == nil || out.DKIM.Result != store.DKIMFail || out.DKIM.Domain != tc.dkimDomain {
			t.Errorf("%s: verdict %+v, want fail by %s", tc.file, out.DKIM, tc.dkimDomain)
		}
		key := keyOf(t, msg)
		rep, err := st.Report(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if out.Key != key || rep.Channel != ingest.ChannelEmail || rep.DKIM == nil || *rep.DKIM != *out.DKIM ||
			len(rep.Domains) != 1 || rep.Domains[0] != tc.domain || rep.Success != tc.success {
			t.Errorf("%s: stored %+v (dkim %+v), outcome %+v", tc.file, rep, rep.DKIM, out)
		}
		raw, err := st.Raw(ctx, key)
		want, _ := tlsrpt.ExtractFromMessage(msg, tlsrpt.Limits{})
		if err != nil || !bytes.Equal(raw, want) {
			t.Errorf("%s: raw body %d bytes, %v; want the %d attached", tc.file, len(raw), err, len(want))
		}
		again, err := p.Process(ctx, msg)
		if err != nil || again.Kind != KindDuplicate || again.Key != key {
			t.Errorf("%s: second Process = %+v, %v; want duplicate", tc.file, again, err)
		}
	}
	if c := p.Counts(); c[KindStored] != 3 || c[KindDuplicate] != 3 || len(c) != 2 {
		t.Errorf("Counts = %v", c)
	}
}

// TestBothChannels: a report posted over HTTPS and then e-mailed is stored
// once; the record is the first one's.
func TestBothChannels(t *testing.T) {
	d := checktest.NewDNS(t)
	st := openStore(t)
	ctx := context.Background()
	report := sample(t, googleJSON)
	in, err := ingest.New(st, ingest.Options{Domains: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Ingest(ctx, report, ingest.ChannelHTTPS); err != nil || !res.Created {
		t.Fatalf("Ingest = %+v, %v", res, err)
	}
	p := newProcessor(t, st, d, Options{Domains: []string{"example.com"}})
	out, err := p.Process(ctx, reportMessage(t, report, nil))
	if err != nil || out.Kind != KindDuplicate {
		t.Fatalf("Process = %+v, %v; want duplicate", out, err)
	}
	rep, err := st.Report(ctx, out.Key)
	if err != nil || rep.Channel != ingest.ChannelHTTPS || rep.DKIM != nil {
		t.Errorf("record = %+v, %v; want the HTTPS one, without a verdict", rep, err)
	}
}

// TestProcess: each kind of message, signed or not, kept or dropped.
func TestProcess(t *testing.T) {
	d := checktest.NewDNS(t)
	google := newSigner(t, d, "ed25519", "google.com", "s1", "s=tlsrpt")
	report := sample(t, googleJSON)
	msg := reportMessage(t, report, nil)
	bounce := []byte("From: MAILER-DAEMON@mx.example.net\r\nTo: tlsrpt@reports.example.com\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n--x--\r\n")
	spam := []byte("From: win@spam.example\r\nSubject: You won\r\n\r\nClick here.\r\n")
	other := reportMessage(t, bytes.ReplaceAll(report, []byte("example.com"), []byte("example.net")), nil)
	invalid := reportMessage(t, bytes.Replace(report, []byte(`"total-successful-session-count": 53`),
		[]byte(`"total-successful-session-count": -1`), 1), nil)

	tests := []struct {
		name   string
		msg    []byte
		drop   bool
		max    int64
		kind   Kind
		dkim   string // verdict result, "" when none is expected
		reason string // substring of the reason
	}{
		{"signed, kept", google.sign(t, msg), false, 0, KindStored, store.DKIMPass, ""},
		{"signed, drop on", google.sign(t, msg), true, 0, KindStored, store.DKIMPass, ""},
		{"unsigned, kept and flagged", msg, false, 0, KindStored, store.DKIMNone, ""},
		{"unsigned, dropped", msg, true, 0, KindDropped, store.DKIMNone, "DKIM none"},
		{"failing signature, dropped", bytes.Replace(google.sign(t, msg), []byte("aggregate"), []byte("Aggregate"), 1),
			true, 0, KindDropped, store.DKIMFail, "DKIM fail: dkim: body hash did not verify"},
		{"bounce", bounce, false, 0, KindNotReport, "", "no TLS report"},
		{"spam", spam, true, 0, KindNotReport, "", "no TLS report"},
		{"not served here", other, false, 0, KindRefused, store.DKIMNone, "example.net"},
		{"invalid report", invalid, false, 0, KindRefused, store.DKIMNone, "total-successful-session-count"},
		{"too large", msg, false, int64(len(msg) - 1), KindRefused, "", "larger than"},
		{"not an e-mail", []byte("\x00\x01binary"), false, 0, KindRefused, "", "header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			p := newProcessor(t, st, d, Options{Domains: []string{"example.com"}, DropUnsigned: tc.drop, MaxMessage: tc.max})
			out, err := p.Process(context.Background(), tc.msg)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if out.Kind != tc.kind || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("Process = %+v; want %s, reason containing %q", out, tc.kind, tc.reason)
			}
			switch {
			case tc.dkim == "" && out.DKIM != nil:
				t.Errorf("verdict %+v, want none", out.DKIM)
			case tc.dkim != "" && (out.DKIM == nil || out.DKIM.Result != tc.dkim):
				t.Errorf("verdict %+v, want %s", out.DKIM, tc.dkim)
			}
			if (out.Kind == KindStored) != (out.Reason == "") {
				t.Errorf("kind %s with reason %q", out.Kind, out.Reason)
			}
			rep, err := st.Report(context.Background(), keyOf(t, msg))
			if stored := err == nil; stored != (tc.kind == KindStored) {
				t.Errorf("report stored = %v (%v), want %v", stored, err, tc.kind == KindStored)
			} else if stored && (rep.DKIM == nil || rep.DKIM.Result != tc.dkim) {
				t.Errorf("stored verdict %+v, want %s", rep.DKIM, tc.dkim)
			}
			if c := p.Counts(); c[tc.kind] != 1 {
				t.Errorf("Counts = %v, want one %s", c, tc.kind)
			}
		})
	}
}

// failingStore fails every save, as a store that cannot be reached.
type failingStore struct{ calls int }

func (f *failingStore) SaveReport(context.Context, store.Entry) (store.Saved, error) {
	f.calls++
	return store.Saved{}, errors.New("connection refused")
}

// TestTemporary: a store failure and an unreachable DKIM key of the
// submitter are errors to retry on (ErrTemporary), counted as errors; a
// later attempt completes the report.
func TestTemporary(t *testing.T) {
	d := checktest.NewDNS(t)
	google := newSigner(t, d, "ed25519", "google.com", "s1", "")
	unsigned := reportMessage(t, sample(t, googleJSON), nil)
	msg := google.sign(t, unsigned)
	ctx := context.Background()

	fs := &failingStore{}
	p := newProcessor(t, fs, d, Options{Domains: []string{"example.com"}})
	if _, err := p.Process(ctx, msg); !errors.Is(err, ErrTemporary) || fs.calls != 1 {
		t.Errorf("store failure: %v after %d saves; want ErrTemporary after one", err, fs.calls)
	}
	if c := p.Counts(); c[KindError] != 1 || len(c) != 1 {
		t.Errorf("Counts = %v, want one error", c)
	}

	st := openStore(t)
	p = newProcessor(t, st, d, Options{Domains: []string{"example.com"}})
	unreachable := newSigner(t, nil, "ed25519", "google.com", "s2", "")
	d.SetRcode("s2._domainkey.google.com", dns.RcodeServerFailure)
	if out, err := p.Process(ctx, unreachable.sign(t, unsigned)); !errors.Is(err, ErrTemporary) {
		t.Errorf("key lookup failure: %+v, %v; want ErrTemporary", out, err)
	}
	if _, err := st.Report(ctx, keyOf(t, msg)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report stored after a key lookup failure: %v", err)
	}
	if out, err := p.Process(ctx, msg); err != nil || out.Kind != KindStored || out.DKIM.Result != store.DKIMPass {
		t.Errorf("retry: %+v, %v; want stored, pass", out, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Process(cctx, reportMessage(t, sample(t, googleJSON), map[string]string{"Message-ID": "<x@y>"})); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNew(t *testing.T) {
	st := openStore(t)
	if _, err := New(nil, Options{Domains: []string{"example.com"}}); err == nil {
		t.Error("New without a store: no error")
	}
	if _, err := New(st, Options{}); err == nil {
		t.Error("New without domains: no error")
	}
	p, err := New(st, Options{Domains: []string{"example.com"}})
	if err != nil || p.MaxMessage() != DefaultMaxMessage {
		t.Errorf("New = %v; MaxMessage %d", err, p.MaxMessage())
	}
}

// TestLogLine: one line per message, naming the outcome and the reason.
func TestLogLine(t *testing.T) {
	d := checktest.NewDNS(t)
	var buf bytes.Buffer
	p := newProcessor(t, openStore(t), d, Options{Domains: []string{"example.com"}, DropUnsigned: true,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Now: func() time.Time { return time.Unix(0, 0) }})
	if _, err := p.Process(context.Background(), reportMessage(t, sample(t, googleJSON), nil)); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"mailin: dropped", "dkim=none", `reason="DKIM none: no DKIM-Signature"`,
		"message_id=<test-1@google.com>", "submitter=google.com"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q:\n%s", want, line)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one line:\n%s", line)
	}
}
