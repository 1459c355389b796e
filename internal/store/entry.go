package store

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// Bounds of one fact, so that it always fits one DynamoDB item (400 KB)
// whatever the report holds.
const (
	// MaxFailureRows bounds Fact.Failures.
	MaxFailureRows = 1000
	// MaxFailureBytes bounds the estimated encoded size of Fact.Failures.
	MaxFailureBytes = 192 << 10
	// MaxMXHosts bounds Fact.MXHosts.
	MaxMXHosts = 100
	// MaxFieldLen bounds each string of a fact and of a report record
	// (longer ones are cut at a UTF-8 boundary).
	MaxFieldLen = 255

	// MaxMXPolicies bounds Fact.MXPolicies; MaxPolicyMXHosts the hosts,
	// MaxTLSARecords the records of one, MaxTLSARecordLen each record
	// (a SHA-512 record is 136 bytes; full certificates are cut). At
	// most 20 × (10 × 255 + 8 × 300 + 200) bytes, about 103 KB, which
	// with MaxFailureBytes keeps a fact within one DynamoDB item; real
	// reports hold one to three MX policies.
	MaxMXPolicies    = 20
	MaxPolicyMXHosts = 10
	MaxTLSARecords   = 8
	MaxTLSARecordLen = 300

	maxQuirks   = 20
	maxQuirkLen = 200
	// rowOverhead is what a FailureCount adds to its strings once encoded
	// (field names, quotes, the count).
	rowOverhead = 110
)

// OtherResultType labels the failures folded together when even one row per
// result type would not fit a fact (see Fact.Failures).
const OtherResultType tlsrpt.ResultType = "(other)"

// NewEntry builds what SaveReport stores for report r received as raw: one fact
// per policy domain for which serves returns true (every domain when serves
// is nil), in order of first appearance. The day of every fact is the UTC
// day r.Start falls on. An Entry without facts (no served domain) must not
// be saved; Check says so.
func NewEntry(r *tlsrpt.Report, raw []byte, serves func(domain string) bool, channel string, receivedAt time.Time) Entry {
	id := r.Identity()
	e := Entry{
		Report: Receipt{
			Key:              id.Key(),
			Organization:     cut(id.Organization, MaxFieldLen),
			OrganizationName: cut(r.OrganizationName, MaxFieldLen),
			ReportID:         cut(r.ReportID, MaxFieldLen),
			ContactInfo:      cut(r.ContactInfo, MaxFieldLen),
			Start:            r.Start.UTC(),
			End:              r.End.UTC(),
			ReceivedAt:       receivedAt.UTC(),
			Channel:          channel,
			ContentType:      ContentTypeJSON,
			Size:             int64(len(raw)),
			Digest:           Digest(r),
		},
		Raw: raw,
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		e.Report.ContentType = ContentTypeGzip
	}
	for i, q := range r.Quirks {
		if i == maxQuirks {
			break
		}
		e.Report.Quirks = append(e.Report.Quirks, cut(q, maxQuirkLen))
	}
	day := DayOf(r.Start)
	for _, d := range r.Domains() {
		if serves != nil && !serves(d) {
			continue
		}
		f := newFact(r, d)
		f.Day = day
		f.ReportKey = e.Report.Key
		f.Organization = e.Report.Organization
		f.OrganizationName = e.Report.OrganizationName
		f.ReportID = e.Report.ReportID
		f.Start, f.End = e.Report.Start, e.Report.End
		f.ReceivedAt = e.Report.ReceivedAt
		e.Facts = append(e.Facts, f)
		e.Report.Domains = append(e.Report.Domains, d)
		e.Report.Success = addSat(e.Report.Success, f.Success)
		e.Report.Failure = addSat(e.Report.Failure, f.Failure)
	}
	return e
}

// SetProvenance records how far the report is authenticated (a
// Provenance* constant) on its record and on each of its facts.
func (e *Entry) SetProvenance(p string) {
	e.Report.Provenance = p
	for i := range e.Facts {
		e.Facts[i].Provenance = p
	}
}

// rowKey is a FailureCount without its count.
type rowKey struct {
	resultType                         tlsrpt.ResultType
	mx, receivingIP, sendingIP, reason string
}

// newFact sums the policies of r for domain.
func newFact(r *tlsrpt.Report, domain string) Fact {
	f := Fact{Domain: domain}
	byType := map[tlsrpt.PolicyType]*PolicyTotals{}
	mx := map[string]bool{}
	rows := map[rowKey]int64{}
	mxp := map[string]int{} // mxPolicyKey → index in f.MXPolicies
	for _, p := range r.Policies {
		if p.Domain != domain {
			continue
		}
		f.Success = addSat(f.Success, p.Success)
		f.Failure = addSat(f.Failure, p.Failure)
		pt := byType[p.Type]
		if pt == nil {
			pt = &PolicyTotals{Type: tlsrpt.PolicyType(cut(string(p.Type), MaxFieldLen))}
			byType[p.Type] = pt
		}
		pt.Success = addSat(pt.Success, p.Success)
		pt.Failure = addSat(pt.Failure, p.Failure)
		for _, h := range p.MXHosts {
			mx[cut(h, MaxFieldLen)] = true
		}
		if len(p.MXHosts) > 0 || p.Type == tlsrpt.PolicyTypeTLSA {
			f.MXPolicies = addMXPolicy(f.MXPolicies, mxp, p)
		}
		for _, d := range p.Failures {
			k := rowKey{
				resultType:  tlsrpt.ResultType(cut(string(d.ResultType), MaxFieldLen)),
				mx:          cut(d.ReceivingMXHostname, MaxFieldLen),
				receivingIP: cut(d.ReceivingIP, MaxFieldLen),
				sendingIP:   cut(d.SendingMTAIP, MaxFieldLen),
				reason:      cut(d.ReasonCode, MaxFieldLen),
			}
			rows[k] = addSat(rows[k], d.Count)
		}
	}
	for _, pt := range byType {
		f.Policies = append(f.Policies, *pt)
	}
	slices.SortFunc(f.Policies, func(a, b PolicyTotals) int { return cmp.Compare(a.Type, b.Type) })
	for h := range mx {
		f.MXHosts = append(f.MXHosts, h)
	}
	slices.Sort(f.MXHosts)
	if len(f.MXHosts) > MaxMXHosts {
		f.MXHosts = f.MXHosts[:MaxMXHosts]
	}
	f.Failures, f.Folded = boundRows(rows)
	return f
}

// addMXPolicy adds p, bounded, to l: summed into an equal policy already
// there (index by key in idx), else appended while l holds fewer than
// MaxMXPolicies.
func addMXPolicy(l []MXPolicy, idx map[string]int, p tlsrpt.PolicyResult) []MXPolicy {
	m := MXPolicy{Type: tlsrpt.PolicyType(cut(string(p.Type), MaxFieldLen))}
	hosts := map[string]bool{}
	for _, h := range p.MXHosts {
		hosts[cut(h, MaxFieldLen)] = true
	}
	for h := range hosts {
		m.MXHosts = append(m.MXHosts, h)
	}
	slices.Sort(m.MXHosts)
	if len(m.MXHosts) > MaxPolicyMXHosts {
		m.MXHosts = m.MXHosts[:MaxPolicyMXHosts]
	}
	for i, r := range p.TLSARecords() {
		if i == MaxTLSARecords {
			break
		}
		if len(r) > MaxTLSARecordLen {
			r = cut(r, MaxTLSARecordLen-len("…")) + "…"
		}
		m.Records = append(m.Records, cut(r, MaxTLSARecordLen))
	}
	key := string(m.Type) + "\x00" + strings.Join(m.MXHosts, "\x01") + "\x00" + strings.Join(m.Records, "\x01")
	i, ok := idx[key]
	if !ok {
		if len(l) >= MaxMXPolicies {
			return l
		}
		i = len(l)
		idx[key] = i
		l = append(l, m)
	}
	l[i].Success = addSat(l[i].Success, p.Success)
	l[i].Failure = addSat(l[i].Failure, p.Failure)
	return l
}

// boundRows turns grouped failure details into rows, largest first, within
// MaxFailureRows and MaxFailureBytes, folding the smallest per result type.
func boundRows(rows map[rowKey]int64) ([]FailureCount, bool) {
	if len(rows) == 0 {
		return nil, false
	}
	l := make([]FailureCount, 0, len(rows))
	size := 0
	for k, n := range rows {
		l = append(l, FailureCount{ResultType: k.resultType, MXHost: k.mx, ReceivingIP: k.receivingIP,
			SendingIP: k.sendingIP, ReasonCode: k.reason, Count: n})
		size += rowSize(l[len(l)-1])
	}
	sortRows(l)
	if len(l) <= MaxFailureRows && size <= MaxFailureBytes {
		return l, false
	}
	// Keep the largest rows within half of each bound; fold the rest by
	// result type into the other half.
	kept, size := 0, 0
	for kept < len(l) && kept < MaxFailureRows/2 && size+rowSize(l[kept]) <= MaxFailureBytes/2 {
		size += rowSize(l[kept])
		kept++
	}
	folded := map[tlsrpt.ResultType]int64{}
	for _, r := range l[kept:] {
		folded[r.ResultType] = addSat(folded[r.ResultType], r.Count)
	}
	fl := make([]FailureCount, 0, len(folded))
	for t, n := range folded {
		fl = append(fl, FailureCount{ResultType: t, Count: n})
	}
	sortRows(fl)
	out := l[:kept:kept]
	fsize, other := 0, int64(0)
	for i, r := range fl {
		if i >= MaxFailureRows/2-1 || fsize+rowSize(r) > MaxFailureBytes/2-rowOverhead-len(OtherResultType) {
			other = addSat(other, r.Count)
			continue
		}
		fsize += rowSize(r)
		out = mergeRow(out, r)
	}
	if other > 0 {
		out = mergeRow(out, FailureCount{ResultType: OtherResultType, Count: other})
	}
	sortRows(out)
	return out, true
}

// mergeRow adds r to the row of l with the same fields, or appends it.
func mergeRow(l []FailureCount, r FailureCount) []FailureCount {
	for i := range l {
		if l[i].ResultType == r.ResultType && l[i].MXHost == r.MXHost && l[i].ReceivingIP == r.ReceivingIP &&
			l[i].SendingIP == r.SendingIP && l[i].ReasonCode == r.ReasonCode {
			l[i].Count = addSat(l[i].Count, r.Count)
			return l
		}
	}
	return append(l, r)
}

// rowSize bounds the JSON encoding of r from above.
func rowSize(r FailureCount) int {
	return rowOverhead + jsonLen(string(r.ResultType)) + jsonLen(r.MXHost) + jsonLen(r.ReceivingIP) +
		jsonLen(r.SendingIP) + jsonLen(r.ReasonCode)
}

// jsonLen bounds the length of s as a JSON string body from above: the
// characters encoding/json escapes take at most 6 bytes.
func jsonLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			n += 5
		case c == 0xe2: // U+2028, U+2029 (3 bytes, written as 6)
			n += 3
		}
	}
	return n
}

// sortRows orders rows by count, largest first, then by their fields, so
// that the same report always gives the same fact.
func sortRows(l []FailureCount) {
	slices.SortFunc(l, func(a, b FailureCount) int {
		return cmp.Or(
			cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.ResultType, b.ResultType),
			cmp.Compare(a.MXHost, b.MXHost),
			cmp.Compare(a.ReceivingIP, b.ReceivingIP),
			cmp.Compare(a.SendingIP, b.SendingIP),
			cmp.Compare(a.ReasonCode, b.ReasonCode),
		)
	})
}

// AddSat adds two non-negative session counts, saturating at
// math.MaxInt64 instead of overflowing: the one sum of counts everywhere
// (store, dashboard, checker), so that no total ever turns negative.
func AddSat(a, b int64) int64 { return addSat(a, b) }

// addSat is AddSat.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// cut shortens s to at most n bytes at a UTF-8 boundary, and replaces
// invalid UTF-8 (neither DynamoDB strings nor JSON can carry it).
func cut(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
