package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/bench/corpus"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// samplesDir holds the real reports (see its SOURCES.md).
const samplesDir = "../testdata/tlsrpt"

// corpusSeed and corpusSize define the generated corpus.
const (
	corpusSeed = 20240301
	corpusSize = 10000
)

// plainReport is RFC 8460 §4.4 as a plain encoding/json decode has it: the
// common implementation in Go receivers, and the baseline of
// BenchmarkParse. mx-host is left raw, as senders write it both as a string
// and as an array.
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
		Summary        rfcSummary  `json:"summary"`
		FailureDetails []rfcDetail `json:"failure-details"`
	} `json:"policies"`
}

// rfcSummary and rfcDetail are RFC 8460 §4.4's summary and failure-details
// members, as both baselines decode them.
type rfcSummary struct {
	Success int64 `json:"total-successful-session-count"`
	Failure int64 `json:"total-failure-session-count"`
}

type rfcDetail struct {
	ResultType          string `json:"result-type"`
	SendingMTAIP        string `json:"sending-mta-ip"`
	ReceivingMXHostname string `json:"receiving-mx-hostname"`
	ReceivingMXHelo     string `json:"receiving-mx-helo"`
	ReceivingIP         string `json:"receiving-ip"`
	Count               int64  `json:"failed-session-count"`
	AdditionalInfo      string `json:"additional-information"`
	ReasonCode          string `json:"failure-reason-code"`
}

// plainDecode is the baseline: gunzip when the body is gzip, then
// json.Unmarshal.
func plainDecode(body []byte) (*plainReport, error) {
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var r plainReport
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// moxReport has the design of mox's tlsrpt.Parse (github.com/mjl-/mox,
// tlsrpt/report.go), written here anew because the module proxy does not
// serve mox: a json.Decoder into RFC-shaped structs, the date-range as
// time.Time through an UnmarshalJSON that decodes the range again and
// retries a time without a zone, mx-host as an array of strings (so it
// refuses the RFC's own example, whose mx-host is a string).
type moxReport struct {
	OrganizationName string   `json:"organization-name"`
	DateRange        moxRange `json:"date-range"`
	ContactInfo      string   `json:"contact-info"`
	ReportID         string   `json:"report-id"`
	Policies         []struct {
		Policy struct {
			Type   string   `json:"policy-type"`
			String []string `json:"policy-string"`
			Domain string   `json:"policy-domain"`
			MXHost []string `json:"mx-host"`
		} `json:"policy"`
		Summary        rfcSummary  `json:"summary"`
		FailureDetails []rfcDetail `json:"failure-details"`
	} `json:"policies"`
}

type moxRange struct{ Start, End time.Time }

// moxTime is a time.Time that also takes a date-time without a zone.
type moxTime time.Time

func (m *moxTime) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err == nil {
		*m = moxTime(t)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse("2006-01-02T15:04:05", s)
	*m = moxTime(t)
	return err
}

func (r *moxRange) UnmarshalJSON(b []byte) error {
	var v struct {
		Start moxTime `json:"start-datetime"`
		End   moxTime `json:"end-datetime"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Start, r.End = time.Time(v.Start), time.Time(v.End)
	return nil
}

// moxDecode is the mox-design baseline: gunzip when the body is gzip, then
// a json.Decoder.
func moxDecode(body []byte) (*moxReport, error) {
	var r io.Reader = bytes.NewReader(body)
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	var rep moxReport
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// moxSamples are the real samples the mox design reads (all but the one
// with mx-host as a string).
func moxSamples(tb testing.TB) reportSet {
	tb.Helper()
	var s reportSet
	for _, b := range samples(tb).bodies {
		if _, err := moxDecode(b); err == nil {
			s.bodies = append(s.bodies, b)
			s.jsonBytes += int64(len(b))
		}
	}
	if len(s.bodies) < 4 {
		tb.Fatalf("the mox design reads %d samples, want at least 4", len(s.bodies))
	}
	return s
}

// reportSet is a set of report bodies and the size of their JSON.
type reportSet struct {
	bodies    [][]byte
	jsonBytes int64
}

// samples returns the real reports as JSON (e-mails' attachments taken out
// and inflated).
func samples(tb testing.TB) reportSet {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var s reportSet
	for _, f := range files {
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".eml") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasSuffix(f, ".eml") {
			if data, err = tlsrpt.ExtractFromMessage(data, tlsrpt.DefaultLimits()); err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
		}
		if data[0] == 0x1f {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				tb.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				tb.Fatal(err)
			}
		}
		s.bodies = append(s.bodies, data)
		s.jsonBytes += int64(len(data))
	}
	if len(s.bodies) < 7 {
		tb.Fatalf("%d samples in %s, want 7", len(s.bodies), samplesDir)
	}
	return s
}

func gzipped(tb testing.TB, s reportSet) reportSet {
	tb.Helper()
	out := reportSet{jsonBytes: s.jsonBytes}
	for _, b := range s.bodies {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(b); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		out.bodies = append(out.bodies, buf.Bytes())
	}
	return out
}

// benchCorpus is the generated corpus, as JSON and gzip, made once per test
// binary (about a second of work).
var benchCorpus = sync.OnceValue(func() [2]reportSet {
	reports := corpus.Generate(corpusSeed, corpusSize, corpus.Options{GzipEvery: 1})
	var js, gz reportSet
	for _, r := range reports {
		js.bodies = append(js.bodies, r.JSON)
		gz.bodies = append(gz.bodies, r.Body)
		js.jsonBytes += int64(len(r.JSON))
	}
	gz.jsonBytes = js.jsonBytes
	return [2]reportSet{js, gz}
})

// perReport runs op once per b.Loop iteration over a set of n reports and
// reports ns/report and allocs/report.
//
// It also reports cpu-ns/report: the CPU time of the benchmark's thread,
// which other load on the machine changes much less than the elapsed time
// (on Linux; elsewhere not reported).
func perReport(b *testing.B, n int, op func()) {
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := threadCPU()
	for b.Loop() {
		op()
	}
	cpu := threadCPU() - cpu0
	runtime.ReadMemStats(&m1)
	reports := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/reports, "ns/report")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/reports, "allocs/report")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/reports, "cpu-ns/report")
	}
}

// BenchmarkParse measures tlsrpt.ParseReport (which parses, validates and
// normalises) against plainDecode over the same bodies. MB/s is of the
// JSON, also for gzip input.
func BenchmarkParse(b *testing.B) {
	s := samples(b)
	c := benchCorpus()
	sets := []struct {
		name string
		set  reportSet
	}{
		{"samples-json", s},
		{"samples-gzip", gzipped(b, s)},
		{"corpus-json", c[0]},
		{"corpus-gzip", c[1]},
		{"samples-mox", moxSamples(b)},
	}
	for _, set := range sets {
		b.Run(set.name+"/ststack", func(b *testing.B) {
			b.SetBytes(set.set.jsonBytes)
			lim := tlsrpt.DefaultLimits()
			perReport(b, len(set.set.bodies), func() {
				for _, body := range set.set.bodies {
					if _, err := tlsrpt.ParseReport(body, lim); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		if set.name == "samples-mox" {
			b.Run(set.name+"/mox-design", func(b *testing.B) {
				b.SetBytes(set.set.jsonBytes)
				perReport(b, len(set.set.bodies), func() {
					for _, body := range set.set.bodies {
						if _, err := moxDecode(body); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			continue
		}
		b.Run(set.name+"/plain", func(b *testing.B) {
			b.SetBytes(set.set.jsonBytes)
			perReport(b, len(set.set.bodies), func() {
				for _, body := range set.set.bodies {
					if _, err := plainDecode(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestPlainDecodeBaseline: the baseline decodes every report of both sets
// to the same counts ParseReport finds, so the two do comparable work.
func TestPlainDecodeBaseline(t *testing.T) {
	s := samples(t)
	c := corpus.Generate(corpusSeed, 500, corpus.Options{})
	bodies := append(gzipped(t, s).bodies, s.bodies...)
	for _, r := range c {
		bodies = append(bodies, r.Body)
	}
	for i, body := range bodies {
		p, err := plainDecode(body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		r, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if len(p.Policies) != len(r.Policies) || p.ReportID != r.ReportID {
			t.Fatalf("body %d: plain %d policies %q, ststack %d %q", i, len(p.Policies), p.ReportID, len(r.Policies), r.ReportID)
		}
		for j, pol := range p.Policies {
			if pol.Summary.Success != r.Policies[j].Success || len(pol.FailureDetails) != len(r.Policies[j].Failures) {
				t.Fatalf("body %d policy %d: plain %+v, ststack %+v", i, j, pol.Summary, r.Policies[j])
			}
		}
	}
	// The baseline refuses what is not JSON, as ParseReport does.
	for _, bad := range []string{"", "{", "[1]x", "\x1f\x8b\x08garbage"} {
		if _, err := plainDecode([]byte(bad)); err == nil {
			t.Errorf("plainDecode(%q) succeeded", bad)
		}
	}
}

// TestMoxDesignBaseline: the mox-design baseline reads the samples it takes
// to the same counts and times ParseReport finds, so the two do comparable
// work; it refuses the RFC's example (mx-host as a string).
func TestMoxDesignBaseline(t *testing.T) {
	s := moxSamples(t)
	for i, body := range append(gzipped(t, s).bodies, s.bodies...) {
		m, err := moxDecode(body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		r, err := tlsrpt.ParseReport(body, tlsrpt.DefaultLimits())
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if m.ReportID != r.ReportID || !m.DateRange.Start.Equal(r.Start) || !m.DateRange.End.Equal(r.End) || len(m.Policies) != len(r.Policies) {
			t.Fatalf("body %d: mox design %q %v–%v %d policies, ststack %q %v–%v %d", i, m.ReportID, m.DateRange.Start, m.DateRange.End, len(m.Policies), r.ReportID, r.Start, r.End, len(r.Policies))
		}
		for j, p := range m.Policies {
			if p.Summary.Failure != r.Policies[j].Failure || len(p.FailureDetails) != len(r.Policies[j].Failures) {
				t.Fatalf("body %d policy %d: mox design %+v, ststack %+v", i, j, p.Summary, r.Policies[j])
			}
		}
	}
	if len(s.bodies) != len(samples(t).bodies)-1 {
		t.Errorf("the mox design reads %d of %d samples, want all but the RFC's example", len(s.bodies), len(samples(t).bodies))
	}
}
