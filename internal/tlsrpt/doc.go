// Package tlsrpt implements SMTP TLS Reporting, RFC 8460: the "_smtp._tls"
// TXT record that tells sending servers where to send reports (Record, RUA),
// and the aggregate reports they send (Report), including taking a report out
// of the e-mail that carries it (ExtractFromMessage).
//
// Report parsing is strict where a report's meaning would be lost and lenient
// where real senders deviate from the RFC but the meaning is clear. Every
// tolerated deviation lives in quirks.go and is recorded, human-readable, in
// Report.Quirks. Input is bounded before it is parsed (Limits): the size of
// the (compressed) input, the size after decompression, the JSON nesting
// depth, the number of policies, failure details and policy-string and
// mx-host entries, and the length of every string. The JSON tokenizer is
// jsontext (github.com/go-json-experiment/json), the one of encoding/json/v2;
// gzip is inflated by compress/gzip as the JSON is decoded.
//
// The package is pure: it does no I/O beyond the bytes it is given.
package tlsrpt
