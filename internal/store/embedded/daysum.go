package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ststack/ststack/internal/store"
)

// Day sums: bucket sums/<domain>, key <day>, value store.DaySum. A sum is
// only ever stored for a complete day, in the transaction that read the
// facts it sums; every transaction that writes or flags a fact of a day
// deletes that day's sum (forgetSum), so a stored sum always equals the
// sum of the facts (a late report makes the next read derive it again).

// forgetSum deletes the stored sum of domain on day, if any.
func forgetSum(tx *bolt.Tx, domain string, day store.Day) error {
	b := tx.Bucket([]byte(bSums)).Bucket([]byte(domain))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(day))
}

// DaySums returns the sums of domain's facts for every day of [from, to],
// in order (store.SumDays). The sums of days up to complete, the caller's
// last complete day, are read from the stored sums; those missing are
// derived from the facts and stored. Later days are summed from the facts
// on every call.
func (s *Store) DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error) {
	if !from.Valid() || !to.Valid() || from > to {
		return nil, nil
	}
	var sums []store.DaySum
	var missing bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		sums, missing, err = daySums(tx, domain, from, to, complete, false)
		return err
	})
	if err == nil && missing {
		err = s.db.Update(func(tx *bolt.Tx) error {
			var err error
			sums, _, err = daySums(tx, domain, from, to, complete, true)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("embedded store: day sums of %s: %w", domain, err)
	}
	return sums, nil
}

// Rebuild forgets the stored sums of domain over [from, to] and derives
// them again from the facts (the sums of days up to complete are stored),
// returning them as DaySums does.
func (s *Store) Rebuild(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error) {
	if !from.Valid() || !to.Valid() || from > to {
		return nil, nil
	}
	var sums []store.DaySum
	err := s.db.Update(func(tx *bolt.Tx) error {
		for d := from; d <= to; d = d.AddDays(1) {
			if err := forgetSum(tx, domain, d); err != nil {
				return err
			}
		}
		var err error
		sums, _, err = daySums(tx, domain, from, to, complete, true)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: rebuild day sums of %s: %w", domain, err)
	}
	return sums, nil
}

// daySums reads the stored sums of domain over [from, to] and derives the
// others from the facts. Without write it reports (missing) that a
// complete day has no stored sum and returns nothing else; with write
// (tx writable) it stores the derived sums of complete days.
func daySums(tx *bolt.Tx, domain string, from, to, complete store.Day, write bool) ([]store.DaySum, bool, error) {
	stored := map[store.Day]store.DaySum{}
	if b := tx.Bucket([]byte(bSums)).Bucket([]byte(domain)); b != nil {
		c := b.Cursor()
		hi := []byte(min(to, complete))
		for k, v := c.Seek([]byte(from)); k != nil && bytes.Compare(k, hi) <= 0; k, v = c.Next() {
			var ds store.DaySum
			if err := json.Unmarshal(v, &ds); err != nil {
				return nil, false, fmt.Errorf("sum %s/%s: %w", domain, k, err)
			}
			stored[ds.Day] = ds
		}
	}
	// The first day without a stored sum: the facts are read from there.
	lo := from
	for lo <= to && lo <= complete {
		if _, ok := stored[lo]; !ok {
			break
		}
		lo = lo.AddDays(1)
	}
	if lo <= to && lo <= complete && !write {
		return nil, true, nil
	}
	var derived []store.DaySum
	if lo <= to {
		facts, err := factsIn(tx, domain, lo, to)
		if err != nil {
			return nil, false, err
		}
		derived = store.SumDays(domain, lo, to, facts)
	}
	var sb *bolt.Bucket
	sums := make([]store.DaySum, 0, len(stored)+len(derived))
	for d := from; d < lo; d = d.AddDays(1) {
		sums = append(sums, stored[d])
	}
	for _, ds := range derived {
		if prev, ok := stored[ds.Day]; ok {
			sums = append(sums, prev)
			continue
		}
		sums = append(sums, ds)
		if ds.Day > complete {
			continue
		}
		if sb == nil {
			var err error
			if sb, err = tx.Bucket([]byte(bSums)).CreateBucketIfNotExists([]byte(domain)); err != nil {
				return nil, false, err
			}
		}
		v, err := json.Marshal(ds)
		if err != nil {
			return nil, false, err
		}
		if err := sb.Put([]byte(ds.Day), v); err != nil {
			return nil, false, err
		}
	}
	return sums, false, nil
}
