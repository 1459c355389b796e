package awstest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// Kind is how an injected fault fails a request.
type Kind int

// Fault kinds.
const (
	// ServerError answers HTTP 500: S3 InternalError, DynamoDB
	// InternalServerError. Nothing reaches the server.
	ServerError Kind = iota
	// Throttle answers as a throttled request: S3 503 SlowDown, DynamoDB
	// 400 ThrottlingException. Nothing reaches the server.
	Throttle
	// Timeout fails the request with a network timeout error, as a hung
	// connection would. Nothing reaches the server.
	Timeout
	// LostResponse sends the request, lets the server carry it out, then
	// drops the answer and fails with a timeout: the write happened but
	// the client cannot know.
	LostResponse
)

func (k Kind) String() string {
	switch k {
	case ServerError:
		return "server-error"
	case Throttle:
		return "throttle"
	case Timeout:
		return "timeout"
	case LostResponse:
		return "lost-response"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Faults fails chosen attempts of chosen SDK operations. It sits in the
// HTTP transport of the clients Env gives; the operation name ("PutObject",
// "PutItem", "GetItem", "Query", …) comes from the SDK's request context.
// Every HTTP attempt counts, retries included. Safe for concurrent use; the
// zero value injects nothing.
type Faults struct {
	mu    sync.Mutex
	rules []*rule
	calls map[string]int
}

type rule struct {
	op          string
	after, left int // skip after matching attempts, then fail left (-1: forever)
	kind        Kind
}

// Fail makes operation op fail: the first after attempts pass, the next
// times attempts fail with kind (times < 0: every later attempt). Rules are
// checked in the order added; the first that fails an attempt wins.
func (f *Faults) Fail(op string, after, times int, kind Kind) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{op: op, after: after, left: times, kind: kind})
}

// Reset removes every rule and zeroes the counts.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.calls = nil, nil
}

// Calls returns the number of HTTP attempts of op seen since the last
// Reset, failed ones included.
func (f *Faults) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// decide counts an attempt of op and returns the fault to inject, if any.
func (f *Faults) decide(op string) (Kind, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	for _, r := range f.rules {
		if r.op != op || r.left == 0 {
			continue
		}
		if r.after > 0 {
			r.after--
			continue
		}
		if r.left > 0 {
			r.left--
		}
		return r.kind, true
	}
	return 0, false
}

// Transport wraps base (nil: http.DefaultTransport) with the faults.
func (f *Faults) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{f: f, base: base}
}

type transport struct {
	f    *Faults
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := middleware.GetOperationName(req.Context())
	kind, fail := t.f.decide(op)
	if !fail {
		return t.base.RoundTrip(req)
	}
	s3 := req.Header.Get("X-Amz-Target") == "" // DynamoDB's JSON protocol names its target
	switch kind {
	case Timeout:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &timeoutError{op: op}
	case LostResponse:
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &timeoutError{op: op}
	}
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	var status int
	var ctype, body string
	switch {
	case s3 && kind == Throttle:
		status, ctype, body = 503, "application/xml", s3Error("SlowDown", "Please reduce your request rate. (injected)")
	case s3:
		status, ctype, body = 500, "application/xml", s3Error("InternalError", "We encountered an internal error. (injected)")
	case kind == Throttle:
		status, ctype, body = 400, "application/x-amz-json-1.0", ddbError("ThrottlingException", "Rate of requests exceeds the allowed throughput. (injected)")
	default:
		status, ctype, body = 500, "application/x-amz-json-1.0", ddbError("InternalServerError", "Internal server error (injected)")
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {ctype}, "X-Amzn-Requestid": {"injected"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

func s3Error(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg +
		`</Message><RequestId>injected</RequestId></Error>`
}

func ddbError(code, msg string) string {
	return `{"__type":"com.amazonaws.dynamodb.v20120810#` + code + `","message":"` + msg + `"}`
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{ op string }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("awstest: injected timeout in %s", e.op)
}
func (e *timeoutError) Timeout() bool { return true }
