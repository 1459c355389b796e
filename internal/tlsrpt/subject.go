package tlsrpt

import (
	"strings"
)

// Subject is what the subject of a report e-mail says, RFC 8460 §5.3:
//
//	Subject: Report Domain: {Domain} Submitter: {Submitter} Report-ID: <{ReportID}>
//
// Each field is "" when the subject does not have it.
type Subject struct {
	Domain, Submitter, ReportID string
}

// maxSubject bounds the subject text ParseSubject reads.
const maxSubject = 2048

// subjectLabels are the labels of RFC 8460 §5.3, in lower case.
var subjectLabels = [...]string{"report domain:", "submitter:", "report-id:"}

// ParseSubject reads the subject of a report e-mail (decoded from RFC 2047
// and unfolded) in the forms senders use: the labels of RFC 8460 §5.3 in
// any case and order, the Report-ID with or without its angle brackets
// (Microsoft writes "Report-ID: 133…+example.com", Google and the RFC
// "<…@google.com>"), line breaks and runs of white space anywhere, text
// before the first label ("Fwd: ", "[SPAM] "), and a ";" or "," after a
// value. ok is false when the subject has no "Report Domain:" label: it is
// then no RFC 8460 subject, and Subject is empty.
func ParseSubject(s string) (sub Subject, ok bool) {
	if len(s) > maxSubject {
		s = s[:maxSubject]
	}
	s = strings.Join(strings.Fields(s), " ")
	// ASCII case folding keeps byte offsets (strings.ToLower does not, for
	// invalid UTF-8 and some letters).
	lower := []byte(s)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	type at struct{ label, start, end int } // end: where the value starts
	var found []at
	for i, l := range subjectLabels {
		if j := strings.Index(string(lower), l); j >= 0 {
			found = append(found, at{i, j, j + len(l)})
		}
	}
	if len(found) == 0 || found[0].label != 0 {
		return Subject{}, false
	}
	for _, f := range found {
		// The value runs to the next label after it, or the end.
		end := len(s)
		for _, g := range found {
			if g.start >= f.end && g.start < end {
				end = g.start
			}
		}
		v := strings.TrimSpace(s[f.end:end])
		v = strings.TrimRight(v, ";, ")
		switch f.label {
		case 0:
			// A domain is one word; what follows it is no part of it.
			v, _, _ = strings.Cut(v, " ")
			sub.Domain = strings.TrimRight(v, ";,")
		case 1:
			v, _, _ = strings.Cut(v, " ")
			sub.Submitter = strings.TrimRight(v, ";,")
		case 2:
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">"))
			sub.ReportID = v
		}
	}
	return sub, true
}
