package hostile

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// faultReport is a report about both served domains (two facts), with
// distinct counts per domain so that a fact counted twice shows.
func faultReport(id string) []byte {
	return []byte(`{"organization-name":"Fault Sender","date-range":{"start-datetime":"2024-03-05T00:00:00Z","end-datetime":"2024-03-05T23:59:59Z"},"report-id":"` + id + `","policies":[` +
		`{"policy":{"policy-type":"sts","policy-domain":"example.com"},"summary":{"total-successful-session-count":7,"total-failure-session-count":0}},` +
		`{"policy":{"policy-type":"sts","policy-domain":"example.org"},"summary":{"total-successful-session-count":11,"total-failure-session-count":2},` +
		`"failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-ip":"198.51.100.1","receiving-mx-hostname":"mx.example.org","failed-session-count":2}]}]}`)
}

func newFaultHandler(t *testing.T, env *awstest.Env) (http.Handler, *awsstore.Store) {
	t.Helper()
	st := awsstore.New(env.S3, env.DynamoDB, env.Bucket, env.Table)
	in, err := ingest.New(st, ingest.Options{Domains: servedDomains, Logger: slog.New(slog.DiscardHandler), StoreTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return ingest.NewHandler(in), st
}

func postReport(h http.Handler, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, ingest.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/tlsrpt+json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// checkStoredOnce checks that the report body is stored exactly once: its
// record, its raw body, one fact per served domain with the report's
// counts.
func checkStoredOnce(t *testing.T, env *awstest.Env, st *awsstore.Store, body []byte) {
	t.Helper()
	ctx := context.Background()
	rep, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	key := rep.Identity().Key()
	r, err := st.Report(ctx, key)
	if err != nil || r.Success != 18 || r.Failure != 2 {
		t.Errorf("record: %+v, %v; want 18 successful and 2 failed sessions", r, err)
	}
	raw, err := st.Raw(ctx, key)
	if err != nil || !bytes.Equal(raw, body) {
		t.Errorf("raw body: %d bytes, %v", len(raw), err)
	}
	objs, err := env.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(env.Bucket), Prefix: aws.String(store.RawKey(key))})
	if err != nil || len(objs.Contents) != 1 {
		t.Errorf("%d raw objects for the report, %v; want 1", len(objs.Contents), err)
	}
	day := store.DayOf(rep.Start)
	for d, want := range map[string]int64{"example.com": 7, "example.org": 11} {
		facts, err := st.Facts(ctx, d, day, day)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range facts {
			if f.ReportKey == key {
				n++
				if f.Success != want {
					t.Errorf("fact of %s: %d successful sessions, want %d", d, f.Success, want)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d facts of %s for the report, want 1", n, d)
		}
	}
}

// TestFaults injects store failures into every S3 and DynamoDB call an
// ingestion makes — the read of the report record, the raw body's
// PutObject, the claim's and each fact's PutItem, the record's completing
// UpdateItem — of every kind
// (server errors, throttling, timeouts, answers lost after the write), on
// the AWS store over dynalite and gofakes3, through the report endpoint.
// A fault the SDK's retries absorb (one failed attempt of three) is
// invisible: 201 (200 when the lost answer was the record's: the retry
// finds it written), stored once. A fault that lasts makes the post answer
// 503 (the sender retries); the retry, once the fault is gone, completes
// the report: 201, or 200 when the failed attempt had in fact written the
// record; either way stored exactly once.
func TestFaults(t *testing.T) {
	env := awstest.New(t)
	h, st := newFaultHandler(t, env)
	steps := []struct {
		name  string
		op    string
		after int // attempts of op that pass before the fault
	}{
		{"read of the record", "GetItem", 0},
		{"claim of the identity", "PutItem", 0},
		{"raw body", "PutObject", 0},
		{"first fact", "PutItem", 1},
		{"second fact", "PutItem", 2},
		{"day sum mark", "UpdateItem", 0},
		{"record", "UpdateItem", 2}, // after the two day sum marks
	}
	kinds := []awstest.Kind{awstest.ServerError, awstest.Throttle, awstest.Timeout, awstest.LostResponse}
	n := 0
	for _, step := range steps {
		for _, kind := range kinds {
			for _, lasting := range []bool{false, true} {
				n++
				name := fmt.Sprintf("%s/%s/lasting=%v", step.name, kind, lasting)
				t.Run(name, func(t *testing.T) {
					body := faultReport(fmt.Sprintf("fault-%d", n))
					env.Faults.Reset()
					times := 1
					if lasting {
						times = -1
					}
					after := step.after
					if step.op == "PutItem" && lasting {
						// Facts are written concurrently: with a
						// lasting fault, the Nth PutItem and all
						// after it fail.
						after = min(after, 2)
					}
					env.Faults.Fail(step.op, after, times, kind)
					got := postReport(h, body)
					calls := env.Faults.Calls(step.op)
					env.Faults.Reset()
					if calls <= step.after {
						t.Fatalf("%s called %d times: the fault was never reached", step.op, calls)
					}
					recordLost := step.name == "record" && kind == awstest.LostResponse
					if !lasting {
						// The SDK retries. When the record's write
						// happened but its answer was lost, the retry
						// finds it: the store cannot tell that this
						// call wrote it, and says "already stored".
						want := http.StatusCreated
						if recordLost {
							want = http.StatusOK
						}
						if got != want {
							t.Fatalf("post with one failed attempt: %d, want %d", got, want)
						}
						checkStoredOnce(t, env, st, body)
						return
					}
					if got != http.StatusServiceUnavailable {
						t.Fatalf("post with %s failing: %d, want 503", step.op, got)
					}
					retry := postReport(h, body)
					wantRetry := http.StatusCreated
					if recordLost {
						wantRetry = http.StatusOK // the record was written, its answer lost
					}
					if retry != wantRetry {
						t.Fatalf("retry: %d, want %d", retry, wantRetry)
					}
					if again := postReport(h, body); again != http.StatusOK {
						t.Errorf("third post: %d, want 200 (known)", again)
					}
					checkStoredOnce(t, env, st, body)
				})
			}
		}
	}
}

// TestFaultsConcurrentDuplicates posts one report from 8 senders at once
// while fact writes keep failing for a while: some posts answer 503, the
// senders retry until each has a 2xx, and in the end exactly one post
// answered 201 and the report is stored once.
func TestFaultsConcurrentDuplicates(t *testing.T) {
	env := awstest.New(t)
	h, st := newFaultHandler(t, env)
	body := faultReport("concurrent")
	env.Faults.Fail("PutItem", 0, 12, awstest.Throttle)
	env.Faults.Fail("PutObject", 1, 2, awstest.LostResponse)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for attempt := 0; attempt < 20; attempt++ {
				st := postReport(h, body)
				mu.Lock()
				statuses[st]++
				mu.Unlock()
				if st/100 == 2 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Error("a sender got no 2xx in 20 attempts")
		})
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusCreated]+statuses[http.StatusOK] != 8 {
		t.Errorf("statuses %v: want exactly one 201 and a 2xx for each of the 8 senders", statuses)
	}
	for s := range statuses {
		if s != http.StatusCreated && s != http.StatusOK && s != http.StatusServiceUnavailable {
			t.Errorf("status %d answered", s)
		}
	}
	t.Logf("answers: %v", statuses)
	checkStoredOnce(t, env, st, body)
}
