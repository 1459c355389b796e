package tlsrpt

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// samplesDir holds real reports, beside the repository.
const samplesDir = "../../testdata/tlsrpt"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".eml") {
		b, err = ExtractFromMessage(b, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: ExtractFromMessage: %v", name, err)
		}
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type wantPolicy struct {
	typ              PolicyType
	domain           string
	strings          int
	mx               []string
	success, failure int64
	details          []int64 // failed-session-count of each failure detail
}

// sampleWants is what each real sample states.
var sampleWants = []struct {
	file        string
	org, id     string
	start, end  string
	contact     string
	policies    []wantPolicy
	quirks      []string // substrings, one per expected quirk, in order
	maxQuirkLen int
}{
	{
		file: "google-2024-02.json", org: "Google Inc.", id: "2024-02-17T00:00:00Z_example.com",
		start: "2024-02-17T00:00:00Z", end: "2024-02-17T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, []string{"example.com"}, 53, 0, nil}},
	},
	{
		file: "google-2024-09.eml", org: "Google Inc.", id: "2024-09-03T00:00:00Z_cardinalhealth.ca",
		start: "2024-09-03T00:00:00Z", end: "2024-09-03T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeNoPolicyFound, "cardinalhealth.ca", 0, nil, 48, 0, nil}},
	},
	{
		file: "mailru-fetch-error.json", org: "Mail.ru", id: "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru",
		start: "2024-02-22T00:00:00Z", end: "2024-02-23T00:00:00Z", contact: "tls_support@corp.mail.ru",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 0, nil, 0, 1, []int64{1, 1}}},
		quirks: []string{
			"policies[0].failure-details[0].sending-mta-ip: missing (RFC 8460 §4.4 requires it) (2 times)",
			"policies[0].summary.total-failure-session-count: 1, but the failed-session-counts of failure-details add up to 2",
		},
	},
	{
		file: "microsoft-2023.eml", org: "Microsoft Corporation", id: "133198585438131172+test.xmox.nl",
		start: "2023-01-10T00:00:00Z", end: "2023-01-10T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "test.xmox.nl", 4, nil, 2, 0, nil}},
		quirks: []string{
			`date-range.start-datetime: "2023-01-10T00:00:00" has no time zone, taken as UTC`,
			`date-range.end-datetime: "2023-01-10T23:59:59" has no time zone`,
		},
	},
	{
		file: "microsoft-2024-02.json", org: "Microsoft Corporation", id: "133526718584528772+example.com",
		start: "2024-02-16T00:00:00Z", end: "2024-02-16T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 18, 0, nil}},
	},
	{
		file: "microsoft-2024-03-no-timezone.json", org: "Microsoft Corporation", id: "133561180919336230+example.com",
		start: "2024-03-26T00:00:00Z", end: "2024-03-26T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 7, 0, nil}},
		quirks:   []string{"start-datetime: \"2024-03-26T00:00:00\" has no time zone", "end-datetime: \"2024-03-26T23:59:59\" has no time zone"},
	},
	{
		file: "parsedmarc-empty-detail-fields.json", org: "Reporter Example", id: "2024-06-01T00:00:00Z_example.com",
		start: "2024-06-01T00:00:00Z", end: "2024-06-01T23:59:59Z", contact: "smtp-tls-reporting@reporter.example",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 0, 1, []int64{1}}},
		quirks:   []string{"policies[0].failure-details[0].sending-mta-ip: missing"},
	},
	{
		file: "google-2022-09.eml", org: "Google Inc.", id: "2022-09-15T00:00:00Z_test.xmox.nl",
		start: "2022-09-15T00:00:00Z", end: "2022-09-15T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "test.xmox.nl", 4, []string{"komijn.test.xmox.nl"}, 3, 0, nil}},
	},
	{
		file: "microsoft-2025-05-tlsa.json", org: "Microsoft Corporation", id: "133925885310113267+random.net",
		start: "2025-05-23T00:00:00Z", end: "2025-05-23T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "random.net", 4, nil, 2, 0, nil}, {PolicyTypeTLSA, "random.net", 1, nil, 2, 0, nil}},
	},
	{
		file: "microsoft-2025-06-no-ip-no-mx.json", org: "Microsoft Corporation", id: "1234567890+",
		start: "2025-06-14T00:00:00Z", end: "2025-06-14T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "xxxxxxxx.xx", 0, nil, 0, 3, []int64{3}}},
		quirks:   []string{"policies[0].failure-details[0].sending-mta-ip: missing"},
	},
	{
		file: "contact-null-2026-01.json", org: "server.com", id: "123_456",
		start: "2026-01-11T00:00:00Z", end: "2026-01-12T00:00:00Z", contact: "",
		policies: []wantPolicy{{PolicyTypeSTS, "server.com", 4, []string{"mx: mx.server.com"}, 1, 0, nil}},
		quirks:   []string{"contact-info: null", `policies[0].policy.mx-host: "mx: mx.server.com": not a host name`},
	},
	{
		file: "google-2025-03-no-policy-found.json", org: "Google Inc.", id: "2025-03-27T00:00:00Z_foo-bar.io",
		start: "2025-03-27T00:00:00Z", end: "2025-03-27T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeNoPolicyFound, "foo-bar.io", 0, nil, 1, 0, nil}},
	},
	{
		file: "google-2025-05.json", org: "Google Inc.", id: "2025-05-22T00:00:00Z_foo-bar.io",
		start: "2025-05-22T00:00:00Z", end: "2025-05-22T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "foo-bar.io", 4, []string{"*.foo-bar.io"}, 1, 0, nil}},
	},
	{
		file: "stalwart-company-x.json", org: "Company-X", id: "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
		start: "2016-04-01T00:00:00Z", end: "2016-04-01T23:59:59Z", contact: "sts-reporting@company-x.example",
		policies: []wantPolicy{{PolicyTypeSTS, "company-y.example", 4, []string{"*.mail.company-y.example"}, 5326, 303, []int64{100, 200, 3}}},
		quirks:   []string{"policies[0].failure-details[0].receiving-ip: missing"},
	},
	{
		file: "google-2020-01-week.json", org: "Google Inc.", id: "2020-01-01T00:00:00Z_example.com",
		start: "2020-01-01T00:00:00Z", end: "2020-01-07T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 23, 1, []int64{1}}},
	},
	{
		file: "stalwart-no-policy-domain.json", org: "Google Inc.", id: "2019-04-14T00:00:00Z_example.org",
		start: "2019-04-14T00:00:00Z", end: "2019-04-14T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeNoPolicyFound, "", 0, nil, 1, 0, nil}, {"invalid-policy-type", "", 0, nil, 1, 0, nil}},
		quirks: []string{
			"policies[0].policy.policy-domain: missing or empty",
			"policies[0].summary.total-failure-session-count: missing (RFC 8460 §4.4 requires it); taken as 0",
			`policies[1].policy.policy-type: "invalid-policy-type" is not sts, tlsa or no-policy-found`,
		},
	},
	{
		file: "google-2026-02-failure.eml", org: "Google Inc.", id: "2026-02-08T00:00:00Z_example.com",
		start: "2026-02-08T00:00:00Z", end: "2026-02-09T00:00:00Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 4523, 2, []int64{2}}},
		quirks:   []string{"policies[0].failure-details[0].receiving-ip: missing"},
	},
	{
		file: "google-2026-05.eml", org: "Google Inc.", id: "2026-05-11T00:00:00Z_example.com",
		start: "2026-05-11T00:00:00Z", end: "2026-05-11T23:59:59Z", contact: "smtp-tls-reporting@google.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 5, []string{"in1-smtp.messagingengine.com", "in2-smtp.messagingengine.com"}, 1, 0, nil}},
	},
	{
		file: "microsoft-2026-05.eml", org: "Microsoft Corporation", id: "134232617934286362+example.com",
		start: "2026-05-13T00:00:00Z", end: "2026-05-13T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 5, nil, 2, 0, nil}},
	},
	{
		file: "parsedmarc-validation-failure.json", org: "Example Inc.", id: "2024-01-09T00:00:00Z_example.com",
		start: "2024-01-09T00:00:00Z", end: "2024-01-09T23:59:59Z", contact: "smtp-tls-reporting@example.com",
		policies: []wantPolicy{{PolicyTypeSTS, "example.com", 4, nil, 0, 3, []int64{2, 1}}},
	},
	{
		file: "tlsa-microsoft-shape.json", org: "Microsoft Corporation", id: "133529310241234567+example.com",
		start: "2024-02-20T00:00:00Z", end: "2024-02-20T23:59:59Z", contact: "tlsrpt-noreply@microsoft.com",
		policies: []wantPolicy{
			{PolicyTypeSTS, "example.com", 4, []string{"*.mail.example.net"}, 3, 0, nil},
			{PolicyTypeTLSA, "example.com", 2, []string{"mx1.mail.example.net"}, 42, 0, nil},
			{PolicyTypeTLSA, "example.com", 1, []string{"mx2.mail.example.net"}, 11, 4, []int64{4}},
		},
	},
	{
		file: "rfc8460-example.json", org: "Company-X", id: "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
		start: "2016-04-01T00:00:00Z", end: "2016-04-01T23:59:59Z", contact: "sts-reporting@company-x.example",
		policies: []wantPolicy{{PolicyTypeSTS, "company-y.example", 4, []string{"*.mail.company-y.example"}, 5326, 303, []int64{100, 200, 3}}},
		quirks: []string{
			"policies[0].policy.mx-host: a string, not an array (RFC 8460 erratum 6241)",
			"policies[0].failure-details[0].receiving-ip: missing",
		},
	},
}

func checkSample(t *testing.T, name string, r *Report, i int) {
	t.Helper()
	w := sampleWants[i]
	if r.OrganizationName != w.org || r.ReportID != w.id || r.ContactInfo != w.contact {
		t.Errorf("%s: org %q id %q contact %q, want %q %q %q", name, r.OrganizationName, r.ReportID, r.ContactInfo, w.org, w.id, w.contact)
	}
	if !r.Start.Equal(date(w.start)) || !r.End.Equal(date(w.end)) || r.Start.Location() != time.UTC || r.End.Location() != time.UTC {
		t.Errorf("%s: range %v – %v, want %s – %s in UTC", name, r.Start, r.End, w.start, w.end)
	}
	if len(r.Policies) != len(w.policies) {
		t.Fatalf("%s: %d policies, want %d", name, len(r.Policies), len(w.policies))
	}
	for j, wp := range w.policies {
		p := r.Policies[j]
		if p.Type != wp.typ || p.Domain != wp.domain || len(p.PolicyStrings) != wp.strings ||
			!reflect.DeepEqual(p.MXHosts, wp.mx) || p.Success != wp.success || p.Failure != wp.failure {
			t.Errorf("%s: policy %d = %+v, want %+v", name, j, p, wp)
		}
		var counts []int64
		for _, f := range p.Failures {
			counts = append(counts, f.Count)
		}
		if !reflect.DeepEqual(counts, wp.details) {
			t.Errorf("%s: policy %d failure-detail counts %v, want %v", name, j, counts, wp.details)
		}
	}
	if len(r.Quirks) < len(w.quirks) || len(w.quirks) == 0 && len(r.Quirks) != 0 {
		t.Errorf("%s: quirks %q, want %q", name, r.Quirks, w.quirks)
	}
	for k, q := range w.quirks {
		if k < len(r.Quirks) && !strings.Contains(r.Quirks[k], q) {
			t.Errorf("%s: quirk %d = %q, want it to contain %q", name, k, r.Quirks[k], q)
		}
	}
}

func TestSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		name := filepath.Base(f)
		if name == "SOURCES.md" {
			continue
		}
		i := -1
		for k, w := range sampleWants {
			if w.file == name {
				i = k
			}
		}
		if i < 0 {
			t.Errorf("sample %s has no expectations in sampleWants", name)
			continue
		}
		seen++
		data := readSample(t, name)
		r, err := ParseReport(data, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkSample(t, name, r, i)

		// The same report gzipped.
		var gz []byte
		if isGzip(data) {
			gz = data
		} else {
			gz = gzipBytes(t, data)
		}
		rz, err := ParseReport(gz, DefaultLimits())
		if err != nil {
			t.Errorf("%s gzipped: %v", name, err)
			continue
		}
		checkSample(t, name+" gzipped", rz, i)
	}
	if seen != len(sampleWants) {
		t.Errorf("found %d of %d samples in %s", seen, len(sampleWants), samplesDir)
	}
}

// baseReport is a valid report that the cases of TestParseReport vary.
const baseReport = `{
 "organization-name": "Org Inc.",
 "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"},
 "contact-info": "tlsrpt@org.example",
 "report-id": "r-1",
 "policies": [{
  "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing"], "policy-domain": "example.com", "mx-host": ["mx.example.com"]},
  "summary": {"total-successful-session-count": 10, "total-failure-session-count": 2},
  "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1", "receiving-ip": "198.51.100.1",
   "receiving-mx-hostname": "mx.example.com", "failed-session-count": 2}]
 }]
}`

// vary returns baseReport with each pair old, new replaced once; it panics
// when old is not there, so that a case cannot silently test the base.
func vary(pairs ...string) string {
	s := baseReport
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("vary: " + pairs[i] + " not in baseReport")
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

type reportCase struct {
	name  string
	in    string
	err   error                // nil: valid
	path  string               // for errors: ReportError.Path
	check func(r *Report) bool // for valid reports
	quirk string               // for valid reports: a quirk containing this, "" for none at all
}

var (
	pol0 = func(r *Report) PolicyResult { return r.Policies[0] }
	det0 = func(r *Report) FailureDetail { return r.Policies[0].Failures[0] }
)

var reportCases = []reportCase{
	{name: "base", in: baseReport, check: func(r *Report) bool {
		p, f := pol0(r), det0(r)
		return r.OrganizationName == "Org Inc." && r.ReportID == "r-1" && p.Success == 10 && p.Failure == 2 &&
			f.ResultType == ResultCertificateExpired && f.SendingMTAIP == "192.0.2.1" && f.ReceivingIP == "198.51.100.1" &&
			f.ReceivingMXHostname == "mx.example.com" && f.Count == 2
	}},

	// Syntax.
	{name: "empty", in: "", err: ErrMalformed},
	{name: "white space only", in: " \n", err: ErrMalformed},
	{name: "not JSON", in: "organization-name: x", err: ErrMalformed},
	{name: "array", in: "[" + baseReport + "]", err: ErrMalformed},
	{name: "string", in: `"x"`, err: ErrMalformed},
	{name: "trailing garbage", in: baseReport + "x", quirk: `data after the report's JSON object`, check: func(r *Report) bool { return pol0(r).Success == 10 }},
	{name: "trailing object", in: baseReport + "{}", quirk: `data after the report's JSON object`, check: func(r *Report) bool { return pol0(r).Success == 10 }},
	{name: "trailing white space", in: baseReport + "\r\n\t ", check: func(r *Report) bool { return r.ReportID == "r-1" }},
	{name: "truncated", in: baseReport[:len(baseReport)/2], err: ErrMalformed, path: "policies[0].policy.policy-domain"},
	{name: "truncated in string", in: `{"organization-name": "Or`, err: ErrMalformed, path: "organization-name"},
	{name: "trailing comma", in: vary(`"r-1",`, `"r-1",,`), err: ErrMalformed},
	{name: "trailing comma in array", in: vary(`"mode: testing"]`, `"mode: testing",]`), err: ErrMalformed, path: "policies[0].policy.policy-string[2]"},
	{name: "missing colon", in: vary(`"report-id": "r-1"`, `"report-id" "r-1"`), err: ErrMalformed},
	{name: "control char in string", in: vary(`"r-1"`, "\"r\x01\""), err: ErrMalformed, path: "report-id"},
	{name: "bad escape", in: vary(`"r-1"`, `"r\x"`), err: ErrMalformed, path: "report-id"},
	{name: "bad unicode escape", in: vary(`"r-1"`, `"r\u12G4"`), err: ErrMalformed, path: "report-id"},
	{name: "bad literal", in: vary(`"tlsrpt@org.example"`, `nul`), err: ErrMalformed, path: "contact-info"},
	{name: "bad number", in: vary(`: 10,`, `: 01,`), err: ErrMalformed, path: "policies[0].summary"},
	{name: "NUL bytes", in: "\x00\x00", err: ErrMalformed},
	{name: "bad number in unknown member", in: vary(`"r-1",`, `"r-1", "x": [1.],`), err: ErrMalformed, path: "x"},
	{name: "escapes", in: vary(`"r-1"`, `"r\u002d1\/\"\\\b\f\n\r\t\u00e9\ud83d\ude00\ud800"`), check: func(r *Report) bool {
		return r.ReportID == "r-1/\"\\\b\f\n\r\té😀\uFFFD"
	}},
	{name: "invalid UTF-8 replaced", in: vary(`"Org Inc."`, "\"Org\xff\""), check: func(r *Report) bool { return r.OrganizationName == "Org\uFFFD" }},
	{name: "UTF-8 kept", in: vary(`"Org Inc."`, `"Orgé 😀"`), check: func(r *Report) bool { return r.OrganizationName == "Orgé 😀" }},
	{name: "BOM", in: "\xef\xbb\xbf" + baseReport, quirk: "byte order mark"},

	// Report level.
	{name: "missing organization-name", in: vary(`"organization-name": "Org Inc.",`, ``), err: ErrInvalid, path: "organization-name"},
	{name: "empty organization-name", in: vary(`"Org Inc."`, `"  "`), err: ErrInvalid, path: "organization-name"},
	{name: "number organization-name", in: vary(`"Org Inc."`, `5`), err: ErrInvalid, path: "organization-name"},
	{name: "null organization-name", in: vary(`"Org Inc."`, `null`), err: ErrInvalid, path: "organization-name"},
	{name: "missing report-id", in: vary(`"report-id": "r-1",`, ``), err: ErrInvalid, path: "report-id"},
	{name: "empty report-id", in: vary(`"r-1"`, `""`), err: ErrInvalid, path: "report-id"},
	{name: "report-id with +", in: vary(`"r-1"`, `"133198585438131172+test.xmox.nl"`), check: func(r *Report) bool { return r.ReportID == "133198585438131172+test.xmox.nl" }},
	{name: "report-id with @ and <>", in: vary(`"r-1"`, `"<2024.09.03T00.00.00Z+x.example@google.com>"`), check: func(r *Report) bool {
		return r.ReportID == "<2024.09.03T00.00.00Z+x.example@google.com>"
	}},
	{name: "contact-info null", in: vary(`"tlsrpt@org.example"`, `null`), quirk: "contact-info: null, taken as absent", check: func(r *Report) bool { return r.ContactInfo == "" }},
	{name: "contact-info missing", in: vary(`"contact-info": "tlsrpt@org.example",`, ``), quirk: "contact-info: missing"},
	{name: "missing policies", in: `{"organization-name":"o","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"contact-info":"c","report-id":"r"}`, err: ErrInvalid, path: "policies"},
	{name: "no policies", in: `{"organization-name":"o","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"contact-info":"c","report-id":"r","policies":[]}`, err: ErrInvalid, path: "policies"},
	{name: "policies object", in: `{"organization-name":"o","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},"contact-info":"c","report-id":"r","policies":{}}`, err: ErrInvalid, path: "policies"},
	{name: "policy not an object", in: vary(`"policies": [{`, `"policies": [1, {`), err: ErrInvalid, path: "policies[0]"},
	{name: "unknown members skipped", in: vary(`"r-1",`, `"r-1", "x-ext": {"a": [1, 2.5e3, true, false, null, {"b": "c"}]}, "policies ": 1,`), quirk: ""},
	{name: "member name case", in: vary(`"report-id"`, `"Report-ID"`), quirk: `report-id: member name written as "Report-ID"`, check: func(r *Report) bool { return r.ReportID == "r-1" }},

	// Date range.
	{name: "missing date-range", in: vary(`"date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"},`, ``), err: ErrInvalid, path: "date-range"},
	{name: "date-range string", in: vary(`{"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"}`, `"2024-01-01"`), err: ErrInvalid, path: "date-range"},
	{name: "missing start", in: vary(`"start-datetime": "2024-01-01T00:00:00Z", `, ``), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "missing end", in: vary(`, "end-datetime": "2024-01-01T23:59:59Z"`, ``), err: ErrInvalid, path: "date-range.end-datetime"},
	{name: "invalid start", in: vary(`"2024-01-01T00:00:00Z"`, `"yesterday"`), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "date only", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01"`), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "February 30", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-02-30T00:00:00Z"`), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "hour 24", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01T24:00:00Z"`), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "year 0 in UTC", in: vary(`"2024-01-01T00:00:00Z"`, `"0001-01-01T00:00:00+01:00"`), err: ErrInvalid, path: "date-range.start-datetime"},
	{name: "start after end", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-02T00:00:00Z"`), quirk: `date-range: start-datetime 2024-01-02T00:00:00Z is after`, check: func(r *Report) bool {
		return r.Start.Equal(date("2024-01-02T00:00:00Z")) && r.End.Equal(date("2024-01-01T23:59:59Z"))
	}},
	{name: "start equals end", in: vary(`"2024-01-01T23:59:59Z"`, `"2024-01-01T00:00:00Z"`), check: func(r *Report) bool { return r.Start.Equal(r.End) }},
	{name: "end next day 00:00", in: vary(`"2024-01-01T23:59:59Z"`, `"2024-01-02T00:00:00Z"`), check: func(r *Report) bool {
		return r.End.Equal(date("2024-01-02T00:00:00Z"))
	}},
	{name: "no time zone", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01T00:00:00"`), quirk: "has no time zone, taken as UTC", check: func(r *Report) bool {
		return r.Start.Equal(date("2024-01-01T00:00:00Z")) && r.Start.Location() == time.UTC
	}},
	{name: "fractional seconds", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01T00:00:00.25Z"`), check: func(r *Report) bool {
		return r.Start.Nanosecond() == 250e6
	}},
	{name: "fractional seconds, no zone", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01T00:00:00.5"`), quirk: "no time zone", check: func(r *Report) bool {
		return r.Start.Nanosecond() == 500e6
	}},
	{name: "offset", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01T02:00:00+02:00"`), check: func(r *Report) bool {
		return r.Start.Equal(date("2024-01-01T00:00:00Z")) && r.Start.Location() == time.UTC && r.Start.Hour() == 0
	}},
	{name: "space and lower case", in: vary(`"2024-01-01T00:00:00Z"`, `"2024-01-01 00:00:00z"`), quirk: "not in RFC 3339 form", check: func(r *Report) bool {
		return r.Start.Equal(date("2024-01-01T00:00:00Z"))
	}},

	// Policy.
	{name: "missing policy", in: vary(`"policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing"], "policy-domain": "example.com", "mx-host": ["mx.example.com"]},`, ``), err: ErrInvalid, path: "policies[0].policy"},
	{name: "missing policy-type", in: vary(`"policy-type": "sts", `, ``), quirk: `policies[0].policy.policy-type: missing`, check: func(r *Report) bool { return pol0(r).Type == "" && pol0(r).Success == 10 }},
	{name: "unknown policy-type", in: vary(`"sts"`, `"dane"`), quirk: `policies[0].policy.policy-type: "dane"`, check: func(r *Report) bool { return pol0(r).Type == "dane" && pol0(r).Success == 10 }},
	{name: "policy-type case", in: vary(`"sts"`, `"STS"`), quirk: "policy-type", check: func(r *Report) bool { return pol0(r).Type == PolicyTypeSTS }},
	{name: "policy-type tlsa", in: vary(`"sts"`, `"tlsa"`), check: func(r *Report) bool { return pol0(r).Type == PolicyTypeTLSA }},
	{name: "missing policy-domain", in: vary(`"policy-domain": "example.com", `, ``), quirk: `policies[0].policy.policy-domain: missing`, check: func(r *Report) bool { return pol0(r).Domain == "" && pol0(r).Failure == 2 }},
	{name: "empty policy-domain", in: vary(`"example.com"`, `""`), quirk: `policies[0].policy.policy-domain: missing`, check: func(r *Report) bool { return pol0(r).Domain == "" }},
	{name: "invalid policy-domain", in: vary(`"example.com"`, `"exa mple.com"`), quirk: `policies[0].policy.policy-domain: "exa mple.com": not a host name`, check: func(r *Report) bool { return pol0(r).Domain == "exa mple.com" }},
	{name: "policy-domain label too long", in: vary(`"example.com"`, `"`+strings.Repeat("a", 64)+`.com"`), quirk: `policies[0].policy.policy-domain: "aaaa`, check: func(r *Report) bool { return strings.HasPrefix(pol0(r).Domain, "aaaa") }},
	{name: "policy-domain case and dot", in: vary(`"example.com"`, `"Example.COM."`), check: func(r *Report) bool { return pol0(r).Domain == "example.com" }},
	{name: "policy-domain U-label", in: vary(`"example.com"`, `"Bücher.example"`), quirk: "U-labels", check: func(r *Report) bool { return pol0(r).Domain == "xn--bcher-kva.example" }},
	{name: "policy-domain bad U-label", in: vary(`"example.com"`, `"a\u200db.example"`), quirk: `policies[0].policy.policy-domain: "a\u200db.example": not a host name`, check: func(r *Report) bool { return pol0(r).Domain == "a\u200db.example" }},
	{name: "policy-string not array", in: vary(`["version: STSv1", "mode: testing"]`, `"version: STSv1"`), quirk: `policies[0].policy.policy-string: a single value`, check: func(r *Report) bool { return slices.Equal(pol0(r).PolicyStrings, []string{"version: STSv1"}) }},
	{name: "policy-string element not string", in: vary(`"mode: testing"]`, `5]`), quirk: `policies[0].policy.policy-string: a number 5`, check: func(r *Report) bool { return slices.Equal(pol0(r).PolicyStrings, []string{"version: STSv1", "5"}) }},
	{name: "policy-string empty", in: vary(`["version: STSv1", "mode: testing"]`, `[]`), check: func(r *Report) bool { return pol0(r).PolicyStrings == nil }},
	{name: "mx-host string", in: vary(`["mx.example.com"]`, `"*.Example.com."`), quirk: "erratum 6241", check: func(r *Report) bool {
		return reflect.DeepEqual(pol0(r).MXHosts, []string{"*.example.com"})
	}},
	{name: "mx-host array", in: vary(`["mx.example.com"]`, `["MX1.example.com", "*.mx.example.com", ""]`), quirk: "empty entry", check: func(r *Report) bool {
		return reflect.DeepEqual(pol0(r).MXHosts, []string{"mx1.example.com", "*.mx.example.com"})
	}},
	{name: "mx-host null", in: vary(`["mx.example.com"]`, `null`), quirk: "mx-host: null", check: func(r *Report) bool { return pol0(r).MXHosts == nil }},
	{name: "mx-host invalid", in: vary(`["mx.example.com"]`, `["mx.example.com", "mx_1..example.com"]`), quirk: `policies[0].policy.mx-host: "mx_1..example.com": not a host name`, check: func(r *Report) bool {
		return slices.Equal(pol0(r).MXHosts, []string{"mx.example.com", "mx_1..example.com"})
	}},
	{name: "mx-host number", in: vary(`["mx.example.com"]`, `5`), quirk: `policies[0].policy.mx-host: a number 5`, check: func(r *Report) bool { return slices.Equal(pol0(r).MXHosts, []string{"5"}) }},
	{name: "wildcard only in mx-host", in: vary(`["mx.example.com"]`, `["*.example.com"]`, `"receiving-mx-hostname": "mx.example.com"`, `"receiving-mx-hostname": "*.example.com"`), quirk: `receiving-mx-hostname: "*.example.com": not a host name`, check: func(r *Report) bool { return det0(r).ReceivingMXHostname == "*.example.com" }},
	{name: "U-labels counted", in: vary(`["mx.example.com"]`, `["mx.bücher.example", "MX.bücher.example"]`, `"receiving-mx-hostname": "mx.example.com"`, `"receiving-mx-hostname": "mx.bücher.example"`), quirk: "(2 times)", check: func(r *Report) bool {
		return reflect.DeepEqual(pol0(r).MXHosts, []string{"mx.xn--bcher-kva.example", "mx.xn--bcher-kva.example"}) && det0(r).ReceivingMXHostname == "mx.xn--bcher-kva.example"
	}},
	{name: "mx-host bad wildcard", in: vary(`["mx.example.com"]`, `["mx.*.example.com"]`), quirk: `policies[0].policy.mx-host: "mx.*.example.com"`, check: func(r *Report) bool { return slices.Equal(pol0(r).MXHosts, []string{"mx.*.example.com"}) }},

	// Summary and counts.
	{name: "missing summary", in: vary(`"summary": {"total-successful-session-count": 10, "total-failure-session-count": 2},`, ``), err: ErrInvalid, path: "policies[0].summary"},
	{name: "missing success count", in: vary(`"total-successful-session-count": 10, `, ``), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "missing failure count", in: vary(`, "total-failure-session-count": 2`, ``), quirk: "total-failure-session-count: missing (RFC 8460 §4.4 requires it); taken as 2",
		check: func(r *Report) bool { return pol0(r).Failure == 2 }},
	{name: "missing failure count, no details", in: vary(`, "total-failure-session-count": 2`, ``, `"failure-details"`, `"x-failure-details"`),
		quirk: "taken as 0", check: func(r *Report) bool {
			return pol0(r).Failure == 0 && pol0(r).Success == 10 && len(pol0(r).Failures) == 0
		}},
	{name: "missing failure count, details first", in: `{"organization-name": "o", "report-id": "r", "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"},
 "policies": [{"failure-details": [{"result-type": "starttls-not-supported", "failed-session-count": 3}, {"result-type": "validation-failure", "failed-session-count": 4}],
  "policy": {"policy-type": "sts", "policy-domain": "example.com"}, "summary": {"total-successful-session-count": 1}}]}`,
		quirk: "taken as 7", check: func(r *Report) bool { return pol0(r).Failure == 7 }},
	{name: "negative count", in: vary(`"total-failure-session-count": 2`, `"total-failure-session-count": -2`), err: ErrInvalid, path: "policies[0].summary.total-failure-session-count"},
	{name: "negative zero", in: vary(`"total-failure-session-count": 2`, `"total-failure-session-count": -0`), err: ErrInvalid, path: "policies[0].summary.total-failure-session-count"},
	{name: "fraction count", in: vary(`: 10,`, `: 10.5,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "fraction by exponent", in: vary(`: 10,`, `: 105e-1,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count as string", in: vary(`: 10,`, `: "10",`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count null", in: vary(`: 10,`, `: null,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count 2^53", in: vary(`: 10,`, `: 9007199254740992,`), check: func(r *Report) bool { return pol0(r).Success == 1<<53 }},
	{name: "count 2^53+1", in: vary(`: 10,`, `: 9007199254740993,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count huge", in: vary(`: 10,`, `: 1`+strings.Repeat("0", 400)+`,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count huge exponent", in: vary(`: 10,`, `: 1e999999999999,`), err: ErrInvalid, path: "policies[0].summary.total-successful-session-count"},
	{name: "count 10.0", in: vary(`: 10,`, `: 10.0,`), quirk: "integer written as 10.0", check: func(r *Report) bool { return pol0(r).Success == 10 }},
	{name: "count 1e1", in: vary(`: 10,`, `: 1E+1,`), quirk: "integer written as 1E+1", check: func(r *Report) bool { return pol0(r).Success == 10 }},
	{name: "count 100e-1", in: vary(`: 10,`, `: 100.000e-1,`), quirk: "integer written", check: func(r *Report) bool { return pol0(r).Success == 10 }},
	{name: "count 0.0e-5", in: vary(`: 10,`, `: 0.0e-5,`), quirk: "integer written", check: func(r *Report) bool { return pol0(r).Success == 0 }},
	{name: "count leading zeros in fraction", in: vary(`: 10,`, `: 0.00e3,`), check: func(r *Report) bool { return pol0(r).Success == 0 }},
	{name: "failure sum mismatch", in: vary(`"total-failure-session-count": 2`, `"total-failure-session-count": 3`), quirk: "add up to 2", check: func(r *Report) bool { return pol0(r).Failure == 3 }},

	// Failure details.
	{name: "failure-details null", in: vary(`[{"result-type"`, `null, "x": [{"result-type"`), quirk: "failure-details: null", check: func(r *Report) bool { return pol0(r).Failures == nil }},
	{name: "failure-details object", in: vary(`[{"result-type"`, `{"a": 1}, "x": [{"result-type"`), quirk: `policies[0].failure-details: an object, not an array`, check: func(r *Report) bool { return len(pol0(r).Failures) == 0 && pol0(r).Failure == 2 }},
	{name: "failure-details empty", in: vary(`[{"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1", "receiving-ip": "198.51.100.1",
   "receiving-mx-hostname": "mx.example.com", "failed-session-count": 2}]`, `[]`), check: func(r *Report) bool { return pol0(r).Failures == nil }},
	{name: "missing result-type", in: vary(`"result-type": "certificate-expired", `, ``), quirk: `policies[0].failure-details[0].result-type: missing`, check: func(r *Report) bool { return det0(r).ResultType == "" && det0(r).Count == 2 }},
	{name: "empty result-type", in: vary(`"certificate-expired"`, `""`), quirk: `policies[0].failure-details[0].result-type: missing`, check: func(r *Report) bool { return det0(r).ResultType == "" && det0(r).Count == 2 }},
	{name: "result-type case", in: vary(`"certificate-expired"`, `"Certificate-EXPIRED"`), quirk: "result-type", check: func(r *Report) bool { return det0(r).ResultType == ResultCertificateExpired }},
	{name: "unknown result-type kept", in: vary(`"certificate-expired"`, `"Quantum-Failure"`), check: func(r *Report) bool {
		return det0(r).ResultType == "quantum-failure" && !det0(r).ResultType.Known()
	}},
	{name: "missing failed-session-count", in: vary(`, "failed-session-count": 2`, ``), err: ErrInvalid, path: "policies[0].failure-details[0].failed-session-count"},
	{name: "negative failed-session-count", in: vary(`"failed-session-count": 2`, `"failed-session-count": -1`), err: ErrInvalid, path: "policies[0].failure-details[0].failed-session-count"},
	{name: "failed-session-count 2.0", in: vary(`"failed-session-count": 2`, `"failed-session-count": 2.0`), quirk: "failed-session-count: integer written as 2.0", check: func(r *Report) bool { return det0(r).Count == 2 }},
	{name: "invalid sending-mta-ip", in: vary(`"192.0.2.1"`, `"192.0.2.300"`), quirk: `sending-mta-ip: "192.0.2.300" is not an IP address`, check: func(r *Report) bool { return det0(r).SendingMTAIP == "192.0.2.300" }},
	{name: "invalid receiving-ip", in: vary(`"198.51.100.1"`, `"mx.example.com"`), quirk: `receiving-ip: "mx.example.com" is not an IP address`, check: func(r *Report) bool { return det0(r).ReceivingIP == "mx.example.com" }},
	{name: "IP with zone", in: vary(`"198.51.100.1"`, `"fe80::1%eth0"`), quirk: `receiving-ip: "fe80::1%eth0" is not an IP address`, check: func(r *Report) bool { return det0(r).ReceivingIP == "fe80::1%eth0" }},
	{name: "IP number", in: vary(`"198.51.100.1"`, `3325256705`), quirk: `receiving-ip: a number 3325256705, not a string`, check: func(r *Report) bool { return det0(r).ReceivingIP == "3325256705" }},
	{name: "IPv6 canonical", in: vary(`"192.0.2.1"`, `"2001:DB8:0:0::0012:1"`, `"198.51.100.1"`, `"::ffff:198.51.100.1"`), check: func(r *Report) bool {
		return det0(r).SendingMTAIP == "2001:db8::12:1" && det0(r).ReceivingIP == "198.51.100.1"
	}},
	{name: "no IPs or MX name", in: vary(`"sending-mta-ip": "192.0.2.1", "receiving-ip": "198.51.100.1",
   "receiving-mx-hostname": "mx.example.com", `, ``), quirk: "sending-mta-ip: missing", check: func(r *Report) bool {
		f := det0(r)
		return f.SendingMTAIP == "" && f.ReceivingIP == "" && f.ReceivingMXHostname == "" && len(r.Quirks) == 3
	}},
	{name: "sts result without MX", in: vary(`"certificate-expired"`, `"sts-policy-fetch-error"`, `"receiving-ip": "198.51.100.1",
   "receiving-mx-hostname": "mx.example.com", `, ``), quirk: "", check: func(r *Report) bool { return det0(r).ResultType.IsSTS() }},
	{name: "empty and null IPs", in: vary(`"192.0.2.1"`, `""`, `"198.51.100.1"`, `null`), quirk: "receiving-ip: null", check: func(r *Report) bool {
		return det0(r).SendingMTAIP == "" && det0(r).ReceivingIP == ""
	}},
	{name: "MX name normalized", in: vary(`"receiving-mx-hostname": "mx.example.com"`, `"receiving-mx-hostname": "MX.Example.com."`), check: func(r *Report) bool {
		return det0(r).ReceivingMXHostname == "mx.example.com"
	}},
	{name: "MX name invalid", in: vary(`"receiving-mx-hostname": "mx.example.com"`, `"receiving-mx-hostname": "mx example"`), quirk: `receiving-mx-hostname: "mx example": not a host name`, check: func(r *Report) bool { return det0(r).ReceivingMXHostname == "mx example" }},
	{name: "optional fields", in: vary(`"failed-session-count": 2`, `"failed-session-count": 2, "receiving-mx-helo": "mx.Example.com", "failure-reason-code": "X509_V_ERR", "additional-information": "https://i.example/1"`), check: func(r *Report) bool {
		f := det0(r)
		return f.ReceivingMXHelo == "mx.Example.com" && f.ReasonCode == "X509_V_ERR" && f.AdditionalInfo == "https://i.example/1"
	}},
	{name: "additional-info-uri", in: vary(`"failed-session-count": 2`, `"failed-session-count": 2, "additional-info-uri": "https://i.example/2"`), quirk: "additional-info-uri: used for additional-information", check: func(r *Report) bool {
		return det0(r).AdditionalInfo == "https://i.example/2"
	}},
	{name: "additional-information wins", in: vary(`"failed-session-count": 2`, `"additional-info-uri": "https://i.example/2", "failed-session-count": 2, "additional-information": "https://i.example/1"`), check: func(r *Report) bool {
		return det0(r).AdditionalInfo == "https://i.example/1"
	}},
	{name: "additional-information first wins over uri", in: vary(`"failed-session-count": 2`, `"additional-information": "https://i.example/1", "failed-session-count": 2, "additional-info-uri": "https://i.example/2"`), check: func(r *Report) bool {
		return det0(r).AdditionalInfo == "https://i.example/1"
	}},
	{name: "null optional strings", in: vary(`"failed-session-count": 2`, `"failed-session-count": 2, "receiving-mx-helo": null, "failure-reason-code": null, "additional-information": null`), quirk: "null, taken as absent"},
	{name: "detail not an object", in: vary(`"failure-details": [{`, `"failure-details": ["x", {`), quirk: `policies[0].failure-details[0]: a string, not an object`, check: func(r *Report) bool { return len(pol0(r).Failures) == 1 && det0(r).Count == 2 }},

	// Duplicate members: the last one wins.
	{name: "duplicate report-id", in: vary(`"report-id": "r-1",`, `"report-id": "r-1", "report-id": "r-2",`), quirk: "report-id: given more than once; the last one is used", check: func(r *Report) bool {
		return r.ReportID == "r-2"
	}},
	{name: "duplicate count", in: vary(`"total-successful-session-count": 10`, `"total-successful-session-count": 10, "total-successful-session-count": 11`), quirk: "more than once", check: func(r *Report) bool {
		return pol0(r).Success == 11
	}},
	{name: "duplicate policy replaces", in: vary(`"policy": {`, `"policy": {"policy-type": "tlsa", "policy-domain": "other.example", "mx-host": ["x.example"]}, "policy": {`), quirk: "more than once", check: func(r *Report) bool {
		return pol0(r).Type == PolicyTypeSTS && pol0(r).Domain == "example.com" && reflect.DeepEqual(pol0(r).MXHosts, []string{"mx.example.com"})
	}},
	{name: "duplicate policies replaces", in: vary(`"report-id": "r-1",`, `"report-id": "r-1", "policies": [{"policy": {"policy-type": "sts", "policy-domain": "a.example"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}, {"policy": {"policy-type": "sts", "policy-domain": "b.example"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}],`), check: func(r *Report) bool {
		return len(r.Policies) == 1 && pol0(r).Domain == "example.com"
	}},
	{name: "earlier invalid duplicate still refused", in: vary(`"report-id": "r-1",`, `"report-id": 5, "report-id": "r-1",`), err: ErrInvalid, path: "report-id"},

	// Depth.
	{name: "deep unknown member", in: vary(`"r-1",`, `"r-1", "x": `+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`,`), err: ErrTooDeep, path: "x"},
	{name: "depth 32 allowed", in: vary(`"r-1",`, `"r-1", "x": `+strings.Repeat("[", 31)+strings.Repeat("]", 31)+`,`)},
	{name: "depth 33 refused", in: vary(`"r-1",`, `"r-1", "x": `+strings.Repeat("[", 32)+strings.Repeat("]", 32)+`,`), err: ErrTooDeep, path: "x"},
	{name: "very deep", in: `{"x":` + strings.Repeat(`{"a":`, 1e6), err: ErrTooDeep, path: "x"},
}

func TestParseReport(t *testing.T) {
	for _, tc := range reportCases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseReport([]byte(tc.in), DefaultLimits())
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v (report %+v), want %v", err, r, tc.err)
				}
				var re *ReportError
				if !errors.As(err, &re) {
					t.Fatalf("err %v is not a *ReportError", err)
				}
				if re.Path != tc.path {
					t.Errorf("path %q, want %q (err %v)", re.Path, tc.path, err)
				}
				if tc.path != "" && !strings.Contains(err.Error(), tc.path+": ") {
					t.Errorf("error %q does not name %s", err, tc.path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil && !tc.check(r) {
				t.Errorf("check failed: %+v", r)
			}
			if tc.quirk == "" {
				if tc.check == nil && r.Quirks != nil {
					t.Errorf("quirks %q, want none", r.Quirks)
				}
			} else if !strings.Contains(strings.Join(r.Quirks, "\n"), tc.quirk) {
				t.Errorf("quirks %q, want one containing %q", r.Quirks, tc.quirk)
			}
			// A valid report round-trips through its JSON form.
			roundTrip(t, r)
		})
	}
}

// roundTrip checks that r.JSON() parses back to r, without quirks.
func roundTrip(t testing.TB, r *Report) {
	t.Helper()
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := ParseReport(b, DefaultLimits())
	if err != nil {
		t.Fatalf("parsing JSON() %s: %v", b, err)
	}
	want := *r
	want.Quirks, r2.Quirks = nil, nil
	if !reflect.DeepEqual(*r2, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\njson %s", *r2, want, b)
	}
}

func TestLimits(t *testing.T) {
	many := func(n int, elem string) string { return strings.TrimSuffix(strings.Repeat(elem+",", n), ",") }
	policy := `{"policy": {"policy-type": "sts", "policy-domain": "example.com"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}`
	detail := `{"result-type": "validation-failure", "sending-mta-ip": "192.0.2.1", "receiving-ip": "192.0.2.2", "receiving-mx-hostname": "mx.example", "failed-session-count": 1}`
	withPolicies := func(ps string) []byte {
		return []byte(`{"organization-name": "o", "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"}, "contact-info": "c", "report-id": "r", "policies": [` + ps + `]}`)
	}
	detailsPolicy := func(n int) string {
		return `{"policy": {"policy-type": "sts", "policy-domain": "example.com"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": ` +
			strconv.Itoa(n) + `}, "failure-details": [` + many(n, detail) + `]}`
	}
	lim := Limits{MaxPolicies: 3, MaxFailureDetails: 4}
	tests := []struct {
		name string
		in   []byte
		lim  Limits
		err  error
	}{
		{"3 policies", withPolicies(many(3, policy)), lim, nil},
		{"4 policies", withPolicies(many(4, policy)), lim, ErrTooMany},
		{"4 details over 2 policies", withPolicies(detailsPolicy(2) + "," + detailsPolicy(2)), lim, nil},
		{"5 details over 2 policies", withPolicies(detailsPolicy(2) + "," + detailsPolicy(3)), lim, ErrTooMany},
		{"5 details in one", withPolicies(detailsPolicy(5)), lim, ErrTooMany},
		{"JSON at MaxDecompressed", withPolicies(policy), Limits{MaxDecompressed: int64(len(withPolicies(policy)))}, nil},
		{"JSON over MaxDecompressed", withPolicies(policy), Limits{MaxDecompressed: int64(len(withPolicies(policy))) - 1}, ErrTooLarge},
		{"gzip over MaxCompressed", gzipBytes(t, withPolicies(policy)), Limits{MaxCompressed: 10}, ErrTooLarge},
		{"gzip inflating over MaxDecompressed", gzipBytes(t, withPolicies(policy)), Limits{MaxDecompressed: 100}, ErrTooLarge},
		{"gzip at MaxDecompressed", gzipBytes(t, withPolicies(policy)), Limits{MaxDecompressed: int64(len(withPolicies(policy)))}, nil},
		{"depth 5 needed", withPolicies(detailsPolicy(1)), Limits{MaxDepth: 4}, ErrTooDeep},
		{"depth 5 enough", withPolicies(detailsPolicy(1)), Limits{MaxDepth: 5}, nil},
		{"zero limits are defaults", withPolicies(many(20, policy)), Limits{}, nil},
		{"corrupt gzip", append(gzipBytes(t, withPolicies(policy))[:30:30], 0, 0, 0), Limits{}, ErrMalformed},
		{"gzip with trailing garbage", append(gzipBytes(t, withPolicies(policy)), "garbage"...), Limits{}, nil},
		{"gzip with trailing zeros", append(gzipBytes(t, withPolicies(policy)), make([]byte, 512)...), Limits{}, nil},
		{"gzip with a bad checksum", badChecksum(gzipBytes(t, withPolicies(policy))), Limits{}, ErrMalformed},
		{"gzip of garbage", gzipBytes(t, []byte("garbage")), Limits{}, ErrMalformed},
	}
	for _, tt := range tests {
		r, err := ParseReport(tt.in, tt.lim)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
		if tt.err == nil && err == nil && len(r.Policies) == 0 {
			t.Errorf("%s: no policies", tt.name)
		}
	}
}

// badChecksum returns gz with its CRC-32 (RFC 1952 §2.3.1) changed.
func badChecksum(gz []byte) []byte {
	gz = slices.Clone(gz)
	gz[len(gz)-8] ^= 0xff
	return gz
}

// zeroBomb returns gzip of n MiB of zero bytes, streamed out cheaply: one
// deflate sequence for 1 MiB of zeros, byte-aligned by a sync flush and
// referring only to itself, is repeated n times, then a final empty block and
// the trailer follow. trailerSize, if not negative, replaces the true ISIZE.
func zeroBomb(t testing.TB, n int, trailerSize int64) []byte {
	t.Helper()
	zeros := make([]byte, 1<<20)
	var blk bytes.Buffer
	fw, err := flate.NewWriter(&blk, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}) // RFC 1952 §2.3 header
	crc := uint32(0)
	for range n {
		out.Write(blk.Bytes())
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	out.Write([]byte{0x03, 0x00}) // final fixed-Huffman block, end of block only
	size := uint32(int64(n) << 20)
	if trailerSize >= 0 {
		size = uint32(trailerSize)
	}
	b := binary.LittleEndian.AppendUint32(out.Bytes(), crc)
	return binary.LittleEndian.AppendUint32(b, size)
}

func TestZeroBombIsGzip(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(zeroBomb(t, 3, -1)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != 3<<20 {
		t.Fatalf("inflated %d bytes, %v; want %d", n, err, 3<<20)
	}
}

func TestGzipBomb(t *testing.T) {
	tests := []struct {
		name     string
		bomb     []byte
		lim      Limits
		maxAlloc uint64
	}{
		// 1 GiB of zeros in about 1 MB: the trailer gives it away, and it
		// is inflated without keeping the output.
		{"1 GiB", zeroBomb(t, 1024, -1), DefaultLimits(), 8 << 20},
		// The same with a trailer that lies: the output is kept, up to
		// the limit.
		{"1 GiB, lying trailer", zeroBomb(t, 1024, 100), Limits{MaxDecompressed: 4 << 20}, 3*(4<<20) + 4<<20},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := ParseReport(tt.bomb, tt.lim)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%s: err %v, want ErrTooLarge", tt.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > tt.maxAlloc {
			t.Errorf("%s: allocated %d bytes, want at most %d", tt.name, alloc, tt.maxAlloc)
		}
		t.Logf("%s (%d bytes): refused in %v", tt.name, len(tt.bomb), elapsed)
	}
}

func TestIdentityKey(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		org, id string
		want    Identity
		key     string // "" = only check safety
	}{
		{" Google Inc. ", " 2024-02-17T00:00:00Z_example.com ", Identity{"google inc.", "2024-02-17T00:00:00Z_example.com"}, "google_20inc_2e.2024-02-17T00_3a00_3a00Z_5fexample_2ecom"},
		{"Microsoft Corporation", "133198585438131172+test.xmox.nl", Identity{"microsoft corporation", "133198585438131172+test.xmox.nl"}, "microsoft_20corporation.133198585438131172_2btest_2exmox_2enl"},
		{"..", "../../etc/passwd", Identity{"..", "../../etc/passwd"}, "_2e_2e._2e_2e_2f_2e_2e_2fetc_2fpasswd"},
		{"o", "a\x00b\nc\x7f/é", Identity{"o", "a\x00b\nc\x7f/é"}, "o.a_00b_0ac_7f_2f_c3_a9"},
		{"o", long, Identity{"o", long}, ""},
		{"o", long + "y", Identity{"o", long + "y"}, ""},
	}
	keys := map[string]bool{}
	for _, tt := range tests {
		r := &Report{OrganizationName: tt.org, ReportID: tt.id}
		id := r.Identity()
		if id != tt.want {
			t.Errorf("Identity() = %+v, want %+v", id, tt.want)
		}
		k := id.Key()
		if tt.key != "" && k != tt.key {
			t.Errorf("Key() = %q, want %q", k, tt.key)
		}
		if k != id.Key() {
			t.Errorf("Key() not deterministic")
		}
		checkKeySafe(t, k)
		if keys[k] {
			t.Errorf("Key() %q repeated for a different identity", k)
		}
		keys[k] = true
	}
}

func checkKeySafe(t testing.TB, k string) {
	t.Helper()
	if k == "" || len(k) > maxKeyLen || strings.Contains(k, "/") || strings.Contains(k, "..") {
		t.Fatalf("unsafe key %q", k)
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '!') {
			t.Fatalf("key %q has %q", k, c)
		}
	}
}

func TestDomains(t *testing.T) {
	r := &Report{Policies: []PolicyResult{{Domain: "a.example"}, {Domain: "b.example"}, {Domain: "a.example"}}}
	if got := r.Domains(); !reflect.DeepEqual(got, []string{"a.example", "b.example"}) {
		t.Fatalf("Domains() = %q", got)
	}
}

func TestResultType(t *testing.T) {
	for _, rt := range knownResultTypes {
		if !rt.Known() {
			t.Errorf("%s: not Known", rt)
		}
		if want := strings.HasPrefix(string(rt), "sts-"); rt.IsSTS() != want {
			t.Errorf("%s: IsSTS() = %v", rt, rt.IsSTS())
		}
	}
	for _, rt := range []ResultType{"", "STARTTLS-not-supported", "sts-other", "x"} {
		if rt.Known() || rt.IsSTS() {
			t.Errorf("%q: Known %v IsSTS %v, want false", rt, rt.Known(), rt.IsSTS())
		}
	}
	if len(knownResultTypes) != 11 {
		t.Errorf("%d result types, IANA has 11", len(knownResultTypes))
	}
}

// TestParseReportTopLevel checks the reason given for a body that is not a
// JSON object: what it is when it is JSON, and no false claim otherwise.
func TestParseReportTopLevel(t *testing.T) {
	cases := []struct{ body, want, notWant string }{
		{"null", "the document is null", ""},
		{"[1,2]", "the document is an array", ""},
		{`"x"`, "the document is a string", ""},
		{"42", "the document is a number", ""},
		{"notgzip", "not JSON (or gzip)", "null"},
		{"[1,2", "not JSON (or gzip)", "array"},
		{"true false", "not JSON (or gzip)", "boolean"},
	}
	for _, c := range cases {
		_, err := ParseReport([]byte(c.body), DefaultLimits())
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) ||
			(c.notWant != "" && strings.Contains(err.Error(), c.notWant)) {
			t.Errorf("ParseReport(%q) = %v, want ErrMalformed saying %q", c.body, err, c.want)
		}
	}
}

// TestIdentityKeyInjective: long keys end in a hash; two identities that
// differ only in where a NUL byte sits (organisation or report-id) must not
// share a key (issue 14 §6), and keys of identities without NUL keep their
// form (stored reports keep their keys).
func TestIdentityKeyInjective(t *testing.T) {
	x := strings.Repeat("x", 200)
	pairs := [][2]Identity{
		{{x + "\x00", "y"}, {x, "\x00y"}},
		{{x, "a\x00\x00b"}, {x + "\x00", "\x00b"}},
		{{x + "\x00a", "b"}, {x, "a\x00b"}},
	}
	for _, p := range pairs {
		a, b := p[0].Key(), p[1].Key()
		checkKeySafe(t, a)
		checkKeySafe(t, b)
		if a == b {
			t.Errorf("identities %q and %q share key %s", p[0], p[1], a)
		}
	}
	// The key of a long identity without NUL is as it always was.
	id := Identity{x, "report-1"}
	if got, want := id.Key(), x[:160]+"!"+"1b5d41f4323231e4f8b6b573a357838c"; got != want {
		t.Errorf("Key() = %s, want %s", got, want)
	}
}
