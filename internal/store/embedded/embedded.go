// Package embedded stores TLS reports and check results in a data
// directory, for ststack serve and tests: no server needed. It behaves as
// package awsstore does (the storetest suite runs against both).
//
// Layout of the data directory:
//
//	ststack.db               bbolt database: facts, report records, check results
//	reports/<report key>     raw bodies, as received (gzip or JSON)
//
// Buckets of ststack.db, values JSON:
//
//	reports                  <report key>                → store.Report
//	facts/<domain>           <day>#<report key>          → store.Fact
//	checks/<domain>          store.HistoryKey(checked at) → checker.Result
//
// A raw body is written to a temporary file, synced, and linked to its name
// only if that name is free, so the first body stored for a report is kept.
// Facts and the report record are then written in one bbolt transaction.
// Check results older than store.HistoryRetention are pruned on Save.
//
// One process at a time opens a data directory (bbolt holds a file lock).
package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/store"
)

// Compile-time checks: the store is what its consumers need.
var (
	_ checker.ReportStats = (*Store)(nil)
	_ checker.History     = (*Store)(nil)
)

// Names in the data directory and database.
const (
	dbFile    = "ststack.db"
	rawDir    = "reports"
	bReports  = "reports"
	bFacts    = "facts"
	bChecks   = "checks"
	tmpPrefix = ".tmp-"
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
	if err := os.MkdirAll(filepath.Join(dir, rawDir), 0o700); err != nil {
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
		for _, b := range []string{bReports, bFacts, bChecks} {
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

// SaveReport stores e following the contract of package store.
func (s *Store) SaveReport(ctx context.Context, e store.Entry) (bool, error) {
	if err := e.Check(); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	key := []byte(e.Report.Key)
	var known bool
	err := s.db.View(func(tx *bolt.Tx) error {
		known = tx.Bucket([]byte(bReports)).Get(key) != nil
		return nil
	})
	if err != nil || known {
		return false, err
	}
	if err := s.putRaw(e.Report.Key, e.Raw); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rec, err := json.Marshal(e.Report)
	if err != nil {
		return false, err
	}
	facts := make([][]byte, len(e.Facts))
	for i, f := range e.Facts {
		if facts[i], err = json.Marshal(f); err != nil {
			return false, err
		}
	}
	var created bool
	write := func(tx *bolt.Tx) error {
		created = false // Batch may run this more than once
		fb := tx.Bucket([]byte(bFacts))
		for i, f := range e.Facts {
			db, err := fb.CreateBucketIfNotExists([]byte(f.Domain))
			if err != nil {
				return err
			}
			if err := db.Put(factKey(f.Day, f.ReportKey), facts[i]); err != nil {
				return err
			}
		}
		rb := tx.Bucket([]byte(bReports))
		if rb.Get(key) != nil {
			return nil
		}
		created = true
		return rb.Put(key, rec)
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
		return false, fmt.Errorf("embedded store: write report %s: %w", e.Report.Key, err)
	}
	return created, nil
}

func factKey(day store.Day, key string) []byte {
	return []byte(string(day) + "#" + key)
}

// putRaw writes raw to reports/<key> unless that file exists: through a
// synced temporary file linked into place, then the directory synced.
func (s *Store) putRaw(key string, raw []byte) error {
	dir := filepath.Join(s.dir, rawDir)
	name := filepath.Join(dir, key)
	if _, err := os.Lstat(name); err == nil {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("embedded store: raw body %s: %w", key, err)
	}
	defer os.Remove(tmp)
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("embedded store: raw body %s: %w", key, err)
	}
	if err := os.Link(tmp, name); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("embedded store: raw body %s: %w", key, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("embedded store: sync %s: %w", dir, err)
	}
	return nil
}

// Report returns the record of the report with identity key key.
func (s *Store) Report(ctx context.Context, key string) (store.Report, error) {
	if err := store.ValidKey(key); err != nil {
		return store.Report{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var r store.Report
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
	b, err := os.ReadFile(filepath.Join(s.dir, rawDir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: raw body %s", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	return b, nil
}

// Facts returns the facts of domain whose day is in [from, to], in order
// of day, then report key.
func (s *Store) Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	if from > to {
		return nil, nil
	}
	var facts []store.Fact
	lo, hi := []byte(string(from)+"#"), []byte(string(to)+"#~")
	err := s.db.View(func(tx *bolt.Tx) error {
		db := tx.Bucket([]byte(bFacts)).Bucket([]byte(domain))
		if db == nil {
			return nil
		}
		c := db.Cursor()
		for k, v := c.Seek(lo); k != nil && bytes.Compare(k, hi) <= 0; k, v = c.Next() {
			var f store.Fact
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("fact %s/%s: %w", domain, k, err)
			}
			facts = append(facts, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	return facts, nil
}

// Summary sums the facts of domain over [from, to] (store.Summarize).
func (s *Store) Summary(ctx context.Context, domain string, from, to store.Day) (store.Summary, error) {
	return store.SummaryFrom(ctx, s, domain, from, to)
}

// ReportStats implements checker.ReportStats.
func (s *Store) ReportStats(ctx context.Context, domain string, from, to time.Time) (checker.Stats, error) {
	return store.ReportStatsFrom(ctx, s, domain, from, to)
}

// Last implements checker.History.
func (s *Store) Last(ctx context.Context, domain string) (checker.Result, bool, error) {
	var r checker.Result
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
		return checker.Result{}, false, fmt.Errorf("embedded store: last check of %s: %w", domain, err)
	}
	return r, ok, nil
}

// Save implements checker.History: each result is kept under its time, so
// an older result never hides a newer one; results older than
// store.HistoryRetention before r are removed.
func (s *Store) Save(ctx context.Context, r checker.Result) error {
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
