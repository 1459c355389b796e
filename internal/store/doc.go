// Package store is the model of stored TLS reports (RFC 8460) and check
// results, shared by the two stores: awsstore (S3 and DynamoDB) and embedded
// (a bbolt database, for ststack serve and tests).
//
// The interfaces are owned by their consumers: ingest.Store (SaveReport),
// checker.ReportStats (Summary) and checker.History (results of package
// health). The store sits below the engines that use it and imports none
// of them (tools/layercheck). This package holds what both implementations
// share so that they behave the same: the records (Report, Fact, Entry),
// how a parsed report becomes an Entry (NewEntry, bounded so that a fact
// always fits one DynamoDB item), and how facts are summed (Summarize: one
// Summary, read by the dashboard and the checker alike). Package storetest
// is the contract suite both implementations pass.
//
// # Model: write facts, derive sums
//
// One Fact per (policy domain, UTC day, organisation, report-id) holds that
// report's counts for that domain. Storing the same report again writes the
// same facts under the same keys, so retries and duplicates are harmless
// without transactions or counters, and every sum is a range read over one
// domain's facts followed by Summarize.
//
// # The SaveReport contract (both stores)
//
// SaveReport(ctx, e Entry) (Saved, error), with e from NewEntry. A report's
// identity (organisation + report-id) is claimed by the first body stored
// for it, its content by Digest (the canonical form of the parsed report):
//
//  1. No record under e.Report.Key: store raw body (only if absent), facts
//     and record; Created.
//  2. A record with e's digest: the same report (re-sent, in another form,
//     by the other channel): write nothing (or complete an unfinished
//     save of it); not Created.
//  3. A record with another digest: a conflicting body. It is stored in
//     full under VariantKey(key, digest) (by 1 and 2), the first record
//     lists it in Conflicts, and every fact of either body reads with
//     Conflict set. Nothing is dropped.
//
// The facts under a key are only ever written by a writer of the digest
// that claimed it, so after any interleaving of saves the facts equal
// exactly the reports the records describe (storetest ConcurrentBodies).
// An error at any step leaves what is already written in place and the
// next SaveReport of the report completes it. Concurrent calls for one
// content are safe: exactly one returns Created.
package store
