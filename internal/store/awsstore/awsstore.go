// Package awsstore stores TLS reports and check results in AWS: raw report
// bodies in S3, facts, report records and check results in one DynamoDB
// table. It needs no transactions and no scans: every read is a GetItem or
// a Query on one partition.
//
// # Table (partition key pk, sort key sk, both strings; on demand)
//
//	item          pk                  sk                        written
//	fact          DOMAIN#<domain>     FACT#<day>#<report key>   PutItem, overwriting
//	check result  DOMAIN#<domain>     CHECK#<checked at>        PutItem; ttl = checked at + 90 days
//	report        REPORT#<report key> REPORT                    PutItem if attribute_not_exists(pk)
//
// <domain> is a lower-case A-label, <day> a UTC day "2006-01-02",
// <report key> tlsrpt.Identity.Key (letters, digits and "-_.!" only),
// <checked at> store.HistoryKey (fixed-width UTC time). Attribute ttl (N,
// Unix seconds) is set on check results only; the table's TTL must be
// enabled on it for them to expire.
//
// Access patterns:
//   - facts of a domain over days [from, to]: Query pk = DOMAIN#<domain>,
//     sk BETWEEN "FACT#<from>#" AND "FACT#<to>#~" (every key byte sorts
//     below "~"); sums are computed from them (store.Summarize);
//   - the list of a domain's reports: the same Query (one fact per report);
//   - one report's record: GetItem REPORT#<key>/REPORT;
//   - one report's raw body: S3 GetObject store.RawKey(key);
//   - a domain's latest check result: Query pk = DOMAIN#<domain>,
//     sk begins_with "CHECK#", descending, Limit 1.
//
// Raw bodies are S3 objects "reports/<report key>", written with
// If-None-Match: * so the first body stored for a report is kept, with
// Content-Type application/tlsrpt+gzip or application/tlsrpt+json.
//
// SaveReport follows the contract of package store: report record absent →
// raw body → facts → report record (conditional). Only after the last write
// is the report complete; a failed Save is completed by the next.
package awsstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// S3API is the part of *s3.Client the store uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// DynamoDBAPI is the part of *dynamodb.Client the store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// LazyS3 is an S3API (and what mailin reads messages with) over the
// client the function returns, which it builds on its first call
// (awsenv.Lazy): a Lambda function's init then builds no client.
type LazyS3 func() *s3.Client

func (f LazyS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return f().PutObject(ctx, in, opts...)
}

func (f LazyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return f().GetObject(ctx, in, opts...)
}

// LazyDynamoDB is a DynamoDBAPI over the client the function returns, as
// LazyS3.
type LazyDynamoDB func() *dynamodb.Client

func (f LazyDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f().GetItem(ctx, in, opts...)
}

func (f LazyDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f().PutItem(ctx, in, opts...)
}

func (f LazyDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return f().UpdateItem(ctx, in, opts...)
}

func (f LazyDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return f().Query(ctx, in, opts...)
}

// Store is the AWS report store. It is safe for concurrent use.
type Store struct {
	s3            S3API
	ddb           DynamoDBAPI
	bucket, table string
}

// New returns a store on an existing bucket and table. Create the clients
// once per process (per Lambda cold start) and share the Store.
func New(s3c S3API, ddb DynamoDBAPI, bucket, table string) *Store {
	return &Store{s3: s3c, ddb: ddb, bucket: bucket, table: table}
}

// Key prefixes of the table design.
const (
	pkDomain   = "DOMAIN#"
	pkReport   = "REPORT#"
	skReport   = "REPORT"
	skFact     = "FACT#"
	skCheck    = "CHECK#"
	skConflict = "CONFLICT#"
	skFactEnd  = "~" // above every byte of a day or report key
)

// maxRawSize bounds a raw body read back from S3.
const maxRawSize = 128 << 20

// factWorkers bounds the concurrent fact writes of one Save.
const factWorkers = 8

// SaveReport stores e following the contract of package store.
func (s *Store) SaveReport(ctx context.Context, e store.Entry) (store.Saved, error) {
	return s.saveReport(ctx, e, factWorkers)
}

// statePending is the attribute "state" of a report item that is claimed
// but not complete: its raw body and facts may still be missing. A
// complete item has no "state" (nor had any item stored before claims).
const statePending = "pending"

// record is a report item as read back.
type record struct {
	store.Receipt
	pending bool
}

// saveReport is SaveReport writing at most workers facts at a time.
//
// Without transactions (dynalite has none, and they would not cover S3)
// the order of writes keeps the facts equal to the records under any
// interleaving:
//
//  1. claim the identity: put the report item with state "pending" and
//     the content's digest, only if absent. Only a writer of that digest
//     ever writes facts under the identity key;
//  2. whoever holds a pending claim of its own digest writes the raw body
//     (if absent) and the facts, then completes the item (removes "state",
//     on condition it is pending with that digest): exactly one writer
//     sees created;
//  3. a writer of another digest first adds its variant key to the item's
//     conflicts and puts a conflict marker in every domain's partition
//     (so that no fact of either body is ever read unflagged once both
//     exist), then stores its body under the variant key by 1 and 2.
func (s *Store) saveReport(ctx context.Context, e store.Entry, workers int) (store.Saved, error) {
	if err := e.Check(); err != nil {
		return store.Saved{}, err
	}
	key := e.Report.Key
	first, found, err := s.record(ctx, key)
	if err != nil {
		return store.Saved{}, err
	}
	if !found {
		claimed, err := s.claim(ctx, e.Report)
		if err != nil {
			return store.Saved{}, err
		}
		if claimed {
			return s.complete(ctx, e, workers)
		}
		if first, found, err = s.record(ctx, key); err != nil {
			return store.Saved{}, err
		}
		if !found {
			return store.Saved{}, fmt.Errorf("awsstore: report %s: claimed by another writer, then gone", key)
		}
	}
	digest := first.Digest
	if digest == "" { // stored before digests were recorded
		if digest, err = s.legacyDigest(ctx, key); err != nil {
			return store.Saved{}, err
		}
	}
	if digest == e.Report.Digest {
		if first.pending {
			return s.complete(ctx, e, workers)
		}
		return store.Saved{Key: key, Conflicts: first.Conflicts}, nil
	}
	if store.IdentityKeyOf(key) != key {
		return store.Saved{}, fmt.Errorf("awsstore: variant %s holds another digest", key)
	}
	// Another body holds the identity: keep this one beside it.
	ve := e.Variant()
	if err := s.markConflict(ctx, first.Receipt, digest, ve); err != nil {
		return store.Saved{}, err
	}
	return s.saveReport(ctx, ve, workers)
}

// record reads the report item of key.
func (s *Store) record(ctx context.Context, key string) (record, bool, error) {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: reportKey(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return record{}, false, fmt.Errorf("awsstore: read report %s: %w", key, err)
	}
	if out.Item == nil {
		return record{}, false, nil
	}
	r, err := reportFromItem(out.Item)
	if err != nil {
		return record{}, false, fmt.Errorf("awsstore: %w", err)
	}
	return record{Receipt: r, pending: getS(out.Item, "state") == statePending}, true, nil
}

// claim puts the pending report item of r unless an item is there; false
// when one was.
func (s *Store) claim(ctx context.Context, r store.Receipt) (bool, error) {
	it := reportItem(r)
	it["state"] = str(statePending)
	_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("awsstore: claim report %s: %w", r.Key, err)
	}
	return true, nil
}

// complete writes the raw body and facts of e, whose pending claim is its
// own, and then completes the claim.
func (s *Store) complete(ctx context.Context, e store.Entry, workers int) (store.Saved, error) {
	key := e.Report.Key
	if err := s.putRaw(ctx, key, e.Raw, e.Report.ContentType); err != nil {
		return store.Saved{}, err
	}
	if err := s.putFacts(ctx, e.Facts, workers); err != nil {
		return store.Saved{}, err
	}
	if err := s.markFactsStale(ctx, e.Facts); err != nil {
		return store.Saved{}, err
	}
	_, err := s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      reportKey(key),
		UpdateExpression:         aws.String("REMOVE #state"),
		ConditionExpression:      aws.String("#state = :pending AND digest = :digest"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": str(statePending), ":digest": str(e.Report.Digest),
		},
	})
	saved := store.Saved{Key: key, Conflicts: e.Report.Conflicts}
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return saved, nil // completed by a concurrent writer of the same body
	case err != nil:
		return store.Saved{}, fmt.Errorf("awsstore: complete report %s: %w", key, err)
	}
	saved.Created = true
	return saved, nil
}

// markConflict records that variant ve conflicts with first, the body
// stored first for the identity (whose digest is digest): ve's key is
// added to first's conflicts (a string set, so concurrent additions all
// stay), first's digest is filled in if it had none, and a conflict
// marker is put in the partition of every domain of either body, which
// flags their facts when read (Facts).
func (s *Store) markConflict(ctx context.Context, first store.Receipt, digest string, ve store.Entry) error {
	// The list stops at store.MaxConflicts keys (the item must stay far
	// below DynamoDB's 400 KB); the markers below flag every body anyway.
	_, err := s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 reportKey(first.Key),
		UpdateExpression:    aws.String("ADD conflicts :v SET digest = if_not_exists(digest, :d)"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(conflicts) OR size(conflicts) < :max)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v":   &types.AttributeValueMemberSS{Value: []string{ve.Report.Key}},
			":d":   str(digest),
			":max": num(store.MaxConflicts),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("awsstore: mark conflict of %s: %w", first.Key, err)
	}
	domains := slices.Clone(first.Domains)
	for _, f := range ve.Facts {
		domains = append(domains, f.Domain)
	}
	slices.Sort(domains)
	for _, d := range slices.Compact(domains) {
		_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table,
			Item: map[string]types.AttributeValue{
				"pk": str(pkDomain + d), "sk": str(skConflict + first.Key), "report_key": str(first.Key),
			},
		})
		if err != nil {
			return fmt.Errorf("awsstore: mark conflict of %s in %s: %w", first.Key, d, err)
		}
	}
	// The facts of first read flagged from now on: their day sums must be
	// derived again (those of ve are marked when they are written).
	for _, d := range first.Domains {
		if err := s.markStale(ctx, d, store.DayOf(first.Start)); err != nil {
			return err
		}
	}
	return nil
}

// legacyDigest is the digest of the raw body stored for key; "" (matching
// no body) when it is missing or no longer parses.
func (s *Store) legacyDigest(ctx context.Context, key string) (string, error) {
	raw, err := s.Raw(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	d, err := store.DigestOfRaw(raw)
	if err != nil {
		return "", nil
	}
	return d, nil
}

// putRaw writes the raw body unless an object is there already.
func (s *Store) putRaw(ctx context.Context, key string, raw []byte, contentType string) error {
	for attempt := 0; ; attempt++ {
		_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{
			Bucket:      &s.bucket,
			Key:         aws.String(store.RawKey(key)),
			Body:        bytes.NewReader(raw), // seekable: signing and retries over plain HTTP
			ContentType: aws.String(contentType),
			IfNoneMatch: aws.String("*"),
		})
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "PreconditionFailed":
				return nil // stored before: the first body is kept
			case "ConditionalRequestConflict":
				// S3: another conditional write of the same key is in
				// flight (a concurrent delivery); wait for it.
				if attempt < 3 {
					if err := sleep(ctx, 100*time.Millisecond); err != nil {
						return err
					}
					continue
				}
			}
		}
		if err != nil {
			return fmt.Errorf("awsstore: write raw body %s: %w", key, err)
		}
		return nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// putFacts writes every fact, workers at a time; the first error wins.
func (s *Store) putFacts(ctx context.Context, facts []store.Fact, workers int) error {
	items := make([]map[string]types.AttributeValue, len(facts))
	for i, f := range facts {
		it, err := factItem(f)
		if err != nil {
			return err
		}
		items[i] = it
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range min(workers, len(items)) {
		wg.Go(func() {
			for i := range next {
				_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: items[i]})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("awsstore: write fact %s/%s: %w", facts[i].Domain, facts[i].ReportKey, err)
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range items {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// Report returns the record of the report with identity key key.
func (s *Store) Report(ctx context.Context, key string) (store.Receipt, error) {
	if err := store.ValidKey(key); err != nil {
		return store.Receipt{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: reportKey(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Receipt{}, fmt.Errorf("awsstore: read report %s: %w", key, err)
	}
	if out.Item == nil || getS(out.Item, "state") == statePending {
		// A pending claim is not a stored report (yet).
		return store.Receipt{}, fmt.Errorf("%w: report %s", store.ErrNotFound, key)
	}
	return reportFromItem(out.Item)
}

// Raw returns the raw body of the report with identity key key, as
// received.
func (s *Store) Raw(ctx context.Context, key string) ([]byte, error) {
	if err := store.ValidKey(key); err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(store.RawKey(key))})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, fmt.Errorf("%w: raw body %s", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("awsstore: read raw body %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxRawSize+1))
	if err != nil {
		return nil, fmt.Errorf("awsstore: read raw body %s: %w", key, err)
	}
	if len(b) > maxRawSize {
		return nil, fmt.Errorf("awsstore: raw body %s larger than %d bytes", key, maxRawSize)
	}
	return b, nil
}

// Facts returns the facts of domain whose day is in [from, to], in order
// of day, then report key.
func (s *Store) Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	return s.facts(ctx, domain, from, to, true)
}

// facts is Facts, with strongly consistent reads when consistent is true.
func (s *Store) facts(ctx context.Context, domain string, from, to store.Day, consistent bool) ([]store.Fact, error) {
	if from > to {
		return nil, nil
	}
	conflicts := map[string]bool{}
	err := s.query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :conflict)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pkDomain + domain), ":conflict": str(skConflict),
		},
		ConsistentRead: aws.Bool(consistent),
	}, func(item map[string]types.AttributeValue) error {
		conflicts[getS(item, "report_key")] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("awsstore: conflicts of %s: %w", domain, err)
	}
	var facts []store.Fact
	err = s.query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   str(pkDomain + domain),
			":from": str(skFact + string(from) + "#"),
			":to":   str(skFact + string(to) + "#" + skFactEnd),
		},
		ConsistentRead: aws.Bool(consistent),
	}, func(item map[string]types.AttributeValue) error {
		f, err := factFromItem(item)
		if err != nil {
			return err
		}
		f.Conflict = f.Conflict || conflicts[store.IdentityKeyOf(f.ReportKey)]
		facts = append(facts, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("awsstore: facts of %s: %w", domain, err)
	}
	return facts, nil
}

// query runs in and every following page, calling each for every item.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	for {
		out, err := s.ddb.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if err := each(it); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Summary sums the facts of domain over [from, to] (store.Summarize).
func (s *Store) Summary(ctx context.Context, domain string, from, to store.Day) (store.Summary, error) {
	return store.SummaryFrom(ctx, s, domain, from, to)
}

// Last implements checker.History.
func (s *Store) Last(ctx context.Context, domain string) (health.Result, bool, error) {
	out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :check)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pkDomain + domain), ":check": str(skCheck),
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(1),
		ConsistentRead:   aws.Bool(true),
	})
	if err != nil {
		return health.Result{}, false, fmt.Errorf("awsstore: last check of %s: %w", domain, err)
	}
	if len(out.Items) == 0 {
		return health.Result{}, false, nil
	}
	var r health.Result
	if err := json.Unmarshal([]byte(getS(out.Items[0], "result")), &r); err != nil {
		return health.Result{}, false, fmt.Errorf("awsstore: last check of %s: %w", domain, err)
	}
	return r, true, nil
}

// maxResultSize keeps a check result within a DynamoDB item.
const maxResultSize = 350 << 10

// Save implements checker.History: each result is its own item, so an
// older result never hides a newer one.
func (s *Store) Save(ctx context.Context, r health.Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("awsstore: check result of %s: %w", r.Domain, err)
	}
	if len(b) > maxResultSize {
		return fmt.Errorf("awsstore: check result of %s: %d bytes, more than %d", r.Domain, len(b), maxResultSize)
	}
	_, err = s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"pk":     str(pkDomain + r.Domain),
			"sk":     str(skCheck + store.HistoryKey(r.CheckedAt)),
			"result": str(string(b)),
			"ttl":    num(r.CheckedAt.Add(store.HistoryRetention).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("awsstore: save check of %s: %w", r.Domain, err)
	}
	return nil
}

func reportKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pkReport + key), "sk": str(skReport)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
