package tlsrpt

import (
	"encoding/json"
	"strings"
)

// maxTLSAListString bounds the one policy-string TLSARecords reads as a
// JSON array: a report's strings are bounded by Limits.MaxString already;
// this keeps the second decode small whatever the limits.
const maxTLSAListString = 64 << 10

// TLSARecords returns the TLSA records of a policy of type "tlsa": RFC 8460
// §4.4 wants one policy-string per record, each the record's RDATA in
// presentation form (RFC 6698 §2.2: usage, selector, matching type and the
// data in hex, e.g. "3 1 1 0123…"). Some senders put every record into a
// single string holding a JSON array of strings; that string is read as
// the list it encodes. Blank strings are dropped and runs of white space
// become one space; nothing else is changed (a record that is not a TLSA
// record is kept as sent, to be shown). For other policy types it returns
// nil.
func (p PolicyResult) TLSARecords() []string {
	if p.Type != PolicyTypeTLSA {
		return nil
	}
	strs := p.PolicyStrings
	if len(strs) == 1 {
		if s := strings.TrimSpace(strs[0]); strings.HasPrefix(s, "[") && len(s) <= maxTLSAListString {
			var l []string
			if json.Unmarshal([]byte(s), &l) == nil {
				strs = l
			}
		}
	}
	var out []string
	for _, s := range strs {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			out = append(out, s)
		}
	}
	return out
}
