// Package mailin receives TLS reports (RFC 8460) by e-mail, the rua=mailto:
// channel: a message in → the report extracted (tlsrpt.ExtractFromMessage:
// by media type, file name or content, in any multipart or forwarded
// message; docs/reports.md, "Report e-mails") → its DKIM signatures verified (RFC 8460
// §5.3, Verifier) → the report handed to package ingest, so that it gets the
// same validation, limits, facts and dedupe as a report posted over HTTPS,
// and a report delivered by both channels is stored once.
//
// The DKIM verdict (store.DKIM: pass, fail or none, and the signing domain)
// is kept with the stored report. Reports whose verdict is not pass are kept
// and flagged by default, or dropped (Options.DropUnsigned). Messages that
// carry no report (bounces, spam, replies) or cannot be accepted are logged
// and counted, and processing them succeeds: only temporary failures
// (ErrTemporary: the store, a DKIM key lookup, S3) ask for a retry, so no
// message is retried forever.
//
// Three ways in, one Processor:
//   - LambdaHandler: the mailin Lambda function, invoked by the SES receipt
//     rule's Lambda action once its S3 action stored the message (or by an
//     S3 event notification for a stored message);
//   - Inbox: a drop folder polled by `ststack serve` (<data>/inbox/);
//   - Processor.Process, called by `ststack report ingest FILE.eml…`.
//
// Work is bounded before it is done: the message's size (MaxMessage), its
// header (MaxHeaderBytes, MaxHeaderFields, MaxHeaderLines, MaxFieldLines,
// MaxSignatures, MaxSignedFields: checked before any DKIM work, whose
// header picking is otherwise quadratic), its MIME nesting and decoded
// bytes (tlsrpt.ExtractFromMessage, streaming).
//
// See docs/email.md for the deployment, the limits and the verdicts.
package mailin
