// Package hostile replays the hostile-request corpus, ../../testdata/hostile,
// against everything that takes requests from the Internet, and injects
// store failures into ingestion. It has no non-test code; its tests are:
//
//   - TestServe: every request of the corpus, as bytes on a TCP connection,
//     against the `ststack serve` binary (built by the test) with an
//     embedded store: each gets its expected status, nothing is stored but
//     what the corpus says is stored (under escaped keys, inside the data
//     directory), the server keeps serving, and its peak resident memory
//     while it handles each request (printed per request) stays under
//     serveMemoryBound.
//   - TestLambda: the same requests as Lambda events against the tlsrpt
//     and policy bootstraps under the Runtime Interface Emulator, the tlsrpt
//     function storing into S3 and DynamoDB stand-ins (gofakes3, dynalite),
//     with the same checks and memory bounds under each function's memory
//     size.
//   - TestFaults: store failures injected into every S3 and DynamoDB call
//     of an ingestion (errors, throttling, timeouts, lost answers), through
//     the report endpoint over the AWS store: a failed post answers 5xx, a
//     retry completes it, and every accepted report is stored exactly once.
//   - TestMail: hostile report e-mails (deep message/rfc822 nesting of 40 MB,
//     quadratic DKIM header picking) dropped into the inbox of `ststack
//     serve`: each ends in done/ or rejected/ with its reason, the peak
//     resident memory of the process under serveMemoryBound.
//   - TestMailLambda: the same messages as S3 events to the mailin
//     bootstrap under the emulator: stored exactly when serve stores them,
//     the function's peak memory under mailinMemoryBound.
//
// # The corpus
//
// One file per request, name.http: directive lines, then the request as
// sent on the wire (request line, header lines, an empty line, the body;
// header lines may end in LF, they are sent with CRLF; the body is the rest
// of the file without its final newline). Directives are comment lines
// "# key: value"; other comment lines describe the case:
//
//	# expect: 400              the status ststack serve answers (required)
//	# lambda: 400              the status the Lambda function answers, when
//	                           it differs; "skip REASON" when the request
//	                           cannot reach a function (API Gateway or
//	                           CloudFront handle it)
//	# stores: yes              the request is a valid report stored under an
//	                           escaped key (every other request stores nothing)
//	# body: quoted             the body is a Go string literal (binary bytes)
//	# generate: KIND N         the body is made at run time (see generate):
//	                           gzip-bomb N, gzip-bomb-json N (N bytes inflated),
//	                           oversized N, deep N, policies N, details N,
//	                           policy-strings N, mx-hosts N (N entries),
//	                           long-report-id N (N bytes)
//	# transform: OP…           applied to the body in order: gzip, truncate,
//	                           double, garbage, bad-crc, bad-size
//	# slow: 40ms 8             the body is sent 8 bytes every 40 ms
//
// Content-Length is added unless the request has Content-Length or
// Transfer-Encoding; a body shorter than an explicit Content-Length is
// followed by a half-close, as a client that gives up.
package hostile
