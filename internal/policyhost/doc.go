// Package policyhost serves MTA-STS policy files (RFC 8461 §3.3): one
// http.Handler answering
//
//	GET/HEAD https://mta-sts.<domain>/.well-known/mta-sts.txt
//
// for every domain of a validated organisation file (package config). The
// same Handler runs in AWS, behind CloudFront and a Lambda function URL
// (functions/policy), and locally in `ststack serve`, so there is one route
// table and no drift between the two.
//
// Everything a response holds (body, header values, ETag) is computed and
// checked once, in New: every policy is validated again, rendered, parsed
// back and compared, so a policy that a sender would read differently from
// the configuration is refused at start rather than served. A request does
// a cheap host normalisation (letter case, port, trailing dot) into a stack
// buffer, one map lookup and a few header assignments; it does not allocate.
//
// Anything but a GET or HEAD of the policy path on a configured policy host
// gets a short plain-text 404 or 405: never a redirect (RFC 8461 §3.3:
// senders must not follow them), never HTML, never internal detail.
//
// In AWS the request reaching the origin carries the function URL's host
// name, not the one the sender asked for; CloudFront copies the viewer's
// Host into ForwardedHostHeader (see Options.HostHeader and docs/policy.md).
package policyhost
