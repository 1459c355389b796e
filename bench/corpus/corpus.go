// Package corpus generates aggregate TLS reports (RFC 8460 §4) for
// benchmarks and load tests: deterministic for a seed, and varied the ways
// real senders vary (see the samples in testdata/tlsrpt/): one to
// many policies of the three policy types, none to many failure details of
// every result type, mx-host as an array or as one string, date-times with
// and without a zone, contact-info null or missing, IPv4 and IPv6
// addresses, compact and indented JSON, gzip or not.
//
// Every generated report is valid for tlsrpt.ParseReport and decodes with
// a plain encoding/json decode into RFC-shaped structs, so both can be
// measured over the same bytes. Each Report carries what a receiver must
// count from it (Totals), for load tests that compare a store's facts with
// what was sent.
//
// The corpus is generated at run time, never committed: Generate(seed, n)
// gives the same reports on every machine and Go version (math/rand/v2
// PCG, no map iteration, no clock).
package corpus

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Options shape a corpus. The zero value gives the benchmark corpus.
type Options struct {
	// Domains are the policy domains reports are about (A-labels, lower
	// case); empty: 200 domains d000.example … d199.example.
	Domains []string
	// Day0 is the first UTC day reports cover; zero: 2024-03-01. Reports
	// spread over the 30 days from Day0.
	Day0 time.Time
	// GzipEvery makes every GzipEvery-th report's Body gzip (the others
	// JSON); 0: every second one.
	GzipEvery int
}

// Totals are the session counts a receiver must record for one policy
// domain of a report: summed over the report's policies for that domain.
type Totals struct {
	Success, Failure int64
}

// Report is one generated report.
type Report struct {
	// Organization and ReportID are the report's organization-name and
	// report-id, as written in the JSON.
	Organization, ReportID string
	// Start is the start of the report's date range (UTC); the receiver
	// files the report's facts under its day.
	Start time.Time
	// JSON is the report.
	JSON []byte
	// Body is what a sender posts: JSON, or its gzip when Gzipped.
	Body    []byte
	Gzipped bool
	// Policies and FailureDetails count the report's elements.
	Policies, FailureDetails int
	// Domains are the distinct policy domains, in order of first
	// appearance (lower case, no trailing dot, as a receiver normalises
	// them); Totals[i] belongs to Domains[i].
	Domains []string
	Totals  []Totals
}

// Generate returns n reports generated from seed.
func Generate(seed uint64, n int, o Options) []Report {
	g := New(seed, o)
	out := make([]Report, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Generator generates reports one at a time; it is not safe for concurrent
// use.
type Generator struct {
	o   Options
	rnd *rand.Rand
	n   int
	buf bytes.Buffer
	zw  *gzip.Writer
}

// New returns a generator of the reports Generate(seed, …, o) returns, in
// the same order.
func New(seed uint64, o Options) *Generator {
	if len(o.Domains) == 0 {
		for i := range 200 {
			o.Domains = append(o.Domains, fmt.Sprintf("d%03d.example", i))
		}
	}
	if o.Day0.IsZero() {
		o.Day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.GzipEvery <= 0 {
		o.GzipEvery = 2
	}
	return &Generator{o: o, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Senders whose reports are imitated: organisation, contact-info, the
// report-id style, and whether date-times carry a zone.
var senders = []struct {
	org, contact string
	idStyle      int
	noZone       bool
}{
	{"Google Inc.", "smtp-tls-reporting@google.com", 0, false},
	{"Microsoft Corporation", "tlsrpt-noreply@microsoft.com", 1, true},
	{"Mail.ru", "tls_support@corp.mail.ru", 2, false},
	{"Yahoo", "", 3, false},
	{"Comcast", "tlsrpt@comcast.net", 0, false},
	{"Example Sender, Inc.", "mailto:tlsrpt@sender.example", 4, false},
}

// resultTypes are drawn for failure details: the registered ones and an
// unregistered one, which receivers keep (RFC 8460 §4.3).
var resultTypes = []string{
	"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
	"certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
	"dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
	"unknown-new-type",
}

var reasonCodes = []string{
	"X509_V_ERR_CERT_HAS_EXPIRED", "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT", "bad https response code: 404",
	"TLS handshake timeout", "certificate name does not match", "",
}

// shape draws a size class: most reports are small (one or two policies,
// a few failure details), some medium, 2 % large (up to 50 policies and
// some 1,000 failure details).
func (g *Generator) shape() (policies, maxDetails int) {
	switch r := g.rnd.IntN(100); {
	case r < 70:
		return 1 + g.rnd.IntN(2), 3
	case r < 98:
		return 2 + g.rnd.IntN(9), 10
	default:
		return 10 + g.rnd.IntN(41), 40
	}
}

// Next returns the next report.
func (g *Generator) Next() Report {
	i := g.n
	g.n++
	s := senders[g.rnd.IntN(len(senders))]
	day := g.o.Day0.AddDate(0, 0, g.rnd.IntN(30))
	rep := Report{Organization: s.org, Start: day}
	nPol, maxDet := g.shape()
	domain0 := g.o.Domains[g.rnd.IntN(len(g.o.Domains))]
	rep.ReportID = g.reportID(s.idStyle, i, day, domain0)

	indent := g.rnd.IntN(3) == 0
	w := &jw{indent: indent}
	w.open('{')
	w.key("organization-name")
	w.str(s.org)
	w.key("date-range")
	w.open('{')
	w.key("start-datetime")
	w.str(dateTime(day, s.noZone))
	w.key("end-datetime")
	w.str(dateTime(day.Add(24*time.Hour-time.Second), s.noZone))
	w.close('}')
	switch {
	case s.contact == "":
		if g.rnd.IntN(2) == 0 {
			w.key("contact-info")
			w.raw("null")
		}
	default:
		w.key("contact-info")
		w.str(s.contact)
	}
	w.key("report-id")
	w.str(rep.ReportID)
	w.key("policies")
	w.open('[')
	for p := range nPol {
		domain := domain0
		if p > 0 && g.rnd.IntN(3) == 0 {
			domain = g.o.Domains[g.rnd.IntN(len(g.o.Domains))]
		}
		success, failure, details := g.policy(w, domain, maxDet)
		rep.FailureDetails += details
		rep.add(domain, success, failure)
	}
	w.close(']')
	w.close('}')
	rep.Policies = nPol
	rep.JSON = w.b.Bytes()
	rep.Body = rep.JSON
	if i%g.o.GzipEvery == g.o.GzipEvery-1 {
		rep.Body, rep.Gzipped = g.gzip(rep.JSON), true
	}
	return rep
}

func (r *Report) add(domain string, success, failure int64) {
	for i, d := range r.Domains {
		if d == domain {
			r.Totals[i].Success += success
			r.Totals[i].Failure += failure
			return
		}
	}
	r.Domains = append(r.Domains, domain)
	r.Totals = append(r.Totals, Totals{success, failure})
}

func (g *Generator) reportID(style, i int, day time.Time, domain string) string {
	switch style {
	case 0:
		return day.Format("2006-01-02T15:04:05Z") + "_" + domain + "_" + strconv.Itoa(i)
	case 1:
		return strconv.FormatUint(133500000000000000+uint64(i)*7919, 10) + "+" + domain
	case 2:
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x@mail.ru", g.rnd.Uint32(), i&0xffff, g.rnd.IntN(1<<16), g.rnd.IntN(1<<16), g.rnd.Int64N(1<<48))
	case 3:
		return strconv.Itoa(i) + "+"
	}
	return "r-" + strconv.Itoa(i) + "/" + domain
}

// dateTime writes t as RFC 3339, or without a zone as Microsoft does.
func dateTime(t time.Time, noZone bool) string {
	if noZone {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format(time.RFC3339)
}

// policy writes one element of policies and returns its totals and number
// of failure details.
func (g *Generator) policy(w *jw, domain string, maxDet int) (success, failure int64, details int) {
	typ := "sts"
	switch r := g.rnd.IntN(10); {
	case r == 0:
		typ = "tlsa"
	case r == 1:
		typ = "no-policy-found"
	}
	mx := []string{"mx1." + domain, "mx2." + domain}
	w.open('{')
	w.key("policy")
	w.open('{')
	w.key("policy-type")
	w.str(typ)
	if typ == "sts" {
		w.key("policy-string")
		w.open('[')
		for _, l := range []string{"version: STSv1", "mode: enforce", "mx: " + mx[0], "mx: " + mx[1], "max_age: 604800"} {
			w.str(l)
		}
		w.close(']')
	}
	w.key("policy-domain")
	w.str(domain)
	if typ != "no-policy-found" {
		w.key("mx-host")
		if g.rnd.IntN(4) == 0 {
			w.str(mx[0]) // RFC 8460 §4.4's example, before erratum 6241
		} else {
			w.open('[')
			w.str(mx[0])
			w.str(mx[1])
			w.close(']')
		}
	}
	w.close('}')

	details = 0
	if maxDet > 0 && g.rnd.IntN(3) > 0 {
		details = g.rnd.IntN(maxDet + 1)
	}
	success = int64(g.rnd.IntN(100000))
	var counts []int64
	for range details {
		counts = append(counts, 1+int64(g.rnd.IntN(50)))
	}
	for _, c := range counts {
		failure += c
	}
	w.key("summary")
	w.open('{')
	w.key("total-successful-session-count")
	w.num(success)
	w.key("total-failure-session-count")
	w.num(failure)
	w.close('}')
	if details > 0 {
		w.key("failure-details")
		w.open('[')
		for _, c := range counts {
			g.detail(w, mx, c)
		}
		w.close(']')
	}
	w.close('}')
	return success, failure, details
}

func (g *Generator) detail(w *jw, mx []string, count int64) {
	rt := resultTypes[g.rnd.IntN(len(resultTypes))]
	w.open('{')
	w.key("result-type")
	w.str(rt)
	if g.rnd.IntN(10) > 0 {
		w.key("sending-mta-ip")
		w.str(g.ip())
	}
	if !strings.HasPrefix(rt, "sts-") {
		w.key("receiving-mx-hostname")
		w.str(mx[g.rnd.IntN(len(mx))])
		w.key("receiving-ip")
		w.str(g.ip())
		if g.rnd.IntN(2) == 0 {
			w.key("receiving-mx-helo")
			w.str(mx[0])
		}
	}
	w.key("failed-session-count")
	w.num(count)
	if rc := reasonCodes[g.rnd.IntN(len(reasonCodes))]; rc != "" {
		w.key("failure-reason-code")
		w.str(rc)
	}
	switch g.rnd.IntN(6) {
	case 0:
		w.key("additional-information")
		w.str("https://sender.example/tlsrpt/help#" + rt)
	case 1:
		w.key("additional-info-uri")
		w.str("https://sender.example/tlsrpt/help")
	}
	w.close('}')
}

func (g *Generator) ip() string {
	if g.rnd.IntN(3) == 0 {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		for i := 12; i < 16; i++ {
			b[i] = byte(g.rnd.IntN(256))
		}
		return netip.AddrFrom16(b).String()
	}
	return netip.AddrFrom4([4]byte{198, 51, byte(g.rnd.IntN(256)), byte(1 + g.rnd.IntN(254))}).String()
}

func (g *Generator) gzip(b []byte) []byte {
	g.buf.Reset()
	if g.zw == nil {
		g.zw = gzip.NewWriter(&g.buf)
	} else {
		g.zw.Reset(&g.buf)
	}
	g.zw.Write(b) // writes to a bytes.Buffer do not fail
	g.zw.Close()
	return bytes.Clone(g.buf.Bytes())
}

// jw writes JSON, compact or indented, keeping track of commas.
type jw struct {
	b      bytes.Buffer
	indent bool
	depth  int
	first  bool // no element written yet at this depth
	inKey  bool // a member name was written, its value comes next
}

func (w *jw) sep() {
	if w.inKey {
		w.inKey = false
		return
	}
	if !w.first {
		w.b.WriteByte(',')
	}
	w.first = false
	w.nl()
}

func (w *jw) nl() {
	if w.indent && w.depth > 0 {
		w.b.WriteByte('\n')
		for range w.depth {
			w.b.WriteString("  ")
		}
	}
}

func (w *jw) open(c byte) {
	if w.depth > 0 {
		w.sep()
	}
	w.b.WriteByte(c)
	w.depth++
	w.first = true
}

func (w *jw) close(c byte) {
	w.depth--
	if !w.first {
		w.nl()
	}
	w.first = false
	w.b.WriteByte(c)
}

func (w *jw) key(k string) {
	w.sep()
	w.b.WriteString(strconv.Quote(k))
	w.b.WriteByte(':')
	if w.indent {
		w.b.WriteByte(' ')
	}
	w.inKey = true
}

func (w *jw) str(s string) {
	w.sep()
	w.b.WriteString(strconv.Quote(s))
}

func (w *jw) num(n int64) {
	w.sep()
	w.b.WriteString(strconv.FormatInt(n, 10))
}

func (w *jw) raw(s string) {
	w.sep()
	w.b.WriteString(s)
}
