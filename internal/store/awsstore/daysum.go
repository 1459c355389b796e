package awsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ststack/ststack/internal/store"
)

// Day sums: item pk DOMAIN#<domain>, sk SUM#<day>, attribute "sum" (the
// store.DaySum as JSON) and, once a fact of that day was written or
// flagged after the sum, "stale" (a random token).
//
// Without transactions, a sum is kept equal to the facts by the order of
// writes and one condition:
//   - a writer of facts (SaveReport, a conflict) marks every day it
//     touched stale with a new token (UpdateItem SET stale) after the
//     facts and before the report is complete, so a retried save marks
//     them again;
//   - a reader uses a stored sum only when it has no stale token;
//     otherwise it remembers the token it read (or that there was no
//     item), reads the facts (strongly consistent) and puts the new sum
//     on condition that the token is still the one it read. A fact the
//     reader missed was written before its writer set a newer token, so
//     either the put fails, or the newer token lands on the new sum
//     afterwards: a stale sum is never stored as valid.

const skSum = "SUM#"

// newToken returns a random stale token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// markStale marks the sum of domain on day stale (creating the item when
// there is none).
func (s *Store) markStale(ctx context.Context, domain string, day store.Day) error {
	_, err := s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       sumKey(domain, day),
		UpdateExpression:          aws.String("SET stale = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(newToken())},
	})
	if err != nil {
		return fmt.Errorf("awsstore: mark day sum %s/%s stale: %w", domain, day, err)
	}
	return nil
}

// markFactsStale marks the day of every fact stale.
func (s *Store) markFactsStale(ctx context.Context, facts []store.Fact) error {
	type dd struct {
		domain string
		day    store.Day
	}
	seen := map[dd]bool{}
	for _, f := range facts {
		k := dd{f.Domain, f.Day}
		if seen[k] {
			continue
		}
		seen[k] = true
		if err := s.markStale(ctx, f.Domain, f.Day); err != nil {
			return err
		}
	}
	return nil
}

func sumKey(domain string, day store.Day) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pkDomain + domain), "sk": str(skSum + string(day))}
}

// storedSum is a sum item as read: the sum when valid, else the stale
// token the item holds.
type storedSum struct {
	sum   store.DaySum
	valid bool
	token string
}

// DaySums returns the sums of domain's facts for every day of [from, to],
// in order (store.SumDays). The sums of days up to complete, the caller's
// last complete day, are read from the stored sums (one Query); those
// missing or stale are derived from the facts (one Query) and stored.
// Later days are summed from the facts on every call. A sum that cannot
// be stored (no write permission, throttling) is still returned.
func (s *Store) DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error) {
	if !from.Valid() || !to.Valid() || from > to {
		return nil, nil
	}
	stored := map[store.Day]storedSum{}
	if last := min(to, complete); from <= last {
		err := s.query(ctx, &dynamodb.QueryInput{
			TableName:              &s.table,
			KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk":   str(pkDomain + domain),
				":from": str(skSum + string(from)),
				":to":   str(skSum + string(last)),
			},
			// Eventually consistent: an old sum is at worst a second
			// old, and no put relies on it (the put's condition does).
		}, func(item map[string]types.AttributeValue) error {
			day := store.Day(getS(item, "sk")[len(skSum):])
			if _, ok := item["stale"]; ok {
				stored[day] = storedSum{token: getS(item, "stale")}
				return nil
			}
			var ds store.DaySum
			if err := json.Unmarshal([]byte(getS(item, "sum")), &ds); err != nil {
				return fmt.Errorf("day sum %s/%s: %w", domain, day, err)
			}
			stored[day] = storedSum{sum: ds, valid: true}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("awsstore: day sums of %s: %w", domain, err)
		}
	}
	lo := from
	for lo <= to && lo <= complete && stored[lo].valid {
		lo = lo.AddDays(1)
	}
	sums := make([]store.DaySum, 0, len(stored)+1)
	for d := from; d < lo; d = d.AddDays(1) {
		sums = append(sums, stored[d].sum)
	}
	if lo > to {
		return sums, nil
	}
	// Facts that a sum is derived from are read strongly consistent
	// (see above); those of later days only show.
	facts, err := s.facts(ctx, domain, lo, to, lo <= complete)
	if err != nil {
		return nil, err
	}
	for _, ds := range store.SumDays(domain, lo, to, facts) {
		st, ok := stored[ds.Day]
		if st.valid {
			sums = append(sums, st.sum)
			continue
		}
		sums = append(sums, ds)
		if ds.Day <= complete {
			if err := s.putSum(ctx, ds, st.token, ok); err != nil && ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return sums, nil
}

// putSum stores ds unless its item changed since it was read: it held
// stale token token (exists) or was absent (!exists).
func (s *Store) putSum(ctx context.Context, ds store.DaySum, token string, exists bool) error {
	b, err := json.Marshal(ds)
	if err != nil {
		return err
	}
	it := sumKey(ds.Domain, ds.Day)
	it["sum"] = str(string(b))
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: it}
	if exists {
		in.ConditionExpression = aws.String("stale = :t")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": str(token)}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	_, err = s.ddb.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // a fact came in meanwhile: the next read derives it again
	}
	return err
}

// Rebuild marks the sums of domain over [from, to] stale and derives them
// again from the facts, returning them as DaySums does.
func (s *Store) Rebuild(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error) {
	if !from.Valid() || !to.Valid() || from > to {
		return nil, nil
	}
	for d := from; d <= min(to, complete); d = d.AddDays(1) {
		if err := s.markStale(ctx, domain, d); err != nil {
			return nil, err
		}
	}
	return s.DaySums(ctx, domain, from, to, complete)
}
