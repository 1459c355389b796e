package awsstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/storetest"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// capacity counts the read and write units DynamoDB reports
// (ReturnConsumedCapacity TOTAL) for every request through it.
type capacity struct {
	DynamoDBAPI
	mu            sync.Mutex
	read, write   float64
	reads, writes int
}

func (c *capacity) note(cc *types.ConsumedCapacity, read bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0.0
	if cc != nil && cc.CapacityUnits != nil {
		n = *cc.CapacityUnits
	}
	if read {
		c.read += n
		c.reads++
	} else {
		c.write += n
		c.writes++
	}
}

func (c *capacity) reset() {
	c.mu.Lock()
	c.read, c.write, c.reads, c.writes = 0, 0, 0, 0
	c.mu.Unlock()
}

func (c *capacity) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.DynamoDBAPI.Query(ctx, in, o...)
	if err == nil {
		c.note(out.ConsumedCapacity, true)
	}
	return out, err
}

func (c *capacity) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.DynamoDBAPI.GetItem(ctx, in, o...)
	if err == nil {
		c.note(out.ConsumedCapacity, true)
	}
	return out, err
}

func (c *capacity) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.DynamoDBAPI.PutItem(ctx, in, o...)
	if err == nil {
		c.note(out.ConsumedCapacity, false)
	}
	return out, err
}

// benchInt reads a positive integer from the environment, else def.
func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkOverview1000 measures, against dynalite, the reads of the
// dashboard's overview (internal/dashboard: per domain the day sums of the
// last 30 days, complete up to the day before yesterday, and the latest
// check, 8 domains at a time) over STSTACK_BENCH_DOMAINS domains (1,000):
// each domain has STSTACK_BENCH_REPORTS reports (20) for yesterday, summed
// live on every view, and one report on each of the 28 complete days
// before (a day sum's size does not grow with its reports: it holds one
// entry per provenance and conflict flag). It reports the read units and
// requests of the first view (which derives and stores the sums) and of
// the following ones (b.N), per view. Run it with `make bench-overview`.
func BenchmarkOverview1000(b *testing.B) {
	domains := benchInt("STSTACK_BENCH_DOMAINS", 1000)
	perDay := benchInt("STSTACK_BENCH_REPORTS", 20)
	ctx := context.Background()
	s, env := newStore(b)
	cc := &capacity{DynamoDBAPI: env.DynamoDB}
	s.ddb = cc
	now := time.Now().UTC()
	today := store.DayOf(now)
	names := make([]string, domains)
	for i := range names {
		names[i] = fmt.Sprintf("d%04d.example", i)
	}
	// Load: facts and one check result per domain, written directly.
	start := time.Now()
	var items atomic.Int64
	load := func(d string) error {
		put := func(f store.Fact) error {
			it, err := factItem(f)
			if err != nil {
				return err
			}
			_, err = env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: it})
			items.Add(1)
			return err
		}
		fact := func(org string, id string, day store.Day) store.Fact {
			fail := tlsrpt.FailureDetail{ResultType: tlsrpt.ResultCertificateExpired, Count: 3,
				ReceivingMXHostname: "mx1." + d, ReceivingIP: "192.0.2.1", SendingMTAIP: "198.51.100.7"}
			e := storetest.Entry(b, storetest.Report(org, id, day, 1000, []string{d}, fail))
			e.SetProvenance(store.ProvenanceHTTPS)
			return e.Facts[0]
		}
		for r := range perDay {
			if err := put(fact(fmt.Sprintf("Sender %d", r), fmt.Sprintf("y%d", r), today.AddDays(-1))); err != nil {
				return err
			}
		}
		for day := 2; day < 30; day++ {
			if err := put(fact("Sender 0", fmt.Sprintf("c%d", day), today.AddDays(-day))); err != nil {
				return err
			}
		}
		return s.Save(ctx, health.Result{Domain: d, CheckedAt: now.Add(-time.Hour), Findings: []health.Finding{
			{Severity: health.SeverityInfo, Code: "policy-ok", Message: "policy fetched over HTTPS, 4 lines, mode testing"},
		}})
	}
	if err := each(ctx, names, 32, load); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d domains, %d facts in %s", domains, items.Load(), time.Since(start).Round(time.Second))
	view := func() {
		err := each(ctx, names, 8, func(d string) error {
			if _, err := s.DaySums(ctx, d, today.AddDays(-29), today, today.AddDays(-2)); err != nil {
				return err
			}
			_, _, err := s.Last(ctx, d)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cc.reset()
	t0 := time.Now()
	view()
	b.Logf("first view (derives the sums): %s, %.0f read units in %d reads, %.0f write units in %d writes",
		time.Since(t0).Round(time.Millisecond), cc.read, cc.reads, cc.write, cc.writes)
	cc.reset()
	b.ResetTimer()
	for range b.N {
		view()
	}
	b.StopTimer()
	b.ReportMetric(cc.read/float64(b.N), "RCU/view")
	b.ReportMetric(float64(cc.reads)/float64(b.N), "reads/view")
	b.ReportMetric(cc.write/float64(b.N), "WCU/view")
}

// each runs fn for every name, workers at once; the first error wins.
func each(ctx context.Context, names []string, workers int, fn func(string) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan string)
	for range workers {
		wg.Go(func() {
			for n := range next {
				if err := fn(n); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range names {
		next <- n
	}
	close(next)
	wg.Wait()
	return first
}
