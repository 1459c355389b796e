// Package awstest runs loopback stand-ins for the AWS services ststack uses,
// for tests: DynamoDB is dynalite (Node.js, installed by `make tools` into
// .tools/), started once per test binary on 127.0.0.1; S3 is gofakes3, in
// process. New gives each test its own table and bucket and SDK clients
// with static fake credentials, short retries and fault injection (Faults).
//
// Use it from TestMain so the stand-ins stop with the test binary:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
//
// dynalite is looked for in $STSTACK_TOOLS/node_modules/dynalite, else in
// .tools/node_modules/dynalite under the module root. When it is missing the
// test fails ("run `make tools`"); it is never skipped.
package awstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Fake credentials and region of every client and child process.
const (
	Region          = "us-east-1"
	AccessKeyID     = "AKIDSTSTACKTEST"
	SecretAccessKey = "ststack-test-secret"
)

// Env is one test's table and bucket on the stand-ins, and clients for them.
type Env struct {
	// DynamoDBEndpoint and S3Endpoint are the stand-ins' base URLs
	// (http://127.0.0.1:PORT).
	DynamoDBEndpoint, S3Endpoint string
	// Table (keys pk and sk, strings, on demand) and Bucket are fresh.
	Table, Bucket string
	// Config is the SDK configuration of the clients: fake credentials,
	// Region, HTTP through Faults, at most 3 attempts without back-off.
	Config   aws.Config
	DynamoDB *dynamodb.Client
	S3       *s3.Client
	// Faults injects failures into the requests of DynamoDB and S3.
	Faults *Faults
}

// servers are the stand-ins shared by the tests of one binary.
type servers struct {
	once     sync.Once
	err      error
	dynalite *exec.Cmd
	ddbURL   string
	s3       *httptest.Server
}

var (
	shared servers
	seq    atomic.Int64
)

// Main runs the tests of m and then stops the stand-ins if a test started
// them. Call it from TestMain: os.Exit(awstest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.stop()
	return code
}

// New returns a fresh table and bucket on the stand-ins, starting them on
// first use. It fails the test when dynalite cannot be started.
func New(t testing.TB) *Env {
	t.Helper()
	shared.once.Do(shared.start)
	if shared.err != nil {
		t.Fatalf("awstest: %v", shared.err)
	}
	n := seq.Add(1)
	e := &Env{
		DynamoDBEndpoint: shared.ddbURL,
		S3Endpoint:       shared.s3.URL,
		Table:            "ststack-test-" + strconv.FormatInt(n, 10),
		Bucket:           "ststack-test-" + strconv.FormatInt(n, 10),
		Faults:           &Faults{},
	}
	e.Config = aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: e.Faults.Transport(http.DefaultTransport), Timeout: 30 * time.Second},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
	e.DynamoDB = dynamodb.NewFromConfig(e.Config, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.DynamoDBEndpoint)
	})
	e.S3 = s3.NewFromConfig(e.Config, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.S3Endpoint)
		o.UsePathStyle = true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := CreateTable(ctx, e.DynamoDB, e.Table); err != nil {
		t.Fatalf("awstest: %v", err)
	}
	if _, err := e.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.Bucket)}); err != nil {
		t.Fatalf("awstest: create bucket %s: %v", e.Bucket, err)
	}
	return e
}

// CreateTable creates a table as the CDK app does (partition key pk,
// sort key sk, both strings, on demand) and waits until it is active.
func CreateTable(ctx context.Context, c *dynamodb.Client, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	// The waiter's default MinDelay is 20 s; dynalite with
	// --createTableMs 0 is ready at once.
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 100 * time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 20*time.Second); err != nil {
		return fmt.Errorf("table %s: %w", name, err)
	}
	return nil
}

// Environ returns the environment, as KEY=value strings, a child process
// (a Lambda bootstrap under the emulator, see lambdatest.Start) needs to
// reach this Env's table and bucket through the SDK's default
// configuration: region, fake credentials, endpoints
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3) and STSTACK_TABLE,
// STSTACK_BUCKET. Requests of child processes bypass Faults.
func (e *Env) Environ() []string {
	return []string{
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_S3=" + e.S3Endpoint,
		"STSTACK_TABLE=" + e.Table,
		"STSTACK_BUCKET=" + e.Bucket,
	}
}

func (s *servers) start() {
	s.s3 = httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	cli, err := dynaliteCLI()
	if err != nil {
		s.err = err
		return
	}
	node, err := exec.LookPath("node")
	if err != nil {
		s.err = fmt.Errorf("node (Node.js) is needed to run dynalite: %w", err)
		return
	}
	// dynalite cannot listen on port 0: pick a free port and retry when
	// another process takes it first.
	for range 5 {
		var port int
		port, err = freePort()
		if err != nil {
			break
		}
		s.dynalite, err = startDynalite(node, cli, port)
		if err == nil {
			s.ddbURL = "http://127.0.0.1:" + strconv.Itoa(port)
			return
		}
	}
	s.err = err
}

func (s *servers) stop() {
	if s.dynalite != nil {
		s.dynalite.Process.Kill()
		s.dynalite.Wait()
	}
	if s.s3 != nil {
		s.s3.Close()
	}
}

// dynaliteCLI finds dynalite's cli.js.
func dynaliteCLI() (string, error) {
	var tools string
	if d := os.Getenv("STSTACK_TOOLS"); d != "" {
		tools = d
	} else {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("dynalite not found (%v): run `make tools`", err)
		}
		tools = filepath.Join(root, ".tools")
	}
	cli := filepath.Join(tools, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("dynalite not found at %s: run `make tools`", cli)
	}
	return cli, nil
}

// moduleRoot is the nearest directory above the working directory (a test's
// package directory) holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dynaliteWrapper runs dynalite's cli.js (the first argument) with the
// rest of the arguments. dynalite throws from a request's 'error' event, so
// a client that closes a connection mid-request (the SDK cancelling a
// request whose sibling failed, as fault tests make it do) killed the
// server for every later test: the wrapper logs such an abort and goes on,
// and still exits on any other uncaught error.
const dynaliteWrapper = `
process.on('uncaughtException', function (err) {
  if (err && err.code === 'ECONNRESET') {
    console.error('dynalite: a client aborted a request: ' + err.message)
    return
  }
  console.error(err)
  process.exit(1)
})
require(process.argv[1])
`

// startDynalite starts dynalite on port and waits until it listens.
func startDynalite(node, cli string, port int) (*exec.Cmd, error) {
	cmd := exec.Command(node, "-e", dynaliteWrapper, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), "listening") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if ok {
			return cmd, nil
		}
	case <-time.After(30 * time.Second):
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("dynalite did not start on port %d: %s", port, strings.TrimSpace(stderr.String()))
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w interface{ WriteString(string) (int, error) }
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.WriteString(string(p[:k]))
		l.n -= k
	}
	return len(p), nil
}
