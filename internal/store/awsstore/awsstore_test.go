package awsstore

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func newStore(t testing.TB) (*Store, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	return New(env.S3, env.DynamoDB, env.Bucket, env.Table), env
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := newStore(t)
		return s
	})
}

// TestFaults injects failures into each write of SaveReport: the save
// fails (the endpoint answers 5xx), what was written stays, and the next
// save completes the report.
func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		op   string
		kind awstest.Kind
		// after is the number of attempts of op that pass first.
		after int
		// written says which parts exist after the failed save.
		raw, factsA, factsB bool
	}{
		{"read of the record fails", "GetItem", awstest.ServerError, 0, false, false, false},
		{"claim fails", "PutItem", awstest.ServerError, 0, false, false, false},
		{"claim written, answer lost", "PutItem", awstest.LostResponse, 0, false, false, false},
		{"raw body throttled", "PutObject", awstest.Throttle, 0, false, false, false},
		{"raw body 500", "PutObject", awstest.ServerError, 0, false, false, false},
		{"raw body times out", "PutObject", awstest.Timeout, 0, false, false, false},
		{"raw body written, answer lost", "PutObject", awstest.LostResponse, 0, true, false, false},
		{"facts fail after the raw body", "PutItem", awstest.ServerError, 1, true, false, false},
		{"facts throttled", "PutItem", awstest.Throttle, 1, true, false, false},
		{"second fact fails", "PutItem", awstest.ServerError, 2, true, true, false},
		// Two UpdateItems mark the day sums of the two domains stale
		// before the third completes the record.
		{"day sum mark fails after raw body and facts", "UpdateItem", awstest.ServerError, 0, true, true, true},
		{"completion fails after raw body and facts", "UpdateItem", awstest.ServerError, 2, true, true, true},
		{"completion times out", "UpdateItem", awstest.Timeout, 2, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, env := newStore(t)
			e := storetest.Entry(t, storetest.Report("Org", "faulty", "2024-03-02", 7, []string{"a.example", "b.example"}))
			env.Faults.Fail(tc.op, tc.after, -1, tc.kind)
			saved, err := saveSerial(ctx, s, e)
			if err == nil || saved.Created {
				t.Fatalf("SaveReport with %s failing = %+v, %v; want an error", tc.op, saved, err)
			}
			env.Faults.Reset()
			if _, err := s.Report(ctx, e.Report.Key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("report record after the failed save: %v, want ErrNotFound", err)
			}
			_, rawErr := s.Raw(ctx, e.Report.Key)
			if (rawErr == nil) != tc.raw {
				t.Errorf("raw body stored = %v, want %v", rawErr == nil, tc.raw)
			}
			for i, d := range []string{"a.example", "b.example"} {
				f, err := s.Facts(ctx, d, "2024-03-02", "2024-03-02")
				if err != nil {
					t.Fatal(err)
				}
				want := []bool{tc.factsA, tc.factsB}[i]
				if (len(f) == 1) != want {
					t.Errorf("fact of %s stored = %v, want %v", d, len(f) == 1, want)
				}
			}

			// The retry completes the report, once.
			saved, err = s.SaveReport(ctx, e)
			if err != nil || !saved.Created {
				t.Fatalf("retry: SaveReport = %+v, %v; want created", saved, err)
			}
			rep, err := s.Report(ctx, e.Report.Key)
			if err != nil || rep.Key != e.Report.Key {
				t.Fatalf("Report after the retry: %+v, %v", rep, err)
			}
			raw, err := s.Raw(ctx, e.Report.Key)
			if err != nil || string(raw) != string(e.Raw) {
				t.Errorf("Raw after the retry: %q, %v", raw, err)
			}
			for i, d := range []string{"a.example", "b.example"} {
				f, err := s.Facts(ctx, d, "2024-03-02", "2024-03-02")
				if err != nil || len(f) != 1 || f[0].Success != e.Facts[i].Success {
					t.Errorf("Facts(%s) after the retry: %v, %v", d, f, err)
				}
			}
			if saved, err := s.SaveReport(ctx, e); saved.Created || err != nil {
				t.Errorf("third SaveReport = %+v, %v; want known", saved, err)
			}
		})
	}
}

// saveSerial is SaveReport with facts written one at a time, in order, so
// that "the Nth PutItem" names a definite write.
func saveSerial(ctx context.Context, s *Store, e store.Entry) (store.Saved, error) {
	return s.saveReport(ctx, e, 1)
}

// TestRecordWrittenAnswerLost: the completion of the report record reached
// the table but its answer was lost; the retry finds the report complete.
func TestRecordWrittenAnswerLost(t *testing.T) {
	ctx := context.Background()
	s, env := newStore(t)
	e := storetest.Entry(t, storetest.Report("Org", "lost", "2024-03-02", 7, []string{"a.example"}))
	// The first UpdateItem marks the day sum stale, the second completes.
	env.Faults.Fail("UpdateItem", 1, -1, awstest.LostResponse)
	if _, err := s.SaveReport(ctx, e); err == nil {
		t.Fatal("SaveReport with the record's answer lost succeeded")
	}
	env.Faults.Reset()
	if saved, err := s.SaveReport(ctx, e); saved.Created || err != nil {
		t.Fatalf("retry = %+v, %v; want known (the record was written)", saved, err)
	}
	if _, err := s.Report(ctx, e.Report.Key); err != nil {
		t.Fatal(err)
	}
}

// TestKnownReportWritesNothing: a known report costs one read.
func TestKnownReportWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, env := newStore(t)
	e := storetest.Entry(t, storetest.Report("Org", "known", "2024-03-02", 7, []string{"a.example", "b.example"}))
	if _, err := s.SaveReport(ctx, e); err != nil {
		t.Fatal(err)
	}
	env.Faults.Reset()
	if saved, err := s.SaveReport(ctx, e); saved.Created || err != nil {
		t.Fatalf("SaveReport = %+v, %v", saved, err)
	}
	for _, op := range []string{"PutObject", "PutItem", "UpdateItem"} {
		if n := env.Faults.Calls(op); n != 0 {
			t.Errorf("%s called %d times for a known report", op, n)
		}
	}
	if n := env.Faults.Calls("GetItem"); n != 1 {
		t.Errorf("GetItem called %d times, want 1", n)
	}
}
