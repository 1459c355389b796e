// Package layercheck holds the test that keeps the project's dependencies
// running one way (issue 13). Every package of the module belongs to one
// layer, top to bottom:
//
//	wiring   cmd/, functions/, bench/, tools/: main packages and benchmarks
//	engine   ingest, checker, dashboard, mailin, policyhost, notify, sample, stress,
//	         lambdaenv, awsenv (what the functions read from their environment),
//	         triage and mxhealth (verdicts and MX health read from report facts)
//	store    internal/store and its implementations
//	model    dnsname, dnsresolve (the resolver interface), mtasts, tlsrpt (RFC 8461, RFC 8460), config, health (check results)
//	support  fixtures and generators that import nothing of the project
//
// A package may import packages of its own layer and those below, never one
// above. Besides, each Lambda function links only what it runs: none but
// functions/checker links the checker or github.com/miekg/dns, and no
// function links an AWS SDK service client it does not call (the policy
// function links no part of the AWS SDK). Run it with
//
//	go test ./tools/layercheck
//
// A new package must be placed in a layer here before its test passes.
package layercheck
