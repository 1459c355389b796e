package awsstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ststack/ststack/internal/store"
)

// Items hold scalars as native attributes, readable in the console, and
// nested lists as JSON strings.
//
// The mapping is written by hand, not with feature/dynamodb/attributevalue
// and struct tags (issue 13 §2 asked which). BenchmarkItemMapping and
// TestAttributeValueSameItems (items_bench_test.go) compare the two on the
// same items: attributevalue is 1.5-22x slower per item but still a few
// microseconds, nothing beside a DynamoDB request; what decided is that it
// adds 110 KB of code to every function that stores (tlsrpt 9.38 -> 9.50
// MiB arm64, issue 13 wants no bootstrap to grow), that the layout needs
// the same conversions either way (UTC RFC 3339 times, JSON strings, lists
// never NULL), and that it reads a missing attribute as a zero
// value where decoder reports the item as corrupt. Numbers in
// docs/performance.md ("DynamoDB item mapping").

func factItem(f store.Fact) (map[string]types.AttributeValue, error) {
	policies, err := json.Marshal(f.Policies)
	if err != nil {
		return nil, err
	}
	failures, err := json.Marshal(f.Failures)
	if err != nil {
		return nil, err
	}
	mxPolicies, err := json.Marshal(f.MXPolicies)
	if err != nil {
		return nil, err
	}
	it := map[string]types.AttributeValue{
		"pk":                str(pkDomain + f.Domain),
		"sk":                str(skFact + string(f.Day) + "#" + f.ReportKey),
		"domain":            str(f.Domain),
		"day":               str(string(f.Day)),
		"report_key":        str(f.ReportKey),
		"organization":      str(f.Organization),
		"organization_name": str(f.OrganizationName),
		"report_id":         str(f.ReportID),
		"start":             str(timeString(f.Start)),
		"end":               str(timeString(f.End)),
		"success":           num(f.Success),
		"failure":           num(f.Failure),
		"policies":          str(string(policies)),
		"failures":          str(string(failures)),
		"mx_hosts":          strList(f.MXHosts),
		"folded":            &types.AttributeValueMemberBOOL{Value: f.Folded},
	}
	if len(f.MXPolicies) > 0 {
		it["mx_policies"] = str(string(mxPolicies))
	}
	if f.Provenance != "" {
		it["provenance"] = str(f.Provenance)
	}
	if f.Conflict {
		it["conflict"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if !f.ReceivedAt.IsZero() {
		it["received_at"] = str(timeString(f.ReceivedAt))
	}
	return it, nil
}

func factFromItem(it map[string]types.AttributeValue) (store.Fact, error) {
	d := decoder{item: it}
	f := store.Fact{
		Domain:           d.s("domain"),
		Day:              store.Day(d.s("day")),
		ReportKey:        d.s("report_key"),
		Organization:     d.s("organization"),
		OrganizationName: d.s("organization_name"),
		ReportID:         d.s("report_id"),
		Start:            d.time("start"),
		End:              d.time("end"),
		Success:          d.n("success"),
		Failure:          d.n("failure"),
		MXHosts:          d.list("mx_hosts"),
		Folded:           d.bool("folded"),
		Provenance:       d.optS("provenance"),
	}
	if _, ok := it["conflict"]; ok {
		f.Conflict = d.bool("conflict")
	}
	if _, ok := it["received_at"]; ok { // absent in facts stored before it was recorded
		f.ReceivedAt = d.time("received_at")
	}
	d.json("policies", &f.Policies)
	d.json("failures", &f.Failures)
	if _, ok := it["mx_policies"]; ok { // absent in facts stored before it was recorded
		d.json("mx_policies", &f.MXPolicies)
	}
	if d.err != nil {
		return store.Fact{}, fmt.Errorf("fact %s/%s: %w", getS(it, "pk"), getS(it, "sk"), d.err)
	}
	return f, nil
}

func reportItem(r store.Receipt) map[string]types.AttributeValue {
	it := reportKey(r.Key)
	for k, v := range map[string]types.AttributeValue{
		"key":               str(r.Key),
		"organization":      str(r.Organization),
		"organization_name": str(r.OrganizationName),
		"report_id":         str(r.ReportID),
		"contact_info":      str(r.ContactInfo),
		"start":             str(timeString(r.Start)),
		"end":               str(timeString(r.End)),
		"domains":           strList(r.Domains),
		"success":           num(r.Success),
		"failure":           num(r.Failure),
		"received_at":       str(timeString(r.ReceivedAt)),
		"channel":           str(r.Channel),
		"content_type":      str(r.ContentType),
		"size":              num(r.Size),
		"quirks":            strList(r.Quirks),
		"raw_key":           str(store.RawKey(r.Key)),
		"provenance":        str(r.Provenance),
		"digest":            str(r.Digest),
	} {
		it[k] = v
	}
	if len(r.Conflicts) > 0 {
		it["conflicts"] = &types.AttributeValueMemberSS{Value: r.Conflicts}
	}
	if r.DKIM != nil {
		it["dkim_result"] = str(r.DKIM.Result)
		it["dkim_domain"] = str(r.DKIM.Domain)
		it["dkim_reason"] = str(r.DKIM.Reason)
	}
	return it
}

func reportFromItem(it map[string]types.AttributeValue) (store.Receipt, error) {
	d := decoder{item: it}
	r := store.Receipt{
		Key:              d.s("key"),
		Organization:     d.s("organization"),
		OrganizationName: d.s("organization_name"),
		ReportID:         d.s("report_id"),
		ContactInfo:      d.s("contact_info"),
		Start:            d.time("start"),
		End:              d.time("end"),
		Domains:          d.list("domains"),
		Success:          d.n("success"),
		Failure:          d.n("failure"),
		ReceivedAt:       d.time("received_at"),
		Channel:          d.s("channel"),
		ContentType:      d.s("content_type"),
		Size:             d.n("size"),
		Quirks:           d.list("quirks"),
		Provenance:       d.optS("provenance"), // absent in items stored before it was recorded
		Digest:           d.optS("digest"),     // likewise
	}
	if v, ok := it["conflicts"].(*types.AttributeValueMemberSS); ok {
		r.Conflicts = slices.Sorted(slices.Values(v.Value))
	}
	if _, ok := it["dkim_result"]; ok { // e-mailed reports only
		r.DKIM = &store.DKIM{Result: d.s("dkim_result"), Domain: d.s("dkim_domain"), Reason: d.s("dkim_reason")}
	}
	if d.err != nil {
		return store.Receipt{}, fmt.Errorf("report %s: %w", getS(it, "pk"), d.err)
	}
	return r, nil
}

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// strList is a list of strings (never absent: an empty list is valid,
// unlike an empty string set).
func strList(l []string) types.AttributeValue {
	v := make([]types.AttributeValue, len(l))
	for i, s := range l {
		v[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: v}
}

func getS(it map[string]types.AttributeValue, k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// decoder reads attributes, keeping the first error.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(k, msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: %s", k, msg)
	}
}

func (d *decoder) s(k string) string {
	v, ok := d.item[k].(*types.AttributeValueMemberS)
	if !ok {
		d.fail(k, "missing or not a string")
		return ""
	}
	return v.Value
}

// optS reads a string attribute that older items lack ("" then).
func (d *decoder) optS(k string) string {
	if _, ok := d.item[k]; !ok {
		return ""
	}
	return d.s(k)
}

func (d *decoder) n(k string) int64 {
	v, ok := d.item[k].(*types.AttributeValueMemberN)
	if !ok {
		d.fail(k, "missing or not a number")
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		d.fail(k, err.Error())
	}
	return n
}

func (d *decoder) bool(k string) bool {
	v, ok := d.item[k].(*types.AttributeValueMemberBOOL)
	if !ok {
		d.fail(k, "missing or not a boolean")
		return false
	}
	return v.Value
}

func (d *decoder) time(k string) time.Time {
	s := d.s(k)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(k, err.Error())
	}
	return t.UTC()
}

func (d *decoder) list(k string) []string {
	v, ok := d.item[k].(*types.AttributeValueMemberL)
	if !ok {
		d.fail(k, "missing or not a list")
		return nil
	}
	var l []string
	for _, e := range v.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			d.fail(k, "list element not a string")
			return nil
		}
		l = append(l, s.Value)
	}
	return l
}

func (d *decoder) json(k string, v any) {
	s := d.s(k)
	if d.err != nil {
		return
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		d.fail(k, err.Error())
	}
}
