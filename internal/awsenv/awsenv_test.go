package awsenv

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestConfig(t *testing.T) {
	cfg, err := Config(env("AWS_DEFAULT_REGION", "eu-west-1", "AWS_ACCESS_KEY_ID", "AKIA", "AWS_SECRET_ACCESS_KEY", "s",
		"AWS_SESSION_TOKEN", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.BaseEndpoint != nil {
		t.Errorf("region %q, base endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIA" || creds.SecretAccessKey != "s" || creds.SessionToken != "tok" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	for _, tc := range []struct {
		name string
		env  func(string) string
	}{
		{"no region", env("AWS_ACCESS_KEY_ID", "AKIA", "AWS_SECRET_ACCESS_KEY", "s")},
		{"no secret", env("AWS_REGION", "eu-west-1", "AWS_ACCESS_KEY_ID", "AKIA")},
	} {
		if _, err := Config(tc.env); !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: %v, want ErrIncomplete", tc.name, err)
		}
	}
	if EndpointVar("DynamoDB") != "AWS_ENDPOINT_URL_DYNAMODB" || EndpointVar("Some Service") != "AWS_ENDPOINT_URL_SOME_SERVICE" {
		t.Errorf("EndpointVar: %s, %s", EndpointVar("DynamoDB"), EndpointVar("Some Service"))
	}
}

// TestEndpoints: clients built from Config send each service's requests to
// the endpoint its variable names.
func TestEndpoints(t *testing.T) {
	var s3Hits, ddbHits atomic.Int32
	s3srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s3Hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer s3srv.Close()
	ddbsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ddbHits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"TableNames":[]}`))
	}))
	defer ddbsrv.Close()
	cfg, err := Config(env("AWS_REGION", "us-east-1", "AWS_ACCESS_KEY_ID", "AKIA", "AWS_SECRET_ACCESS_KEY", "s",
		"AWS_ENDPOINT_URL_S3", s3srv.URL, "AWS_ENDPOINT_URL_DYNAMODB", ddbsrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	_, _ = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b")})
	if s3Hits.Load() == 0 || ddbHits.Load() == 0 {
		t.Errorf("requests: s3 %d, dynamodb %d; want both at their endpoints", s3Hits.Load(), ddbHits.Load())
	}
}

// TestLazy: the client is built on the first call, not before, once
// however many goroutines ask, and from the configuration given.
func TestLazy(t *testing.T) {
	var built atomic.Int32
	newClient := func(cfg aws.Config, _ ...func(*s3.Options)) *s3.Client {
		built.Add(1)
		return s3.NewFromConfig(cfg)
	}
	get := Lazy(newClient, aws.Config{Region: "eu-west-1"})
	if built.Load() != 0 {
		t.Fatal("client built before its first use")
	}
	done := make(chan *s3.Client)
	for range 8 {
		go func() { done <- get() }()
	}
	first := <-done
	for range 7 {
		if c := <-done; c != first {
			t.Error("two different clients")
		}
	}
	if n := built.Load(); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
	if first.Options().Region != "eu-west-1" {
		t.Errorf("region %q", first.Options().Region)
	}
	_ = Lazy(dynamodb.NewFromConfig, aws.Config{}) // the SDK's own constructors fit
}
