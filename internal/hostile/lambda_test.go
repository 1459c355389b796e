package hostile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// runMarker is an environment variable given to the functions under test,
// so their processes can be told from others running the same binary.
const runMarker = "STSTACK_HOSTILE_RUN"

// findProcess returns the pid of the process whose environment holds
// runMarker=id and whose executable is bin.
func findProcess(bin, id string) (int, error) {
	bin, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return 0, err
	}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	want := []byte(runMarker + "=" + id + "\x00")
	for _, d := range dirs {
		exe, err := os.Readlink(filepath.Join(d, "exe"))
		if err != nil || exe != bin {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "%d", &pid); err == nil {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process of %s with %s=%s", bin, runMarker, id)
}

// urlStatus decodes the status of a function URL response as lambdaurl
// streams it: a JSON prelude, eight NUL bytes, the body.
func urlStatus(payload []byte) (int, error) {
	prelude, _, ok := bytes.Cut(payload, make([]byte, 8))
	if !ok {
		return 0, fmt.Errorf("no prelude in %.200q", payload)
	}
	var r struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(prelude, &r); err != nil {
		return 0, fmt.Errorf("prelude %.200q: %w", prelude, err)
	}
	return r.StatusCode, nil
}

// TestLambda replays the corpus against the tlsrpt and policy functions
// under the Runtime Interface Emulator, as the events API Gateway and the
// function URL (behind CloudFront) send.
func TestLambda(t *testing.T) {
	cases := loadCorpus(t)
	env := awstest.New(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	fnEnv := map[string]string{"LAMBDA_TASK_ROOT": root, "STSTACK_CONFIG": "ststack.yaml", runMarker: id}
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		fnEnv[k] = v
	}
	tlsrptBin, policyBin := lambdatest.Bootstrap(t, "tlsrpt"), lambdatest.Bootstrap(t, "policy")
	tlsrptFn := lambdatest.Start(t, tlsrptBin, fnEnv)
	policyFn := lambdatest.Start(t, policyBin, fnEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	ran := 0
	// The tlsrpt function's process, once it runs (the emulator starts
	// it on the first invocation).
	tlsrptPid := 0
	var peaks []casePeak
	for _, c := range cases {
		if c.LambdaSkip != "" {
			continue
		}
		ran++
		if tlsrptPid != 0 && !c.IsPolicy() {
			if err := resetPeakRSS(tlsrptPid); err != nil {
				t.Fatal(err)
			}
		}
		var got int
		var err error
		if c.IsPolicy() {
			var out []byte
			if out, err = policyFn.Invoke(ctx, c.FunctionURLEvent()); err == nil {
				got, err = urlStatus(out)
			}
		} else {
			var out []byte
			if out, err = tlsrptFn.Invoke(ctx, c.APIGatewayEvent()); err == nil {
				var res events.APIGatewayV2HTTPResponse
				if err = json.Unmarshal(out, &res); err == nil {
					got = res.StatusCode
				}
			}
		}
		if err != nil || got != c.LambdaStatus() {
			t.Errorf("%s: status %d, %v; want %d (%s)", c.Name, got, err, c.LambdaStatus(), c.Comment)
		}
		if c.IsPolicy() {
			continue
		}
		if tlsrptPid == 0 {
			if tlsrptPid, err = findProcess(tlsrptBin, id); err != nil {
				t.Fatal(err)
			}
		}
		rss, err := peakRSS(tlsrptPid)
		if err != nil {
			t.Fatal(err)
		}
		peaks = append(peaks, casePeak{c.Name, got, rss})
	}
	checkPeaks(t, "tlsrpt function", peaks, tlsrptMemoryBound)
	if ran < minCases {
		t.Errorf("%d requests replayed on the functions, want at least %d", ran, minCases)
	}

	for _, fn := range []struct {
		name, bin string
		bound     int64
	}{{"tlsrpt", tlsrptBin, tlsrptMemoryBound}, {"policy", policyBin, policyMemoryBound}} {
		pid, err := findProcess(fn.bin, id)
		if err != nil {
			t.Fatal(err)
		}
		rss, err := peakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s function: peak RSS %.1f MiB (bound %d MiB)", fn.name, float64(rss)/(1<<20), fn.bound>>20)
		if rss > fn.bound {
			t.Errorf("%s function peak RSS %d MiB, over the bound of %d MiB", fn.name, rss>>20, fn.bound>>20)
		}
	}
	if out := tlsrptFn.Output(); strings.Contains(out, "panic") {
		t.Errorf("the tlsrpt function panicked:\n%s", lastLines(out, 30))
	}
	checkAWS(t, env, storedKeys(t, cases))
}

// checkAWS checks that the bucket and table hold exactly the reports keys:
// raw bodies, records and facts of the served domains.
func checkAWS(t *testing.T, env *awstest.Env, keys []string) {
	t.Helper()
	ctx := context.Background()
	objs, err := env.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(env.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	var want []string
	for _, k := range keys {
		want = append(want, store.RawKey(k))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("objects stored: %q\nwant %q", got, want)
	}
	st := awsstore.New(env.S3, env.DynamoDB, env.Bucket, env.Table)
	for _, k := range keys {
		if _, err := st.Report(ctx, k); err != nil {
			t.Errorf("report %s: %v", k, err)
		}
	}
	scan, err := env.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(env.Table)})
	if err != nil {
		t.Fatal(err)
	}
	// One record per report and one fact per (served domain, report),
	// besides the day sum items their facts marked stale.
	var items int
	for _, it := range scan.Items {
		if sk, _ := it["sk"].(*types.AttributeValueMemberS); sk != nil && strings.HasPrefix(sk.Value, "SUM#") {
			if _, stale := it["stale"]; !stale {
				t.Errorf("day sum %s stored by ingestion", sk.Value)
			}
			continue
		}
		items++
	}
	if items != 2*len(keys) {
		t.Errorf("%d items in the table, want %d (a record and a fact for each of %d reports)", items, 2*len(keys), len(keys))
	}
	var factKeys []string
	for _, d := range append(slices.Clone(servedDomains), foreignDomains...) {
		facts, err := st.Facts(ctx, d, "0001-01-01", "9999-12-31")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range facts {
			if !slices.Contains(servedDomains, f.Domain) {
				t.Errorf("fact stored for %s", f.Domain)
			}
			factKeys = append(factKeys, f.ReportKey)
		}
	}
	slices.Sort(factKeys)
	if !slices.Equal(factKeys, keys) {
		t.Errorf("facts stored for %q\nwant %q", factKeys, keys)
	}
}
