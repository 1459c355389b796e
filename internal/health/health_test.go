package health

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeverityText(t *testing.T) {
	for _, tc := range []struct {
		text string
		sev  Severity
		ok   bool
	}{
		{"info", SeverityInfo, true},
		{"warning", SeverityWarning, true},
		{"error", SeverityError, true},
		{"Error", 0, false},
		{"fatal", 0, false},
		{"", 0, false},
	} {
		var s Severity
		err := s.UnmarshalText([]byte(tc.text))
		if (err == nil) != tc.ok {
			t.Errorf("UnmarshalText(%q): err %v, want ok=%v", tc.text, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if s != tc.sev {
			t.Errorf("UnmarshalText(%q) = %v, want %v", tc.text, s, tc.sev)
		}
		b, err := s.MarshalText()
		if err != nil || string(b) != tc.text {
			t.Errorf("MarshalText(%v) = %q, %v; want %q", s, b, err, tc.text)
		}
	}
	if _, err := Severity(7).MarshalText(); err == nil {
		t.Error("MarshalText(7): no error")
	}
	if !(SeverityInfo < SeverityWarning && SeverityWarning < SeverityError) {
		t.Error("severities are not ordered info < warning < error")
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	r := Result{
		Domain:    "example.com",
		CheckedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Mode:      "testing",
		Findings: []Finding{
			{SeverityError, CodeMXNotCovered, "mx.example.net", "MX host … matches no pattern", "add mx: mx.example.net"},
			{SeverityInfo, CodeNotReady, "", "not ready", ""},
		},
		Certificate: &CertInfo{Host: "mta-sts.example.com",
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 4, 1, 23, 59, 59, 0, time.UTC)},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// The field names are a documented, stable interface.
	for _, field := range []string{`"domain":`, `"checked_at":`, `"mode":`, `"findings":`, `"severity":"error"`,
		`"code":"mx-not-covered"`, `"subject":`, `"message":`, `"remedy":`,
		`"certificate":{"host":"mta-sts.example.com","not_before":"2026-01-01T00:00:00Z","not_after":"2026-04-01T23:59:59Z"}`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON %s lacks %s", b, field)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
	}
	// A result without a certificate (none presented, or stored before the
	// field existed) has none in JSON and reads back without one.
	r.Certificate = nil
	if b, err = json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"certificate"`) {
		t.Errorf("JSON %s has a certificate", b)
	}
	back = Result{}
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("round trip without certificate: %v\n got %+v\nwant %+v", err, back, r)
	}
	if err := json.Unmarshal([]byte(`{"findings":[{"severity":"bad"}]}`), &back); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestDiff(t *testing.T) {
	f := func(sev Severity, code Code, subject, msg string) Finding {
		return Finding{Severity: sev, Code: code, Subject: subject, Message: msg}
	}
	exp21 := f(SeverityWarning, CodeCertExpiring, "mta-sts.a.test", "expires in 20 days")
	exp20 := f(SeverityWarning, CodeCertExpiring, "mta-sts.a.test", "expires in 19 days")
	exp6 := f(SeverityError, CodeCertExpiring, "mta-sts.a.test", "expires in 6 days")
	mxA := f(SeverityError, CodeMXNotCovered, "a.test", "")
	mxB := f(SeverityError, CodeMXNotCovered, "b.test", "")
	for _, tc := range []struct {
		name              string
		prev, cur         []Finding
		appeared, cleared []Finding
	}{
		{"both empty", nil, nil, nil, nil},
		{"first run", nil, []Finding{mxA}, []Finding{mxA}, nil},
		{"unchanged", []Finding{mxA, exp21}, []Finding{exp21, mxA}, nil, nil},
		{"message changes only", []Finding{exp21}, []Finding{exp20}, nil, nil},
		{"severity change is a transition", []Finding{exp20}, []Finding{exp6}, []Finding{exp6}, []Finding{exp20}},
		{"subject distinguishes", []Finding{mxA}, []Finding{mxB}, []Finding{mxB}, []Finding{mxA}},
		{"all cleared", []Finding{mxA, mxB}, nil, nil, []Finding{mxA, mxB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, c := Diff(tc.prev, tc.cur)
			if !slices.Equal(a, tc.appeared) || !slices.Equal(c, tc.cleared) {
				t.Errorf("Diff = %+v, %+v; want %+v, %+v", a, c, tc.appeared, tc.cleared)
			}
		})
	}
}

func TestResultCount(t *testing.T) {
	r := Result{Findings: []Finding{{Severity: SeverityError}, {Severity: SeverityError}, {Severity: SeverityInfo, Code: CodeNotReady}}}
	if r.Count(SeverityError) != 2 || r.Count(SeverityWarning) != 0 || r.Count(SeverityInfo) != 1 {
		t.Errorf("Count: %d %d %d", r.Count(SeverityError), r.Count(SeverityWarning), r.Count(SeverityInfo))
	}
	if !r.Has(CodeNotReady) || r.Has(CodeReadyToEnforce) {
		t.Error("Has is wrong")
	}
}
