package tlsrpt

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// reportWithPolicy is a valid report whose one policy object is policy.
func reportWithPolicy(policy string) []byte {
	return []byte(`{"organization-name": "o", "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"}, "contact-info": "c", "report-id": "r", "policies": [` +
		`{"policy": ` + policy + `, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}`)
}

// TestListAndStringLimits: every array and every string of a report has a
// limit (issue 14 §1), and a report over one is refused naming the field.
func TestListAndStringLimits(t *testing.T) {
	strs := func(n int, s string) string {
		return `[` + strings.TrimSuffix(strings.Repeat(`"`+s+`",`, n), ",") + `]`
	}
	pol := func(ps, mx string) string {
		return `{"policy-type": "sts", "policy-string": ` + ps + `, "policy-domain": "example.com", "mx-host": ` + mx + `}`
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	lim := Limits{MaxListEntries: 4, MaxString: 100}
	tests := []struct {
		name string
		in   []byte
		err  error
		path string
	}{
		{"4 entries", reportWithPolicy(pol(strs(3, "mode: testing"), strs(1, "mx.example"))), nil, ""},
		{"5 policy-string entries", reportWithPolicy(pol(strs(5, ""), `[]`)), ErrTooMany, "policies[0].policy.policy-string[4]"},
		{"5 entries over both arrays", reportWithPolicy(pol(strs(3, "x"), strs(2, "mx.example"))), ErrTooMany, "policies[0].policy.mx-host[1]"},
		{"empty mx-host entries count", reportWithPolicy(pol(`[]`, strs(5, ""))), ErrTooMany, "policies[0].policy.mx-host[4]"},
		{"mx-host as a string counts", reportWithPolicy(pol(strs(4, "x"), `"mx.example"`)), ErrTooMany, "policies[0].policy.mx-host"},
		{"string of 100 bytes", reportWithPolicy(pol(strs(1, long(100)), `[]`)), nil, ""},
		{"string of 101 bytes", reportWithPolicy(pol(strs(1, long(101)), `[]`)), ErrTooLarge, "policies[0].policy.policy-string[0]"},
		{"escapes count as sent", reportWithPolicy(pol(strs(1, strings.Repeat(`\u0041`, 17)), `[]`)), ErrTooLarge, "policies[0].policy.policy-string[0]"},
		{"long member name", reportWithPolicy(`{"` + long(101) + `": 1}`), ErrTooLarge, "policies[0].policy"},
		{"long unknown value", reportWithPolicy(`{"x": ["` + long(101) + `"]}`), ErrTooLarge, "policies[0].policy.x"},
		{"long organization-name", bytes.Replace(reportWithPolicy(pol(`[]`, `[]`)), []byte(`"o"`), []byte(`"`+long(101)+`"`), 1), ErrTooLarge, "organization-name"},
	}
	for _, tt := range tests {
		r, err := ParseReport(tt.in, lim)
		if tt.err == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if len(r.Policies) != 1 {
				t.Errorf("%s: %d policies", tt.name, len(r.Policies))
			}
			continue
		}
		var re *ReportError
		if !errors.Is(err, tt.err) || !errors.As(err, &re) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
			continue
		}
		if re.Path != tt.path || !strings.Contains(err.Error(), tt.path+": ") {
			t.Errorf("%s: path %q (%v), want %q", tt.name, re.Path, err, tt.path)
		}
	}
}

// TestArrayBomb is the regression case of issue 14 §1: a gzip body of a few
// hundred KB inflating to millions of policy-string or mx-host entries took
// 16 bytes and more per entry (1.6 GB for 64 MiB of `"",`). It is now
// refused at MaxListEntries, with memory for the inflated JSON and little
// more.
func TestArrayBomb(t *testing.T) {
	const n = 4 << 20         // entries
	const maxEntries = 100000 // DefaultLimits().MaxListEntries
	for _, tt := range []struct{ field, entry string }{
		{"policy-string", `"",`},
		{"mx-host", `"a",`},
	} {
		js := bytes.NewBufferString(`{"organization-name":"o","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"report-id":"r","policies":[{"policy":{"policy-type":"sts","policy-domain":"example.com","` + tt.field + `":[`)
		js.Write(bytes.Repeat([]byte(tt.entry), n))
		js.WriteString(`""]},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}]}`)
		body := gzipBytes(t, js.Bytes())
		jsonLen := js.Len()
		js = nil

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ParseReport(body, DefaultLimits())
		runtime.ReadMemStats(&after)
		if DefaultLimits().MaxListEntries != maxEntries {
			t.Fatalf("MaxListEntries is %d, the test assumes %d", DefaultLimits().MaxListEntries, maxEntries)
		}
		if !errors.Is(err, ErrTooMany) || !strings.Contains(err.Error(), "policies[0].policy."+tt.field+"[") {
			t.Errorf("%s: %d entries in %d bytes of gzip: %v, want ErrTooMany naming the field", tt.field, n, len(body), err)
		}
		// The inflated JSON, the entries up to the limit (16 bytes
		// each; append's growth allocates about 5 times the final
		// slice in all, of which at most 2.25 times is live) and some
		// slack.
		bound := uint64(jsonLen) + 5*16*uint64(maxEntries) + 2<<20
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
			t.Errorf("%s: allocated %d bytes, want at most %d", tt.field, alloc, bound)
		}
	}
}

// TestInputUnchanged: the decoder reads the body in place and never
// writes to it (the caller stores it as received).
func TestInputUnchanged(t *testing.T) {
	for name := range sampleFiles(t) {
		data := readSample(t, name)
		orig := bytes.Clone(data)
		if _, err := ParseReport(data, DefaultLimits()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(data, orig) {
			t.Errorf("%s: ParseReport changed its input", name)
		}
	}
	bad := []byte(vary(`: 10,`, `: -10,`))
	orig := bytes.Clone(bad)
	if _, err := ParseReport(bad, DefaultLimits()); err == nil || !bytes.Equal(bad, orig) {
		t.Errorf("invalid report: err %v, input changed %v", err, !bytes.Equal(bad, orig))
	}
}

func TestDefaultLimitsDocumented(t *testing.T) {
	d := DefaultLimits()
	for _, v := range []int{d.MaxListEntries, d.MaxString} {
		if v <= 0 {
			t.Fatalf("DefaultLimits %+v has an unset field", d)
		}
	}
	if z := (Limits{}).withDefaults(); z != d {
		t.Errorf("Limits{}.withDefaults() = %+v, want %+v", z, d)
	}
}
