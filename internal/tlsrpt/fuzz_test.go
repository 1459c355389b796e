package tlsrpt

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleFiles returns the contents of the real samples, as stored.
func sampleFiles(t testing.TB) map[string][]byte {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f, ".json") || strings.HasSuffix(f, ".eml") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m[filepath.Base(f)] = b
		}
	}
	return m
}

func FuzzParseReport(f *testing.F) {
	for _, tc := range reportCases {
		if len(tc.in) < 100000 {
			f.Add([]byte(tc.in))
		}
	}
	for name := range sampleFiles(f) {
		b := readSample(f, name)
		f.Add(b)
		f.Add(gzipBytes(f, b))
	}
	lim := Limits{MaxDecompressed: 1 << 20, MaxPolicies: 100, MaxFailureDetails: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReport(data, lim)
		if err != nil {
			var re *ReportError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ReportError", err)
			}
			switch re.Err {
			case ErrTooLarge, ErrMalformed, ErrInvalid, ErrTooDeep, ErrTooMany:
			default:
				t.Fatalf("error %v wraps %v", err, re.Err)
			}
			return
		}
		if strings.TrimSpace(r.OrganizationName) == "" || strings.TrimSpace(r.ReportID) == "" || len(r.Policies) == 0 {
			t.Fatalf("accepted report without organization, id or policies: %+v", r)
		}
		// What is kept as written is flagged: a value that is not what
		// RFC 8460 says only comes with a quirk.
		flagged := len(r.Quirks) > 0
		if r.Start.After(r.End) && !flagged || r.Start.Location().String() != "UTC" || r.End.Location().String() != "UTC" {
			t.Fatalf("bad range %v – %v", r.Start, r.End)
		}
		for _, p := range r.Policies {
			if checkHostname(p.Domain, false) != "" && !flagged {
				t.Fatalf("bad domain %q", p.Domain)
			}
			for _, h := range p.MXHosts {
				if checkHostname(h, true) != "" && !flagged {
					t.Fatalf("bad mx-host %q", h)
				}
			}
			if p.Success < 0 || p.Failure < 0 || p.Success > maxCount || p.Failure > maxCount {
				t.Fatalf("bad counts %d %d", p.Success, p.Failure)
			}
			for _, fd := range p.Failures {
				for _, ip := range []string{fd.SendingMTAIP, fd.ReceivingIP} {
					if a, err := netip.ParseAddr(ip); ip != "" && (err != nil && !flagged || err == nil && a.String() != ip) {
						t.Fatalf("IP %q not canonical", ip)
					}
				}
				if fd.Count < 0 || fd.Count > maxCount || fd.ResultType == "" && !flagged {
					t.Fatalf("bad failure detail %+v", fd)
				}
			}
		}
		checkKeySafe(t, r.Identity().Key())
		roundTrip(t, r)
	})
}

func FuzzParseRecord(f *testing.F) {
	for _, tt := range recordTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			if !errors.Is(err, ErrRecordSyntax) {
				t.Fatalf("error %v is not ErrRecordSyntax", err)
			}
			return
		}
		if len(r.RUA) == 0 || r.Version != Version {
			t.Fatalf("accepted %q as %+v", s, r)
		}
		w := r.String()
		r2, err := ParseRecord(w)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, w, r2, err)
		}
		if r3, err := RecordFromTXT([][]string{{s}}); err != nil || !reflect.DeepEqual(r, r3) {
			t.Fatalf("RecordFromTXT(%q) = %+v, %v; want %+v", s, r3, err, r)
		}
	})
}

func FuzzParseRUA(f *testing.F) {
	for _, tt := range []string{
		"mailto:tlsrpt@example.com", "https://reports.example.com/tlsrpt", "http://x.example/", "mailto:a@b%2Cc@d",
		"https://[::1]:8443/p?q=1#f", "mailto:", "ftp://x", "https://x/a;b",
	} {
		f.Add(tt)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseRUA(s)
		if err != nil {
			if !errors.Is(err, ErrRecordSyntax) {
				t.Fatalf("error %v is not ErrRecordSyntax", err)
			}
			return
		}
		if u.String() != s || u.Scheme != "mailto" && u.Scheme != "https" {
			t.Fatalf("ParseRUA(%q) = %+v", s, u)
		}
		r, err := ParseRecord("v=TLSRPTv1; rua=" + s)
		if err != nil || len(r.RUA) != 1 || r.RUA[0] != u {
			t.Fatalf("record with rua %q: %+v, %v", s, r, err)
		}
	})
}

func FuzzExtractFromMessage(f *testing.F) {
	for name, b := range sampleFiles(f) {
		if strings.HasSuffix(name, ".eml") {
			f.Add(b)
		}
	}
	for _, tc := range extractCases(f) {
		if len(tc.msg) < 100000 {
			f.Add(tc.msg)
		}
	}
	lim := Limits{MaxDecompressed: 1 << 20, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, msg []byte) {
		b, err := ExtractFromMessage(msg, lim)
		if err != nil {
			for _, e := range []error{ErrTooLarge, ErrMalformed, ErrTooDeep, ErrTooMany, ErrNotReport} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if len(b) == 0 || int64(len(b)) > lim.MaxDecompressed {
			t.Fatalf("extracted %d bytes", len(b))
		}
	})
}
