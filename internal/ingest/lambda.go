package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// LambdaFunc is a Lambda handler for API Gateway HTTP API events (payload
// format 2.0), as lambda.Start takes it.
type LambdaFunc = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// LambdaHandler adapts h to API Gateway HTTP API events, payload format 2.0
// (events.APIGatewayV2HTTPRequest): the event becomes an http.Request
// (method, raw path and query, headers, body decoded from base64 when
// isBase64Encoded, as API Gateway sends gzip bodies), h answers into a
// buffer, and the answer becomes the response event (a body that is not
// UTF-8 is base64-encoded). Validation stays in h: both paths run the same
// code. The returned error is always nil: every failure is an HTTP status.
func LambdaHandler(h http.Handler) LambdaFunc {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := requestOf(ctx, ev)
		if err != nil {
			reason := "bad request: the path or method cannot be parsed\n"
			if errors.Is(err, errBase64) {
				reason = "body: invalid base64 encoding\n"
			}
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       reason,
			}, nil
		}
		w := &responseWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		return w.event(), nil
	}
}

// errBase64 marks a body flagged isBase64Encoded that is not base64.
var errBase64 = errors.New("body is not base64")

// requestOf builds the request the event describes.
func requestOf(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBase64, err)
		}
		body = b
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	target := ev.RawPath
	if target == "" {
		target = "/"
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range ev.Headers {
		// HTTP API joins repeated headers with commas, as HTTP allows.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.Header.Del("Content-Length")
	req.Host = ev.RequestContext.DomainName
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = target
	return req, nil
}

// responseWriter records an answer for the response event.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *responseWriter) event() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, v := range w.header {
		resp.Headers[k] = strings.Join(v, ", ")
	}
	if utf8.Valid(w.body.Bytes()) {
		resp.Body = w.body.String()
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(w.body.Bytes())
		resp.IsBase64Encoded = true
	}
	return resp
}
