// Package dashboard serves every mail domain's MTA-STS (RFC 8461) and
// TLS reporting (RFC 8460) health as web pages and a JSON API, read from a
// report store: the embedded one under `ststack serve`, or a deployed
// stack's S3 bucket and DynamoDB table under `ststack dashboard --aws`.
//
// Pages (server-rendered HTML; tables read without JavaScript and the pages
// have none; charts are SVG drawn on the server; every asset is embedded in
// the binary):
//
//	/                       overview: each domain's mode, latest check,
//	                        certificate, reports of 7 and 30 days, readiness
//	/domains/{domain}       daily sessions over a range (?days=N or
//	                        ?from=&to=), failures by result type, MX host,
//	                        receiving and sending IP and organisation, the
//	                        latest check's findings with remedies, the policy
//	                        and DNS records as deployed
//	/reports                the report list, filtered
//	/reports/{key}          one report, normalised
//	/reports/{key}/raw      the report as received, as a download
//
// The JSON API under /api/v1 returns what the pages show (docs/dashboard.md
// documents its fields, which are stable): /api/v1/overview,
// /api/v1/domains/{domain}, /api/v1/reports, /api/v1/reports/{key} and
// /api/v1/reports/{key}/raw.
//
// Every number comes from the stored facts (package store): one fact per
// report and domain, summed here per window, day and key, so what the
// dashboard shows is what the checker reads.
//
// Access: without a token only requests to a loopback host are answered
// (also against DNS rebinding); with Options.Token every request must carry
// it (a Bearer header, or a cookie set from ?token= once), compared in
// constant time. CheckBind is the rule the CLI applies before listening:
// loopback by default, elsewhere only with an explicit flag and a token.
// Every response carries a Content-Security-Policy (default-src 'self', no
// script, frame-ancestors 'none'), X-Content-Type-Options, Referrer-Policy
// and no-store caching. Everything that came from reports (organisation
// names, report-ids, reason codes, MX names) is escaped by html/template.
package dashboard
