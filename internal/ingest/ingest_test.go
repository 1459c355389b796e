package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// samplesDir holds real reports, beside the repository.
const samplesDir = "../../testdata/tlsrpt"

// served are the policy domains of the samples.
var served = []string{"example.com", "company-y.example", "cardinalhealth.ca", "test.xmox.nl",
	"random.net", "xxxxxxxx.xx", "server.com", "foo-bar.io", "example.org"}

// now is after the newest sample (2026-05-13).
var now = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// sample is one real report: its bytes as JSON (extracted from the e-mail
// for .eml files).
type sample struct {
	name string
	json []byte
}

func samples(t testing.TB) []sample {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(samplesDir, "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	var l []sample
	for _, p := range names {
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".eml") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".eml") {
			if b, err = tlsrpt.ExtractFromMessage(b, tlsrpt.DefaultLimits()); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if isGzip(b) {
				b = gunzip(t, b)
			}
		}
		l = append(l, sample{filepath.Base(p), b})
	}
	if len(l) < 7 {
		t.Fatalf("found %d samples in %s, want 7", len(l), samplesDir)
	}
	return l
}

func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testStore is what the tests read back.
type testStore interface {
	Store
	Report(ctx context.Context, key string) (store.Receipt, error)
	Raw(ctx context.Context, key string) ([]byte, error)
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
}

func newEmbedded(t testing.TB) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newHandler(t testing.TB, st Store, o Options) http.Handler {
	t.Helper()
	if o.Domains == nil {
		o.Domains = served
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	in, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return NewHandler(in)
}

type answer struct {
	status int
	body   string
	header http.Header
}

func post(h http.Handler, body []byte, header ...string) answer {
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return answer{w.Code, w.Body.String(), w.Header()}
}

// checkStored verifies that report data (JSON) is stored completely, with
// the counts it states, and raw exactly as posted.
func checkStored(t *testing.T, st testStore, data, raw []byte) {
	t.Helper()
	ctx := context.Background()
	rep, err := tlsrpt.ParseReport(data, tlsrpt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// A policy without policy-domain counts for the domain ingestion
	// attributes it to (stalwart-no-policy-domain.json: its report-id).
	Attribute(rep, func(d string) bool { return slices.Contains(served, d) })
	key := rep.Identity().Key()
	rec, err := st.Report(ctx, key)
	if err != nil {
		t.Fatalf("report record: %v", err)
	}
	if rec.ReportID != rep.ReportID || rec.OrganizationName != rep.OrganizationName || !rec.Start.Equal(rep.Start) {
		t.Errorf("report record = %+v", rec)
	}
	if rec.Provenance != store.ProvenanceHTTPS {
		t.Errorf("provenance %q, want %q: an HTTPS post is never authenticated", rec.Provenance, store.ProvenanceHTTPS)
	}
	got, err := st.Raw(ctx, key)
	if err != nil || !bytes.Equal(got, raw) {
		t.Errorf("raw body: %d bytes, %v; want the %d bytes posted", len(got), err, len(raw))
	}
	day := store.DayOf(rep.Start)
	for _, d := range rep.Domains() {
		var success, failure int64
		for _, p := range rep.Policies {
			if p.Domain == d {
				success += p.Success
				failure += p.Failure
			}
		}
		facts, err := st.Facts(ctx, d, day, day)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range facts {
			if f.ReportKey == key {
				n++
				if f.Success != success || f.Failure != failure {
					t.Errorf("fact of %s on %s: %d/%d sessions, want %d/%d", d, day, f.Success, f.Failure, success, failure)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d facts of %s on %s for %s, want 1", n, d, day, key)
		}
	}
}

// TestSamples posts every real report as JSON and as gzip, with each
// content type a sender may use.
func TestSamples(t *testing.T) {
	for _, s := range samples(t) {
		for _, v := range []struct {
			format string
			body   func([]byte) []byte
			header []string
		}{
			{"json", func(b []byte) []byte { return b }, []string{"Content-Type", "application/tlsrpt+json"}},
			{"gzip", func(b []byte) []byte { return gzipped(t, b) }, []string{"Content-Type", "application/tlsrpt+gzip"}},
			{"json-encoded-gzip", func(b []byte) []byte { return gzipped(t, b) }, []string{"Content-Type", "application/tlsrpt+json", "Content-Encoding", "gzip"}},
		} {
			t.Run(s.name+"/"+v.format, func(t *testing.T) {
				st := newEmbedded(t)
				h := newHandler(t, st, Options{})
				body := v.body(s.json)
				// httptest's default host, example.com, is a served
				// domain: it would be a second candidate for a policy
				// without policy-domain.
				a := post(h, body, append([]string{"Host", "reports.test"}, v.header...)...)
				if a.status != http.StatusCreated {
					t.Fatalf("POST: %d %q, want 201", a.status, a.body)
				}
				checkStored(t, st, s.json, body)
				// The same report again, in the other format: known.
				other := gzipped(t, s.json)
				if v.format != "json" {
					other = s.json
				}
				if a := post(h, other, "Host", "reports.test", "Content-Type", "application/json"); a.status != http.StatusOK {
					t.Fatalf("second POST: %d %q, want 200", a.status, a.body)
				}
				checkStored(t, st, s.json, body) // unchanged: the first body kept
			})
		}
	}
}

// report returns a valid report about domain with report-id id.
func report(domain, id string) []byte {
	return fmt.Appendf(nil, `{"organization-name":"Example Org","date-range":{"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"},
"contact-info":"tlsrpt@example.org","report-id":%q,"policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: testing","mx: mx.%s","max_age: 86400"],
"policy-domain":%q,"mx-host":["mx.%s"]},"summary":{"total-successful-session-count":10,"total-failure-session-count":1},
"failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.%s","receiving-ip":"198.51.100.1","failed-session-count":1}]}]}`,
		id, domain, domain, domain, domain)
}

// bomb is gzip of n zero bytes.
func bomb(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		zw.Write(chunk[:k])
		n -= k
	}
	zw.Close()
	return buf.Bytes()
}

func TestBadInput(t *testing.T) {
	deep := []byte(strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100))
	var many strings.Builder
	many.WriteString(`{"organization-name":"o","date-range":{"start-datetime":"2024-03-01T00:00:00Z","end-datetime":"2024-03-01T23:59:59Z"},"report-id":"r","policies":[`)
	for i := range 10001 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"policy":{"policy-type":"no-policy-found","policy-domain":"example.com"},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}`)
	}
	many.WriteString("]}")
	invalid := bytes.Replace(report("example.com", "x"), []byte(`"total-failure-session-count":1`), []byte(`"total-failure-session-count":"many"`), 1)

	tests := []struct {
		name   string
		method string
		body   []byte
		header []string
		status int
		reason string // in the answer
	}{
		{"GET", http.MethodGet, nil, nil, http.StatusMethodNotAllowed, "POST"},
		{"PUT", http.MethodPut, report("example.com", "x"), nil, http.StatusMethodNotAllowed, "POST"},
		{"text/plain", "", report("example.com", "x"), []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"multipart", "", report("example.com", "x"), []string{"Content-Type", "multipart/form-data; boundary=x"}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"bad media type", "", report("example.com", "x"), []string{"Content-Type", "application/"}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"brotli", "", report("example.com", "x"), []string{"Content-Type", "application/tlsrpt+json", "Content-Encoding", "br"}, http.StatusUnsupportedMediaType, "Content-Encoding"},
		{"empty body", "", nil, []string{"Content-Type", "application/tlsrpt+json"}, http.StatusBadRequest, "empty"},
		{"not JSON", "", []byte("hello"), nil, http.StatusBadRequest, "not JSON"},
		{"JSON array", "", []byte("[1,2]"), nil, http.StatusBadRequest, "not a JSON object"},
		{"truncated gzip", "", gzipped(t, report("example.com", "x"))[:40], []string{"Content-Type", "application/tlsrpt+gzip"}, http.StatusBadRequest, "gzip"},
		{"invalid field", "", invalid, nil, http.StatusBadRequest, "policies[0].summary.total-failure-session-count"},
		{"missing report-id", "", bytes.Replace(report("example.com", "x"), []byte(`"report-id":"x",`), nil, 1), nil, http.StatusBadRequest, "report-id"},
		{"too deep", "", deep, nil, http.StatusBadRequest, "deep"},
		{"too many policies", "", []byte(many.String()), nil, http.StatusRequestEntityTooLarge, "policies"},
		{"body over the limit", "", bytes.Repeat([]byte(" "), DefaultMaxBody+1), nil, http.StatusRequestEntityTooLarge, "larger than"},
		{"gzip bomb", "", bomb(t, 80<<20), []string{"Content-Type", "application/tlsrpt+gzip"}, http.StatusRequestEntityTooLarge, "inflates"},
		{"no served domain", "", report("not-served.example", "x"), nil, http.StatusUnprocessableEntity, "not-served.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newEmbedded(t)
			h := newHandler(t, st, Options{})
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, Path, bytes.NewReader(tc.body))
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.reason) {
				t.Errorf("%d %q; want %d with %q", w.Code, w.Body.String(), tc.status, tc.reason)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if len(w.Body.String()) > maxReason+10 || strings.Count(w.Body.String(), "\n") != 1 {
				t.Errorf("reason not one bounded line: %q", w.Body.String())
			}
			// A refused report leaves nothing in the store.
			if keys, err := st.RawKeys(context.Background()); err != nil || len(keys) != 0 {
				t.Errorf("raw bodies after a refusal: %q, %v", keys, err)
			}
			for _, d := range append(served, "not-served.example") {
				if f, _ := st.Facts(context.Background(), d, "0001-01-01", "9999-12-31"); len(f) != 0 {
					t.Errorf("facts of %s after a refusal: %v", d, f)
				}
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	body := report("example.com", "types")
	gz := gzipped(t, body)
	tests := []struct {
		name   string
		body   []byte
		header []string
	}{
		{"tlsrpt+json", body, []string{"Content-Type", "application/tlsrpt+json"}},
		{"tlsrpt+gzip", gz, []string{"Content-Type", "application/tlsrpt+gzip"}},
		{"json", body, []string{"Content-Type", "application/json; charset=utf-8"}},
		{"gzip", gz, []string{"Content-Type", "application/gzip"}},
		{"x-gzip", gz, []string{"Content-Type", "application/x-gzip"}},
		{"tlsrpt", body, []string{"Content-Type", "application/tlsrpt"}},
		{"upper case", gz, []string{"Content-Type", "Application/TLSRPT+GZIP"}},
		{"none", gz, nil},
		{"label says JSON, body is gzip", gz, []string{"Content-Type", "application/tlsrpt+json"}},
		{"Content-Encoding gzip", gz, []string{"Content-Type", "application/tlsrpt+json", "Content-Encoding", "gzip"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newEmbedded(t)
			a := post(newHandler(t, st, Options{}), tc.body, tc.header...)
			if a.status != http.StatusCreated {
				t.Fatalf("%d %q, want 201", a.status, a.body)
			}
			checkStored(t, st, body, tc.body)
		})
	}
}

// TestMaxBody: the limit is on the posted bytes; a body just within it
// passes the size check.
func TestMaxBody(t *testing.T) {
	body := report("example.com", "max")
	for _, tc := range []struct {
		max    int64
		status int
	}{{int64(len(body)), http.StatusCreated}, {int64(len(body)) - 1, http.StatusRequestEntityTooLarge}} {
		h := newHandler(t, newEmbedded(t), Options{MaxBody: tc.max})
		if a := post(h, body); a.status != tc.status {
			t.Errorf("MaxBody %d, body %d: %d, want %d", tc.max, len(body), a.status, tc.status)
		}
		// Without Content-Length (chunked): the reader's limit holds.
		req := httptest.NewRequest(http.MethodPost, Path, io.MultiReader(bytes.NewReader(body)))
		req.ContentLength = -1
		w := httptest.NewRecorder()
		newHandler(t, newEmbedded(t), Options{MaxBody: tc.max}).ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("MaxBody %d, chunked body %d: %d, want %d", tc.max, len(body), w.Code, tc.status)
		}
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   func(t *testing.T) testStore
	}{
		{"embedded", func(t *testing.T) testStore { return newEmbedded(t) }},
		{"aws", func(t *testing.T) testStore {
			env := awstest.New(t)
			return awsstore.New(env.S3, env.DynamoDB, env.Bucket, env.Table)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st(t)
			h := newHandler(t, st, Options{})
			body := gzipped(t, report("example.com", "concurrent"))
			const n = 10
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { statuses[i] = post(h, body, "Content-Type", "application/tlsrpt+gzip").status })
			}
			wg.Wait()
			created := 0
			for _, s := range statuses {
				switch s {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Errorf("status %d", s)
				}
			}
			if created != 1 {
				t.Errorf("%d answers 201, want 1 (statuses %v)", created, statuses)
			}
			checkStored(t, st, report("example.com", "concurrent"), body)
		})
	}
}

// failingStore fails every save with an error whose text must not reach
// the client.
type failingStore struct{}

func (failingStore) SaveReport(context.Context, store.Entry) (store.Saved, error) {
	return store.Saved{}, errors.New("dial tcp 10.1.2.3:443: secret internal detail")
}

func TestStoreFailure(t *testing.T) {
	var logged bytes.Buffer
	h := newHandler(t, failingStore{}, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	a := post(h, report("example.com", "x"))
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", a.status)
	}
	if strings.Contains(a.body, "secret") || strings.Contains(a.body, "10.1.2.3") {
		t.Errorf("internal error sent to the client: %q", a.body)
	}
	if a.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if !strings.Contains(logged.String(), "secret internal detail") {
		t.Errorf("internal error not logged: %s", logged.String())
	}
}

// TestAWSFaults injects failures into S3 and DynamoDB between the writes of
// one report through the handler: the answer is 503, and the sender's
// retry completes the report (201) with nothing lost.
func TestAWSFaults(t *testing.T) {
	tests := []struct {
		name  string
		op    string
		after int
		kind  awstest.Kind
	}{
		{"claim fails", "PutItem", 0, awstest.ServerError},
		{"claim written, answer lost", "PutItem", 0, awstest.LostResponse},
		{"S3 fails", "PutObject", 0, awstest.ServerError},
		{"S3 throttles", "PutObject", 0, awstest.Throttle},
		{"DynamoDB fails after S3", "PutItem", 1, awstest.ServerError},
		{"DynamoDB throttles after S3", "PutItem", 1, awstest.Throttle},
		// The first UpdateItem marks the day sum of the fact stale, the
		// second completes the record.
		{"day sum mark fails after the facts", "UpdateItem", 0, awstest.ServerError},
		{"completion fails after the facts", "UpdateItem", 1, awstest.Timeout},
		{"completion written, answer lost", "UpdateItem", 1, awstest.LostResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := awstest.New(t)
			st := awsstore.New(env.S3, env.DynamoDB, env.Bucket, env.Table)
			h := newHandler(t, st, Options{})
			body := gzipped(t, report("example.com", "faults"))
			env.Faults.Fail(tc.op, tc.after, -1, tc.kind)
			if a := post(h, body); a.status != http.StatusServiceUnavailable {
				t.Fatalf("with %s failing: %d %q, want 503", tc.op, a.status, a.body)
			}
			env.Faults.Reset()
			want := http.StatusCreated
			if tc.op == "UpdateItem" && tc.after == 1 && tc.kind == awstest.LostResponse {
				want = http.StatusOK // the record did get completed
			}
			if a := post(h, body); a.status != want {
				t.Fatalf("retry: %d %q, want %d", a.status, a.body, want)
			}
			checkStored(t, st, report("example.com", "faults"), body)
			if a := post(h, body); a.status != http.StatusOK {
				t.Fatalf("third post: %d, want 200", a.status)
			}
		})
	}
}

func TestLambdaHandler(t *testing.T) {
	st := newEmbedded(t)
	lh := LambdaHandler(newHandler(t, st, Options{}))
	body := gzipped(t, report("example.com", "lambda"))
	ev := func(method, b string, b64 bool, headers map[string]string) events.APIGatewayV2HTTPRequest {
		e := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "POST " + Path, RawPath: Path, Headers: headers,
			Body: b, IsBase64Encoded: b64,
		}
		e.RequestContext.HTTP.Method = method
		e.RequestContext.HTTP.Path = Path
		e.RequestContext.HTTP.SourceIP = "192.0.2.9"
		e.RequestContext.DomainName = "tlsrpt.example.com"
		return e
	}
	gzHeaders := map[string]string{"content-type": "application/tlsrpt+gzip", "content-length": "12345"}
	tests := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
	}{
		{"base64 gzip", ev("POST", base64.StdEncoding.EncodeToString(body), true, gzHeaders), http.StatusCreated},
		{"again", ev("POST", base64.StdEncoding.EncodeToString(body), true, gzHeaders), http.StatusOK},
		{"plain JSON body", ev("POST", string(report("example.com", "lambda-json")), false,
			map[string]string{"content-type": "application/tlsrpt+json"}), http.StatusCreated},
		{"bad base64", ev("POST", "%%%", true, gzHeaders), http.StatusBadRequest},
		{"GET", ev("GET", "", false, nil), http.StatusMethodNotAllowed},
		{"bad method", ev("BAD METHOD", "", false, nil), http.StatusBadRequest},
		{"unsupported type", ev("POST", "x", false, map[string]string{"content-type": "text/html"}), http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		resp, err := lh(context.Background(), tc.ev)
		if err != nil || resp.StatusCode != tc.status {
			t.Errorf("%s: %d %q, %v; want %d", tc.name, resp.StatusCode, resp.Body, err, tc.status)
		}
		if tc.name == "bad base64" && resp.Body != "body: invalid base64 encoding\n" ||
			tc.name == "bad method" && strings.Contains(resp.Body, "base64") {
			t.Errorf("%s: reason %q", tc.name, resp.Body)
		}
		if resp.Headers["Content-Type"] != "text/plain; charset=utf-8" || resp.IsBase64Encoded {
			t.Errorf("%s: headers %v, base64 %v", tc.name, resp.Headers, resp.IsBase64Encoded)
		}
	}
	checkStored(t, st, report("example.com", "lambda"), body)
}

func TestNew(t *testing.T) {
	if _, err := New(nil, Options{Domains: served}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := New(newEmbedded(t), Options{}); err == nil {
		t.Error("New without domains succeeded")
	}
	// Served domains compare in lower case, without a trailing dot.
	h := newHandler(t, newEmbedded(t), Options{Domains: []string{"Example.COM."}})
	if a := post(h, report("example.com", "case")); a.status != http.StatusCreated {
		t.Errorf("report for a domain configured in upper case: %d %q", a.status, a.body)
	}
}

// FuzzHandler: whatever the body, the handler answers a 2xx or a 4xx
// (never 5xx with a working store), and a 4xx leaves nothing stored.
func FuzzHandler(f *testing.F) {
	for _, s := range samples(f) {
		f.Add(s.json)
		f.Add(gzipped(f, s.json))
	}
	f.Add(report("example.com", "fuzz"))
	f.Add(report("not-served.example", "fuzz"))
	f.Add([]byte("{}"))
	f.Add([]byte{0x1f, 0x8b})
	st := newEmbedded(f)
	h := newHandler(f, st, Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a := post(h, body)
		switch {
		case a.status == http.StatusCreated || a.status == http.StatusOK:
			rep, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
			if err != nil {
				t.Fatalf("%d for a body the parser refuses: %v", a.status, err)
			}
			if _, err := st.Report(context.Background(), rep.Identity().Key()); err != nil {
				t.Fatalf("%d but no report record: %v", a.status, err)
			}
		case a.status >= 400 && a.status < 500:
		default:
			t.Fatalf("status %d %q", a.status, a.body)
		}
	})
}
