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
// SaveReport(ctx, e Entry) (created bool, err error), with e from NewEntry:
//
//  1. If the report record (Report, keyed by e.Report.Key) exists, the
//     report is complete: return created=false and write nothing.
//  2. Write the raw body under RawKey(key) only if absent: the first body
//     stored for an identity is kept.
//  3. Write every fact (overwriting: the same report gives the same facts).
//  4. Write the report record only if absent; created reports whether this
//     call wrote it.
//
// The record is written last, so its presence means raw body and facts are
// durable. An error at any step leaves what is already written in place and
// the next SaveReport of the report completes it. Concurrent calls for one
// report are safe: exactly one returns created=true.
package store
