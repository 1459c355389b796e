// Package bench holds the benchmarks behind `make bench-table` (perf.mk):
// each measures a part of ststack against a baseline in the same run, the
// way the common implementation would do the same work, and the table
// (bench/cmd/benchtable) prints the ratio and the absolute figures.
//
//	BenchmarkParse          tlsrpt.ParseReport (parse, validate, normalise)
//	                        vs encoding/json into RFC-shaped structs, over the
//	                        real samples and a generated corpus of 10,000
//	                        reports (package corpus), JSON and gzip
//	BenchmarkPolicyHandler  policyhost.Handler vs a bare handler writing the
//	                        same constant body, behind net/http, interleaved
//	BenchmarkIngest         ingest.NewHandler into the embedded store vs a
//	                        plain receiver (decode, write the body, fsync)
//	BenchmarkChecker        checker.CheckAll over 1,000 loopback domains with
//	                        20 ms DNS latency vs the same questions asked one
//	                        after the other
//	BenchmarkBootstrap      each Lambda bootstrap's size (linux/arm64) and cold
//	                        start under the Runtime Interface Emulator vs a
//	                        trivial Go handler built the same way
//
// The package has no non-test code: the benchmarks are its API. Tests in it
// check that each baseline does the work it stands for. docs/performance.md
// has the method, the numbers and what bounds each ratio.
package bench
