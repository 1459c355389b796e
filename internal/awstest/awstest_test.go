package awstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func putItem(ctx context.Context, e *Env, pk string) error {
	_, err := e.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(e.Table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: pk},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "x"},
		},
	})
	return err
}

func putObject(ctx context.Context, e *Env, key, body string) error {
	_, err := e.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(e.Bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(body)),
	})
	return err
}

func TestStandIns(t *testing.T) {
	ctx := context.Background()
	e := New(t)
	if err := putItem(ctx, e, "a"); err != nil {
		t.Fatal(err)
	}
	out, err := e.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(e.Table),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "a"},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "x"},
		},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem: %v, item %v", err, out)
	}
	if err := putObject(ctx, e, "k", "body"); err != nil {
		t.Fatal(err)
	}
	// If-None-Match: * must be honoured, as by S3.
	_, err = e.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(e.Bucket), Key: aws.String("k"), Body: bytes.NewReader([]byte("other")),
		IfNoneMatch: aws.String("*"),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("conditional PutObject over an existing object: %v, want PreconditionFailed", err)
	}
	got, err := e.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "body" {
		t.Fatalf("object = %q, want %q", b, "body")
	}

	// Two Envs never share a table.
	e2 := New(t)
	if e2.Table == e.Table || e2.Bucket == e.Bucket {
		t.Fatalf("second Env reuses %s/%s", e.Table, e.Bucket)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	e := New(t)
	tests := []struct {
		name    string
		op      string
		after   int
		times   int
		kind    Kind
		code    string // expected API error code; "" success, "timeout" a timeout
		do      func() error
		attempt int // attempts expected
	}{
		{"ddb 500 forever", "PutItem", 0, -1, ServerError, "InternalServerError", func() error { return putItem(ctx, e, "b") }, 3},
		{"ddb throttled once then retried", "PutItem", 0, 1, Throttle, "", func() error { return putItem(ctx, e, "c") }, 2},
		{"ddb throttled forever", "PutItem", 0, -1, Throttle, "ThrottlingException", func() error { return putItem(ctx, e, "d") }, 3},
		{"ddb second call fails", "PutItem", 1, -1, ServerError, "", func() error { return putItem(ctx, e, "e") }, 1},
		{"s3 500 forever", "PutObject", 0, -1, ServerError, "InternalError", func() error { return putObject(ctx, e, "f", "x") }, 3},
		{"s3 slow down forever", "PutObject", 0, -1, Throttle, "SlowDown", func() error { return putObject(ctx, e, "g", "x") }, 3},
		{"s3 timeout forever", "PutObject", 0, -1, Timeout, "timeout", func() error { return putObject(ctx, e, "h", "x") }, 3},
		{"other operation untouched", "GetItem", 0, -1, ServerError, "", func() error { return putItem(ctx, e, "i") }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.Faults.Reset()
			e.Faults.Fail(tc.op, tc.after, tc.times, tc.kind)
			err := tc.do()
			switch tc.code {
			case "":
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
			case "timeout":
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("err = %v, want a timeout", err)
				}
			default:
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
					t.Fatalf("err = %v, want API error %s", err, tc.code)
				}
			}
			op := tc.op
			if tc.op == "GetItem" {
				op = "PutItem"
			}
			if n := e.Faults.Calls(op); n != tc.attempt {
				t.Errorf("%s attempts = %d, want %d", op, n, tc.attempt)
			}
		})
	}
}

func TestLostResponseWrites(t *testing.T) {
	ctx := context.Background()
	e := New(t)
	e.Faults.Fail("PutObject", 0, -1, LostResponse)
	if err := putObject(ctx, e, "lost", "written"); err == nil {
		t.Fatal("PutObject with a lost response succeeded")
	}
	e.Faults.Reset()
	got, err := e.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String("lost")})
	if err != nil {
		t.Fatalf("object not written despite the lost response: %v", err)
	}
	got.Body.Close()
}

// TestEnviron checks that the SDK's default configuration, given only
// Environ (as a Lambda bootstrap is), reaches the stand-ins.
func TestEnviron(t *testing.T) {
	ctx := context.Background()
	e := New(t)
	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(os.Getenv("STSTACK_BUCKET")),
		Key: aws.String("env"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatalf("S3 through the default configuration: %v", err)
	}
	d := dynamodb.NewFromConfig(cfg)
	if _, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(os.Getenv("STSTACK_TABLE"))}); err != nil {
		t.Fatalf("DynamoDB through the default configuration: %v", err)
	}
}
