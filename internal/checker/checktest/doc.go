// Package checktest provides loopback fixtures for testing the checker
// without the internet: a real DNS server (UDP and TCP) serving test zones, a
// test certificate authority, an HTTPS server that serves MTA-STS policies for
// many host names on one port, and an SMTP server that offers STARTTLS with
// per-host certificates.
//
// Every server listens on the loopback range only (127.0.0.0/8), on a port the
// kernel picks, and is shut down by the testing.TB's Cleanup.
package checktest
