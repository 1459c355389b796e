package tlsrpt

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// plainReport is RFC 8460 §4.4 as a plain encoding/json decode would have
// it: the baseline for the benchmarks. mx-host is left raw, as the samples
// have it both as a string and as an array.
type plainReport struct {
	OrganizationName string `json:"organization-name"`
	DateRange        struct {
		Start string `json:"start-datetime"`
		End   string `json:"end-datetime"`
	} `json:"date-range"`
	ContactInfo string `json:"contact-info"`
	ReportID    string `json:"report-id"`
	Policies    []struct {
		Policy struct {
			Type    string          `json:"policy-type"`
			Strings []string        `json:"policy-string"`
			Domain  string          `json:"policy-domain"`
			MXHost  json.RawMessage `json:"mx-host"`
		} `json:"policy"`
		Summary struct {
			Success int64 `json:"total-successful-session-count"`
			Failure int64 `json:"total-failure-session-count"`
		} `json:"summary"`
		FailureDetails []struct {
			ResultType          string `json:"result-type"`
			SendingMTAIP        string `json:"sending-mta-ip"`
			ReceivingMXHostname string `json:"receiving-mx-hostname"`
			ReceivingMXHelo     string `json:"receiving-mx-helo"`
			ReceivingIP         string `json:"receiving-ip"`
			Count               int64  `json:"failed-session-count"`
			AdditionalInfo      string `json:"additional-information"`
			ReasonCode          string `json:"failure-reason-code"`
		} `json:"failure-details"`
	} `json:"policies"`
}

// benchReports returns the JSON of every real sample (those from e-mails
// taken out and inflated).
func benchReports(b *testing.B) [][]byte {
	var l [][]byte
	for name := range sampleFiles(b) {
		data := readSample(b, name)
		if isGzip(data) {
			data = inflate(b, data)
		}
		l = append(l, data)
	}
	return l
}

// largeReport is a synthetic report with 10 policies of 100 failure details
// each.
func largeReport() []byte {
	var sb strings.Builder
	sb.WriteString(`{"organization-name":"Example Sender","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"contact-info":"tlsrpt@sender.example","report-id":"2024-01-01T00:00:00Z_example.com","policies":[`)
	for p := range 10 {
		if p > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx%d.example.com","max_age: 86400"],"policy-domain":"d%d.example.com","mx-host":["mx%d.example.com"]},"summary":{"total-successful-session-count":%d,"total-failure-session-count":%d},"failure-details":[`, p, p, p, 1000*p, 100)
		for f := range 100 {
			if f > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"result-type":"certificate-expired","sending-mta-ip":"2001:db8::%x","receiving-mx-hostname":"mx%d.example.com","receiving-ip":"192.0.2.%d","failed-session-count":1,"failure-reason-code":"X509_V_ERR_CERT_HAS_EXPIRED"}`, f+1, p, f)
		}
		sb.WriteString(`]}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

func totalLen(l [][]byte) (n int64) {
	for _, b := range l {
		n += int64(len(b))
	}
	return n
}

func benchParse(b *testing.B, inputs [][]byte, jsonBytes int64) {
	b.SetBytes(jsonBytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			if _, err := ParseReport(in, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchPlain(b *testing.B, inputs [][]byte) {
	b.SetBytes(totalLen(inputs))
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			var r plainReport
			if err := json.Unmarshal(in, &r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func gzipAll(b *testing.B, l [][]byte) [][]byte {
	var out [][]byte
	for _, in := range l {
		out = append(out, gzipBytes(b, in))
	}
	return out
}

// The benchmarks' bytes/s are of the JSON, also for gzip input.

func BenchmarkParseReportJSON(b *testing.B) {
	l := benchReports(b)
	benchParse(b, l, totalLen(l))
}

func BenchmarkParseReportGzip(b *testing.B) {
	l := benchReports(b)
	benchParse(b, gzipAll(b, l), totalLen(l))
}

func BenchmarkPlainDecode(b *testing.B) {
	benchPlain(b, benchReports(b))
}

func BenchmarkParseReportJSONLarge(b *testing.B) {
	l := [][]byte{largeReport()}
	benchParse(b, l, totalLen(l))
}

func BenchmarkParseReportGzipLarge(b *testing.B) {
	l := [][]byte{largeReport()}
	benchParse(b, gzipAll(b, l), totalLen(l))
}

func BenchmarkPlainDecodeLarge(b *testing.B) {
	benchPlain(b, [][]byte{largeReport()})
}

func BenchmarkExtractFromMessage(b *testing.B) {
	var msgs [][]byte
	for name, data := range sampleFiles(b) {
		if strings.HasSuffix(name, ".eml") {
			msgs = append(msgs, data)
		}
	}
	b.SetBytes(totalLen(msgs))
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			if _, err := ExtractFromMessage(m, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
