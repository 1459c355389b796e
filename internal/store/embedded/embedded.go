// Package embedded stores TLS reports and check results in a data
// directory, for ststack serve and tests: no server needed. It behaves as
// package awsstore does (the storetest suite runs against both).
//
// Layout of the data directory:
//
//	ststack.db               bbolt database: raw bodies, facts, report records, check results
//
// Buckets of ststack.db, values JSON unless stated:
//
//	raw                      <report key>                → body as received (gzip or JSON bytes)
//	reports                  <report key>                → store.Receipt
//	facts/<domain>           <day>#<report key>          → store.Fact
//	checks/<domain>          store.HistoryKey(checked at) → health.Result
//	sums/<domain>            <day>                       → store.DaySum (derived, see DaySums)
//
// The raw body, the facts and the report record of a report are written in
// one bbolt transaction, shared with concurrent writers (bbolt Batch): one
// commit makes a report durable. The raw body is put only if the report has
// none yet, so the first body stored for a report is kept.
// Check results older than store.HistoryRetention are pruned on Save.
//
// One process at a time opens a data directory (bbolt holds a file lock).
package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// Names in the data directory and database.
const (
	dbFile   = "ststack.db"
	bRaw     = "raw"
	bReports = "reports"
	bFacts   = "facts"
	bChecks  = "checks"
	bSums    = "sums"
)

// Store is the embedded report store. It is safe for concurrent use.
type Store struct {
	dir     string
	db      *bolt.DB
	writers atomic.Int32 // SaveReport calls writing to the database
}

// batchDelay is how long a report write waits for others to share its
// transaction (and its fsyncs) when several are in flight.
const batchDelay = 2 * time.Millisecond

// Open opens (creating it if needed) the data directory dir. It fails when
// another process has it open.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("embedded store: %s is in use by another process", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded store: open %s: %w", filepath.Join(dir, dbFile), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{bRaw, bReports, bFacts, bChecks, bSums} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	db.MaxBatchDelay = batchDelay
	return &Store{dir: dir, db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// SaveReport stores e following the contract of package store. Everything
// happens in one bbolt transaction (writers are serialised), so the
// record, the facts and the conflicts of an identity always agree.
func (s *Store) SaveReport(ctx context.Context, e store.Entry) (store.Saved, error) {
	if err := e.Check(); err != nil {
		return store.Saved{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Saved{}, err
	}
	key := []byte(e.Report.Key)
	// The common duplicate costs no write transaction.
	var known *store.Receipt
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bReports)).Get(key)
		if v == nil {
			return nil
		}
		known = new(store.Receipt)
		return json.Unmarshal(v, known)
	})
	if err != nil {
		return store.Saved{}, fmt.Errorf("embedded store: read report %s: %w", e.Report.Key, err)
	}
	if known != nil && known.Digest == e.Report.Digest {
		return store.Saved{Key: e.Report.Key, Conflicts: known.Conflicts}, nil
	}
	var saved store.Saved
	write := func(tx *bolt.Tx) error {
		saved = store.Saved{} // Batch may run this more than once
		rb := tx.Bucket([]byte(bReports))
		v := rb.Get(key)
		if v == nil {
			saved = store.Saved{Created: true, Key: e.Report.Key}
			return putEntry(tx, e)
		}
		var first store.Receipt
		if err := json.Unmarshal(v, &first); err != nil {
			return fmt.Errorf("report %s: %w", e.Report.Key, err)
		}
		if first.Digest == "" { // stored before digests were recorded
			d, err := storedDigest(tx, e.Report.Key)
			if err != nil {
				return err
			}
			first.Digest = d
		}
		if first.Digest == e.Report.Digest {
			saved = store.Saved{Key: e.Report.Key, Conflicts: first.Conflicts}
			return nil
		}
		// Another body holds the identity: keep this one beside it.
		ve := e.Variant()
		saved = store.Saved{Key: ve.Report.Key, Conflicts: ve.Report.Conflicts}
		if rb.Get([]byte(ve.Report.Key)) != nil {
			return nil // this variant is stored already
		}
		if err := putEntry(tx, ve); err != nil {
			return err
		}
		saved.Created = true
		if len(first.Conflicts) < store.MaxConflicts {
			first.AddConflict(ve.Report.Key)
		}
		return flagConflict(tx, first)
	}
	// A write alone commits at once; concurrent ones share a transaction
	// and its fsyncs (bbolt Batch).
	if s.writers.Add(1) > 1 {
		err = s.db.Batch(write)
	} else {
		err = s.db.Update(write)
	}
	s.writers.Add(-1)
	if err != nil {
		return store.Saved{}, fmt.Errorf("embedded store: write report %s: %w", e.Report.Key, err)
	}
	return saved, nil
}

// putEntry writes e's raw body (when the report has none yet), its facts
// and its record.
func putEntry(tx *bolt.Tx, e store.Entry) error {
	key := []byte(e.Report.Key)
	rawb := tx.Bucket([]byte(bRaw))
	if rawb.Get(key) == nil {
		if err := rawb.Put(key, e.Raw); err != nil {
			return err
		}
	}
	fb := tx.Bucket([]byte(bFacts))
	for _, f := range e.Facts {
		v, err := json.Marshal(f)
		if err != nil {
			return err
		}
		db, err := fb.CreateBucketIfNotExists([]byte(f.Domain))
		if err != nil {
			return err
		}
		if err := db.Put(factKey(f.Day, f.ReportKey), v); err != nil {
			return err
		}
		if err := forgetSum(tx, f.Domain, f.Day); err != nil {
			return err
		}
	}
	rec, err := json.Marshal(e.Report)
	if err != nil {
		return err
	}
	return tx.Bucket([]byte(bReports)).Put(key, rec)
}

// flagConflict writes the record r of the body stored first for an
// identity, with its conflicts, and flags each of its facts.
func flagConflict(tx *bolt.Tx, r store.Receipt) error {
	rec, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket([]byte(bReports)).Put([]byte(r.Key), rec); err != nil {
		return err
	}
	fb := tx.Bucket([]byte(bFacts))
	for _, d := range r.Domains {
		db := fb.Bucket([]byte(d))
		if db == nil {
			continue
		}
		k := factKey(store.DayOf(r.Start), r.Key)
		v := db.Get(k)
		if v == nil {
			continue
		}
		var f store.Fact
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("fact %s/%s: %w", d, k, err)
		}
		f.Conflict = true
		nv, err := json.Marshal(f)
		if err != nil {
			return err
		}
		if err := db.Put(k, nv); err != nil {
			return err
		}
		if err := forgetSum(tx, d, f.Day); err != nil {
			return err
		}
	}
	return nil
}

// storedDigest is the digest of the raw body stored for key, read within
// tx.
func storedDigest(tx *bolt.Tx, key string) (string, error) {
	raw := tx.Bucket([]byte(bRaw)).Get([]byte(key))
	if raw == nil {
		return "", fmt.Errorf("%w: raw body %s", store.ErrNotFound, key)
	}
	d, err := store.DigestOfRaw(raw)
	if err != nil {
		return "", nil // a body that no longer parses matches nothing
	}
	return d, nil
}

func factKey(day store.Day, key string) []byte {
	return []byte(string(day) + "#" + key)
}

// Report returns the record of the report with identity key key.
func (s *Store) Report(ctx context.Context, key string) (store.Receipt, error) {
	if err := store.ValidKey(key); err != nil {
		return store.Receipt{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var r store.Receipt
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bReports)).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%w: report %s", store.ErrNotFound, key)
		}
		return json.Unmarshal(v, &r)
	})
	return r, err
}

// Raw returns the raw body of the report with identity key key, as
// received.
func (s *Store) Raw(ctx context.Context, key string) ([]byte, error) {
	if err := store.ValidKey(key); err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var b []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(bRaw)).Get([]byte(key)); v != nil {
			b = bytes.Clone(v) // v is valid only during the transaction
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if b == nil {
		return nil, fmt.Errorf("%w: raw body %s", store.ErrNotFound, key)
	}
	return b, nil
}

// RawKeys returns the identity keys of the reports whose raw body is
// stored, sorted.
func (s *Store) RawKeys(ctx context.Context) ([]string, error) {
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bRaw)).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	return keys, nil // bbolt iterates in key order
}

// Facts returns the facts of domain whose day is in [from, to], in order
// of day, then report key.
func (s *Store) Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	if from > to {
		return nil, nil
	}
	var facts []store.Fact
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		facts, err = factsIn(tx, domain, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	return facts, nil
}

// factsIn reads the facts of domain over [from, to] within tx.
func factsIn(tx *bolt.Tx, domain string, from, to store.Day) ([]store.Fact, error) {
	var facts []store.Fact
	db := tx.Bucket([]byte(bFacts)).Bucket([]byte(domain))
	if db == nil {
		return nil, nil
	}
	lo, hi := []byte(string(from)+"#"), []byte(string(to)+"#~")
	c := db.Cursor()
	for k, v := c.Seek(lo); k != nil && bytes.Compare(k, hi) <= 0; k, v = c.Next() {
		var f store.Fact
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, fmt.Errorf("fact %s/%s: %w", domain, k, err)
		}
		facts = append(facts, f)
	}
	return facts, nil
}

// Summary sums the facts of domain over [from, to] (store.Summarize).
func (s *Store) Summary(ctx context.Context, domain string, from, to store.Day) (store.Summary, error) {
	return store.SummaryFrom(ctx, s, domain, from, to)
}

// Last implements checker.History.
func (s *Store) Last(ctx context.Context, domain string) (health.Result, bool, error) {
	var r health.Result
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bChecks)).Bucket([]byte(domain))
		if b == nil {
			return nil
		}
		_, v := b.Cursor().Last()
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return health.Result{}, false, fmt.Errorf("embedded store: last check of %s: %w", domain, err)
	}
	return r, ok, nil
}

// Save implements checker.History: each result is kept under its time, so
// an older result never hides a newer one; results older than
// store.HistoryRetention before r are removed.
func (s *Store) Save(ctx context.Context, r health.Result) error {
	if r.Domain == "" {
		return errors.New("embedded store: check result without a domain")
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("embedded store: check result of %s: %w", r.Domain, err)
	}
	cutoff := []byte(store.HistoryKey(r.CheckedAt.Add(-store.HistoryRetention)))
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket([]byte(bChecks)).CreateBucketIfNotExists([]byte(r.Domain))
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, cutoff) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return b.Put([]byte(store.HistoryKey(r.CheckedAt)), v)
	})
	if err != nil {
		return fmt.Errorf("embedded store: save check of %s: %w", r.Domain, err)
	}
	return nil
}
