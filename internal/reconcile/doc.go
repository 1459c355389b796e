// Package reconcile brings each client domain by delegation (config
// dns: delegated) to the point where CloudFront serves its policy, and
// records where each domain stands for the dashboard and the checker.
//
// A client domain cannot be declared in CloudFormation: a CloudFront
// distribution tenant for mta-sts.<client> can only be created once that
// name points at CloudFront (or with a certificate that covers it), and a
// CloudFront-managed certificate must be attached by an API call once ACM
// has issued it, which CloudFormation does not do. One client's DNS
// mistake must not roll back the operator's stack either. So a small
// reconciler, run on a schedule, does it per domain:
//
//	waiting-for-cname  the client's CNAME mta-sts.<client> is missing
//	cname-elsewhere    it points somewhere else than the operator's name
//	    ↓ the CNAME resolves to the operator's stable name
//	certificate-pending the tenant exists with a managed certificate request
//	                   (ValidationTokenHost: cloudfront); ACM validates over
//	                   HTTP through CloudFront, keeping a request pending 72 h
//	    ↓ issued                      ↘ failed, timed out, revoked, expired:
//	serving            the certificate   CloudFront does not retry; the
//	                   is attached        engine requests a new one (at most
//	                                      once per RetryInterval)
//	error              a call failed; the next run starts over from what
//	                   CloudFront and DNS say
//
// Every run derives each domain's phase from what DNS and CloudFront say
// now, not from the stored state, so it is idempotent and safe to re-run;
// it only creates a tenant that does not exist and only attaches an issued
// certificate that is not attached. Domains are reconciled independently:
// an error is that domain's state, never the others'.
//
// Everything outside is injected: CloudFront (the SDK calls, wired in
// functions/reconciler), Resolver (DNS) and States (where states are
// kept), so the engine is tested with fakes.
package reconcile
