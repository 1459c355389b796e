package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdaenv"
	"github.com/ststack/ststack/internal/notify"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/store/storetest"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// readCounter counts what the store reads from DynamoDB: read units
// (ReturnConsumedCapacity TOTAL) and, per domain, the days of facts its
// Queries cover (sk BETWEEN FACT#<from># AND FACT#<to>#~).
type readCounter struct {
	awsstore.DynamoDBAPI
	mu       sync.Mutex
	units    float64
	factDays map[string]int // pk → days of facts queried
}

func (c *readCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.units, c.factDays = 0, map[string]int{}
}

func (c *readCounter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.DynamoDBAPI.Query(ctx, in, o...)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := out.ConsumedCapacity; cc != nil && cc.CapacityUnits != nil {
		c.units += *cc.CapacityUnits
	}
	from, _ := in.ExpressionAttributeValues[":from"].(*types.AttributeValueMemberS)
	to, _ := in.ExpressionAttributeValues[":to"].(*types.AttributeValueMemberS)
	pk, _ := in.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS)
	if from != nil && to != nil && pk != nil && strings.HasPrefix(from.Value, "FACT#") && in.ExclusiveStartKey == nil {
		f, err1 := store.ParseDay(from.Value[len("FACT#") : len("FACT#")+10])
		l, err2 := store.ParseDay(to.Value[len("FACT#") : len("FACT#")+10])
		if err1 == nil && err2 == nil {
			c.factDays[pk.Value] += int(l.Time().Sub(f.Time()).Hours()/24) + 1
		}
	}
	return out, nil
}

func (c *readCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.DynamoDBAPI.GetItem(ctx, in, o...)
	if err == nil && out.ConsumedCapacity != nil && out.ConsumedCapacity.CapacityUnits != nil {
		c.mu.Lock()
		c.units += *out.ConsumedCapacity.CapacityUnits
		c.mu.Unlock()
	}
	return out, err
}

const readsOrg = `organization: Acme
region: eu-west-1
domains:
  - name: a.test
    dns: {external: true}
    policy: {mode: testing, mx: [mx.a.test]}
  - name: b.test
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.b.test]}
reporting: {https: true, mailto: tlsrpt@reports.test}
`

// TestReadinessReadsDaySums: a scheduled run reads each domain's readiness
// window (14 days) from the day sums, not from every stored report: after
// the first run has derived the sums of the complete days, a run queries
// the facts of the two live days only (today and yesterday), plus the
// days with failed sessions, whose failure details the breakdown needs.
// The findings are those of the full sums: a.test (testing, no failures)
// is ready with every session of the 14 days counted; b.test (enforce)
// has an error naming the failures' result type and MX host.
func TestReadinessReadsDaySums(t *testing.T) {
	cfg, err := config.Parse([]byte(readsOrg), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := checktest.NewWorld(t, testNow)
	serve(t, w, cfg, "a.test")
	serve(t, w, cfg, "b.test")
	env := awstest.New(t)
	rc := &readCounter{DynamoDBAPI: env.DynamoDB}
	st := awsstore.New(env.S3, rc, env.Bucket, env.Table)
	ctx := context.Background()

	// Three reports a day for each of the 14 days of the window; b.test
	// had failures five days ago.
	const window, perDay, sessions = checker.DefaultReadinessWindowDays, 10, 10
	today := store.DayOf(testNow)
	failDay := today.AddDays(-5)
	for _, d := range []string{"a.test", "b.test"} {
		for i := range window {
			day := today.AddDays(-i)
			for r := range perDay {
				var details []tlsrpt.FailureDetail
				if d == "b.test" && day == failDay && r == 0 {
					details = []tlsrpt.FailureDetail{{ResultType: tlsrpt.ResultCertificateExpired, Count: 4, ReceivingMXHostname: "mx.b.test"}}
				}
				org := fmt.Sprint("Sender ", r)
				e := storetest.Entry(t, storetest.Report(org, d+"-"+string(day), day, sessions, []string{d}, details...))
				if _, err := st.SaveReport(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	var logs bytes.Buffer
	h, err := newHandler(cfg, lambdaenv.Env{RUAHTTPS: ruaHTTPS}, deps{
		Network: checker.Config{Resolver: w.DNS.Addr, RootCAs: w.CA.Pool, HTTPSPort: w.HTTPS.Port,
			SMTPPort: w.SMTP.Port, Now: func() time.Time { return w.Now }, Timeout: 3 * time.Second},
		History: checker.NewMemoryHistory(),
		Stats:   st,
		Alerter: notify.NewLog(slog.New(slog.DiscardHandler)),
		Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events"}
	rc.reset()
	if err := h.handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	first := rc.units
	rc.reset()
	results, err := h.monitor.Run(ctx, h.targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read units: first run %.1f (derives the sums), next run %.1f; fact days queried %v", first, rc.units, rc.factDays)
	// Reading the facts of every day (the first run) costs several times
	// what the sums and two live days do.
	if rc.units*3 > first {
		t.Errorf("a run read %.1f units, the first (every fact) %.1f: want less than a third", rc.units, first)
	}
	if got := rc.factDays["DOMAIN#a.test"]; got > store.DefaultLiveDays {
		t.Errorf("a.test: a run read %d days of facts, want the %d live days only (the rest from day sums)", got, store.DefaultLiveDays)
	}
	if got := rc.factDays["DOMAIN#b.test"]; got > store.DefaultLiveDays+1 {
		t.Errorf("b.test: a run read %d days of facts, want the %d live days and the one day with failures", got, store.DefaultLiveDays)
	}
	var a, b string
	for _, r := range results {
		var msgs []string
		for _, f := range r.Findings {
			msgs = append(msgs, f.Severity.String()+" "+string(f.Code)+": "+f.Message)
		}
		switch r.Domain {
		case "a.test":
			a = strings.Join(msgs, "\n")
		case "b.test":
			b = strings.Join(msgs, "\n")
		}
	}
	total := window * perDay * sessions
	if want := fmt.Sprintf("ready to enforce: all checks pass and %d sessions", total); !strings.Contains(a, want) {
		t.Errorf("a.test findings lack %q:\n%s", want, a)
	}
	if want := fmt.Sprintf("4 failed of %d sessions under the sts policy in the last %d days (by result type: certificate-expired 4; by MX: mx.b.test 4)", total+4, window); !strings.Contains(b, want) {
		t.Errorf("b.test findings lack %q:\n%s", want, b)
	}
}
