package awsstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// The store maps facts and receipts to items by hand (items.go). Issue 13
// asked for feature/dynamodb/attributevalue with struct tags instead,
// unless a benchmark shows a cost that matters. This file is that
// benchmark: the same items through attributevalue (factAV, receiptAV:
// struct tags, with the conversions the layout needs: times as UTC
// RFC 3339 strings, nested lists as JSON strings, lists never absent),
// held to producing exactly the items of items.go by TestAttributeValueSameItems.
// The numbers and the decision are in docs/performance.md ("DynamoDB item
// mapping").

type factAV struct {
	PK               string   `dynamodbav:"pk"`
	SK               string   `dynamodbav:"sk"`
	Domain           string   `dynamodbav:"domain"`
	Day              string   `dynamodbav:"day"`
	ReportKey        string   `dynamodbav:"report_key"`
	Organization     string   `dynamodbav:"organization"`
	OrganizationName string   `dynamodbav:"organization_name"`
	ReportID         string   `dynamodbav:"report_id"`
	Start            string   `dynamodbav:"start"`
	End              string   `dynamodbav:"end"`
	Success          int64    `dynamodbav:"success"`
	Failure          int64    `dynamodbav:"failure"`
	Policies         string   `dynamodbav:"policies"`
	Failures         string   `dynamodbav:"failures"`
	MXHosts          []string `dynamodbav:"mx_hosts"`
	Folded           bool     `dynamodbav:"folded"`
	MXPolicies       string   `dynamodbav:"mx_policies,omitempty"`
	Provenance       string   `dynamodbav:"provenance,omitempty"`
	Conflict         bool     `dynamodbav:"conflict,omitempty"`
}

// nonNil is l, or an empty list: attributevalue writes a nil slice as
// NULL, the hand-built items an empty list.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// nilIfEmpty is l, or nil for an empty list, as the hand-built reader
// gives it.
func nilIfEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

func factItemAV(f store.Fact) (map[string]types.AttributeValue, error) {
	policies, err := json.Marshal(f.Policies)
	if err != nil {
		return nil, err
	}
	failures, err := json.Marshal(f.Failures)
	if err != nil {
		return nil, err
	}
	av := factAV{PK: pkDomain + f.Domain, SK: skFact + string(f.Day) + "#" + f.ReportKey, Domain: f.Domain,
		Day: string(f.Day), ReportKey: f.ReportKey, Organization: f.Organization, OrganizationName: f.OrganizationName,
		ReportID: f.ReportID, Start: timeString(f.Start), End: timeString(f.End), Success: f.Success, Failure: f.Failure,
		Policies: string(policies), Failures: string(failures), MXHosts: nonNil(f.MXHosts), Folded: f.Folded,
		Provenance: f.Provenance, Conflict: f.Conflict}
	if len(f.MXPolicies) > 0 {
		mx, err := json.Marshal(f.MXPolicies)
		if err != nil {
			return nil, err
		}
		av.MXPolicies = string(mx)
	}
	return attributevalue.MarshalMap(av)
}

func factFromItemAV(it map[string]types.AttributeValue) (store.Fact, error) {
	var av factAV
	if err := attributevalue.UnmarshalMap(it, &av); err != nil {
		return store.Fact{}, err
	}
	f := store.Fact{Domain: av.Domain, Day: store.Day(av.Day), ReportKey: av.ReportKey, Organization: av.Organization,
		OrganizationName: av.OrganizationName, ReportID: av.ReportID, Success: av.Success, Failure: av.Failure,
		MXHosts: nilIfEmpty(av.MXHosts), Folded: av.Folded, Provenance: av.Provenance, Conflict: av.Conflict}
	var err error
	if f.Start, err = parseTimeAV(av.Start); err != nil {
		return store.Fact{}, err
	}
	if f.End, err = parseTimeAV(av.End); err != nil {
		return store.Fact{}, err
	}
	if err := json.Unmarshal([]byte(av.Policies), &f.Policies); err != nil {
		return store.Fact{}, err
	}
	if err := json.Unmarshal([]byte(av.Failures), &f.Failures); err != nil {
		return store.Fact{}, err
	}
	if av.MXPolicies != "" {
		if err := json.Unmarshal([]byte(av.MXPolicies), &f.MXPolicies); err != nil {
			return store.Fact{}, err
		}
	}
	return f, nil
}

func parseTimeAV(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

type receiptAV struct {
	PK               string   `dynamodbav:"pk"`
	SK               string   `dynamodbav:"sk"`
	Key              string   `dynamodbav:"key"`
	Organization     string   `dynamodbav:"organization"`
	OrganizationName string   `dynamodbav:"organization_name"`
	ReportID         string   `dynamodbav:"report_id"`
	ContactInfo      string   `dynamodbav:"contact_info"`
	Start            string   `dynamodbav:"start"`
	End              string   `dynamodbav:"end"`
	Domains          []string `dynamodbav:"domains"`
	Success          int64    `dynamodbav:"success"`
	Failure          int64    `dynamodbav:"failure"`
	ReceivedAt       string   `dynamodbav:"received_at"`
	Channel          string   `dynamodbav:"channel"`
	ContentType      string   `dynamodbav:"content_type"`
	Size             int64    `dynamodbav:"size"`
	Quirks           []string `dynamodbav:"quirks"`
	RawKey           string   `dynamodbav:"raw_key"`
	Provenance       string   `dynamodbav:"provenance"`
	Digest           string   `dynamodbav:"digest"`
	Conflicts        []string `dynamodbav:"conflicts,stringset,omitempty"`
	DKIMResult       *string  `dynamodbav:"dkim_result,omitempty"`
	DKIMDomain       *string  `dynamodbav:"dkim_domain,omitempty"`
	DKIMReason       *string  `dynamodbav:"dkim_reason,omitempty"`
}

func reportItemAV(r store.Receipt) (map[string]types.AttributeValue, error) {
	av := receiptAV{PK: pkReport + r.Key, SK: skReport, Key: r.Key, Organization: r.Organization,
		OrganizationName: r.OrganizationName, ReportID: r.ReportID, ContactInfo: r.ContactInfo,
		Start: timeString(r.Start), End: timeString(r.End), Domains: nonNil(r.Domains), Success: r.Success,
		Failure: r.Failure, ReceivedAt: timeString(r.ReceivedAt), Channel: r.Channel, ContentType: r.ContentType,
		Size: r.Size, Quirks: nonNil(r.Quirks), RawKey: store.RawKey(r.Key), Provenance: r.Provenance,
		Digest: r.Digest, Conflicts: r.Conflicts}
	if r.DKIM != nil {
		av.DKIMResult, av.DKIMDomain, av.DKIMReason = &r.DKIM.Result, &r.DKIM.Domain, &r.DKIM.Reason
	}
	return attributevalue.MarshalMap(av)
}

func reportFromItemAV(it map[string]types.AttributeValue) (store.Receipt, error) {
	var av receiptAV
	if err := attributevalue.UnmarshalMap(it, &av); err != nil {
		return store.Receipt{}, err
	}
	r := store.Receipt{Key: av.Key, Organization: av.Organization, OrganizationName: av.OrganizationName,
		ReportID: av.ReportID, ContactInfo: av.ContactInfo, Domains: nilIfEmpty(av.Domains), Success: av.Success,
		Failure: av.Failure, Channel: av.Channel, ContentType: av.ContentType, Size: av.Size, Quirks: nilIfEmpty(av.Quirks),
		Provenance: av.Provenance, Digest: av.Digest, Conflicts: av.Conflicts}
	var err error
	for _, t := range []struct {
		dst *time.Time
		s   string
	}{{&r.Start, av.Start}, {&r.End, av.End}, {&r.ReceivedAt, av.ReceivedAt}} {
		if *t.dst, err = parseTimeAV(t.s); err != nil {
			return store.Receipt{}, err
		}
	}
	if av.DKIMResult != nil {
		r.DKIM = &store.DKIM{Result: *av.DKIMResult}
		if av.DKIMDomain != nil {
			r.DKIM.Domain = *av.DKIMDomain
		}
		if av.DKIMReason != nil {
			r.DKIM.Reason = *av.DKIMReason
		}
	}
	return r, nil
}

// typicalFact is the fact of a report as Google sends them: two policies,
// a few failure rows, two MX hosts.
func typicalFact() store.Fact {
	start := time.Date(2024, 3, 27, 0, 0, 0, 0, time.UTC)
	return store.Fact{Domain: "example.com", Day: "2024-03-27", ReportKey: "google.com\x002024-03-27T00:00:00Z_example.com",
		Organization: "google.com", OrganizationName: "Google Inc.", ReportID: "2024-03-27T00:00:00Z_example.com",
		Start: start, End: start.Add(24*time.Hour - time.Second), Success: 1532, Failure: 17,
		Policies: []store.PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: 1500, Failure: 15}, {Type: tlsrpt.PolicyTypeNoPolicyFound, Success: 32, Failure: 2}},
		MXHosts:  []string{"mx1.example.com", "mx2.example.com"},
		Failures: []store.FailureCount{
			{ResultType: "certificate-expired", MXHost: "mx2.example.com", ReceivingIP: "192.0.2.7", SendingIP: "209.85.220.41", Count: 12},
			{ResultType: "starttls-not-supported", MXHost: "mx1.example.com", ReceivingIP: "192.0.2.5", SendingIP: "209.85.220.42", Count: 3},
			{ResultType: "validation-failure", MXHost: "mx2.example.com", ReasonCode: "hostname mismatch", Count: 2},
		},
		MXPolicies: []store.MXPolicy{{Type: tlsrpt.PolicyTypeSTS, MXHosts: []string{"mx1.example.com", "mx2.example.com"}, Success: 1500, Failure: 15}},
		Provenance: "https",
	}
}

// typicalReceipt is the receipt of an e-mailed report.
func typicalReceipt() store.Receipt {
	start := time.Date(2024, 3, 27, 0, 0, 0, 0, time.UTC)
	return store.Receipt{Key: "google.com\x002024-03-27T00:00:00Z_example.com", Organization: "google.com",
		OrganizationName: "Google Inc.", ReportID: "2024-03-27T00:00:00Z_example.com", ContactInfo: "smtp-tls-reporting@google.com",
		Start: start, End: start.Add(24*time.Hour - time.Second), Domains: []string{"example.com"}, Success: 1532, Failure: 17,
		ReceivedAt: start.Add(30 * time.Hour), Channel: "email", ContentType: "application/tlsrpt+gzip", Size: 1423,
		Quirks: []string{"contact-info is null"}, DKIM: &store.DKIM{Result: "pass", Domain: "google.com"},
		Provenance: "email-aligned", Digest: "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"}
}

// TestAttributeValueSameItems: the attributevalue mapping of the benchmark
// writes the items items.go writes and reads them back to the same values,
// so that BenchmarkItemMapping compares like with like.
func TestAttributeValueSameItems(t *testing.T) {
	f := typicalFact()
	f2 := f
	f2.MXHosts, f2.Failures, f2.MXPolicies, f2.Provenance, f2.Conflict = nil, nil, nil, "", true
	for _, f := range []store.Fact{f, f2} {
		hand, err := factItem(f)
		if err != nil {
			t.Fatal(err)
		}
		av, err := factItemAV(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(hand, av) {
			t.Errorf("fact items differ:\n hand %s\n   av %s", itemString(hand), itemString(av))
		}
		back, err := factFromItemAV(hand)
		if err != nil {
			t.Fatal(err)
		}
		want, err := factFromItem(hand)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("facts read back differ:\n hand %+v\n   av %+v", want, back)
		}
	}
	r := typicalReceipt()
	r2 := r
	r2.DKIM, r2.Quirks, r2.Conflicts = nil, nil, []string{"sha256:aa", "sha256:bb"}
	for _, r := range []store.Receipt{r, r2} {
		hand := reportItem(r)
		av, err := reportItemAV(r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(hand, av) {
			t.Errorf("report items differ:\n hand %s\n   av %s", itemString(hand), itemString(av))
		}
		back, err := reportFromItemAV(hand)
		if err != nil {
			t.Fatal(err)
		}
		want, err := reportFromItem(hand)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("receipts read back differ:\n hand %+v\n   av %+v", want, back)
		}
	}
}

func itemString(it map[string]types.AttributeValue) string {
	var b []byte
	for _, k := range sortedKeys(it) {
		b = fmt.Appendf(b, "%s=%#v ", k, it[k])
	}
	return string(b)
}

func sortedKeys(it map[string]types.AttributeValue) []string {
	keys := make([]string, 0, len(it))
	for k := range it {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// BenchmarkItemMapping: a typical fact and receipt written to an item and
// read back, by hand (items.go) and through attributevalue.
func BenchmarkItemMapping(b *testing.B) {
	f, r := typicalFact(), typicalReceipt()
	fi, err := factItem(f)
	if err != nil {
		b.Fatal(err)
	}
	ri := reportItem(r)
	cases := []struct {
		name string
		run  func() error
	}{
		{"fact/marshal/hand", func() error { _, err := factItem(f); return err }},
		{"fact/marshal/attributevalue", func() error { _, err := factItemAV(f); return err }},
		{"fact/unmarshal/hand", func() error { _, err := factFromItem(fi); return err }},
		{"fact/unmarshal/attributevalue", func() error { _, err := factFromItemAV(fi); return err }},
		{"receipt/marshal/hand", func() error { reportItem(r); return nil }},
		{"receipt/marshal/attributevalue", func() error { _, err := reportItemAV(r); return err }},
		{"receipt/unmarshal/hand", func() error { _, err := reportFromItem(ri); return err }},
		{"receipt/unmarshal/attributevalue", func() error { _, err := reportFromItemAV(ri); return err }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
