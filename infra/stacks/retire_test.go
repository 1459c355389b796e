package stacks

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/mtasts"
)

const retiringConfig = "testdata/retiring.yaml"

// A retiring domain (issue 15, RFC 8461 §8.3) keeps its policy host, its
// certificate name and its records, publishes the mode none policy under
// its new id, and its stack output says when it may be removed, in the
// form `ststack config validate --deployed` reads back.
func TestRetiringDomain(t *testing.T) {
	if PolicyPath != config.PolicyPath {
		t.Fatalf("PolicyPath %q, config.PolicyPath %q: the outputs would not read back", PolicyPath, config.PolicyPath)
	}
	s := synth(t, retiringConfig)
	old, ok := s.d.Config.Domain("old.retiring.example")
	moved, ok2 := s.d.Config.Domain("moved.example")
	if !ok || !ok2 || !old.Retiring() || !moved.Retiring() {
		t.Fatalf("testdata: old.retiring.example and moved.example must be retiring")
	}

	// Still served: each has its tenant and certificate.
	for _, dom := range []config.Domain{old, moved} {
		tenants := resources(s.shardOf(t, dom.Name), "AWS::CloudFront::DistributionTenant")
		found := false
		for _, tn := range tenants {
			found = found || jsonEqual(props(tn)["Domains"], []any{dom.PolicyHost()})
		}
		if !found || s.d.certificates[dom.Name] == nil {
			t.Errorf("%s: no tenant or certificate for %s", dom.Name, dom.PolicyHost())
		}
	}

	// Still published: the CNAME and both TXT records, the _mta-sts id
	// being the mode none policy's, not the replaced one's.
	records := map[string]map[string]any{}
	for _, r := range resources(s.shardOf(t, old.Name), "AWS::Route53::RecordSet") {
		records[str(props(r)["Name"])+" "+str(props(r)["Type"])] = props(r)
	}
	for _, k := range []string{"mta-sts.old.retiring.example. CNAME", "_smtp._tls.old.retiring.example. TXT"} {
		if p, ok := records[k]; !ok || p["HostedZoneId"] != "ZRETIRING1" {
			t.Errorf("%s: %v, want it published in ZRETIRING1", k, p)
		}
	}
	sts := records["_mta-sts.old.retiring.example. TXT"]
	rr, _ := sts["ResourceRecords"].([]any)
	txt := ""
	if len(rr) == 1 {
		txt, _ = strconv.Unquote(str(rr[0]))
	}
	rec, err := mtasts.ParseRecord(txt)
	if err != nil || rec.ID != old.Policy.ID() || rec.ID == old.Retire.Replaces.ID() {
		t.Errorf("_mta-sts.old.retiring.example: %v (%v), want id %s of the mode none policy, not %s", rr, err, old.Policy.ID(), old.Retire.Replaces.ID())
	}

	// The policy function serves the file it is deployed with: mode none.
	staged, err := config.Load(filepath.Join(s.d.assets[fnPolicy], ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := staged.Domain(old.Name); !strings.Contains(d.PolicyText(), "mode: none\r\n") || d.Policy.ID() != old.Policy.ID() {
		t.Errorf("policy function's file serves %q for %s, want the mode none policy", d.PolicyText(), old.Name)
	}

	// The outputs say when each retiring domain may be removed, and read
	// back as the deployed state.
	// Each domain's output is in its shard: read as aws cloudformation
	// describe-stacks lists the nested stacks.
	name := s.d.Config.StackName()
	type stackOutputs struct {
		StackName string
		Outputs   []struct{ OutputKey, OutputValue string }
	}
	var doc struct{ Stacks []stackOutputs }
	for n, tmpl := range s.shardJSON {
		so := stackOutputs{StackName: fmt.Sprintf("%s-edge-Shard%03dNestedStackShard%03dNestedStackResource-ABC", name, n, n)}
		for key, o := range tmpl["Outputs"].(map[string]any) {
			so.Outputs = append(so.Outputs, struct{ OutputKey, OutputValue string }{key, flatten(o.(map[string]any)["Value"])})
		}
		doc.Stacks = append(doc.Stacks, so)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := config.ReadDeployed(data, "outputs.json", name)
	if err != nil {
		t.Fatal(err)
	}
	for _, dom := range s.d.Config.Domains {
		got, ok := dep.Domains[dom.Name]
		switch {
		case !ok:
			t.Errorf("%s: no output", dom.Name)
		case got.Retiring != dom.Retiring():
			t.Errorf("%s: output says retiring=%v", dom.Name, got.Retiring)
		case dom.Retiring() && !got.RemovableAfter.Equal(dom.Retire.RemovableAfter()):
			t.Errorf("%s: output says removable after %v, want %v", dom.Name, got.RemovableAfter, dom.Retire.RemovableAfter())
		}
	}

	for _, st := range s.d.stacks() {
		noPanic(t, func() {
			if st.NestedStackParent() != nil {
				if errs := SynthErrors(st); len(errs) > 0 {
					t.Errorf("%s: %d cdk-nag errors: %v", *st.Node().Path(), len(errs), errs)
				}
				return // the assertions library finds no artifact of a nested stack
			}
			errs := assertions.Annotations_FromStack(st).FindError(jsii.String("*"),
				assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			if len(*errs) > 0 {
				t.Errorf("%s: %d cdk-nag errors", *st.StackName(), len(*errs))
			}
		})
	}
}

// flatten renders a template value as a string: Fn::Join joined, any other
// intrinsic (a name only known at deploy) as "d111.cloudfront.net".
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var b strings.Builder
			for i, p := range parts {
				if i > 0 {
					b.WriteString(str(j[0]))
				}
				b.WriteString(flatten(p))
			}
			return b.String()
		}
	}
	return "d111.cloudfront.net"
}
