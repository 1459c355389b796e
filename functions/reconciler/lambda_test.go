package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ststack/ststack/internal/awstest"
	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/lambdatest"
	"github.com/ststack/ststack/internal/reconcile"
	"github.com/ststack/ststack/internal/store/awsstore"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const orgFile = `organization: Operator
region: eu-west-1
domains:
  - {name: own.example, dns: {external: true}, policy: {mx: [mx.own.example]}}
  - {name: ready.example, dns: delegated, policy: {mx: [mx.ready.example]}}
  - {name: waiting.example, dns: delegated, policy: {mx: [mx.waiting.example]}}
  - {name: elsewhere.example, dns: delegated, policy: {mx: [mx.elsewhere.example]}}
delegation: {zone: clients.ops.example, hosted_zone_id: Z0123456789ABCDEFGHIJ}
reporting: {mailto: tlsrpt@own.example}
`

// TestBootstrap runs the real reconciler bootstrap under the Lambda Runtime
// Interface Emulator, with dynalite as the state store, a loopback DNS
// server as resolver and the CloudFront stand-in (awstest.CloudFront) as
// CloudFront, as EventBridge invokes it on its schedule:
//   - run 1: the client whose CNAME points at the operator's name gets a
//     tenant in the configured distribution and connection group with a
//     managed certificate validated by CloudFront (certificate-pending);
//     the client without a CNAME waits, the one whose CNAME points
//     elsewhere is told so; no tenant is created for either;
//   - run 2, after ACM issued the certificate: it is attached with the
//     tenant's current ETag (serving);
//   - run 3: nothing changes in CloudFront.
//
// Each run's states are read back from the table as the dashboard reads
// them.
func TestBootstrap(t *testing.T) {
	env := awstest.New(t)
	cf := awstest.NewCloudFront(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ststack.yaml"), []byte(orgFile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(orgFile), "ststack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	target := func(name string) string {
		d, _ := cfg.Domain(name)
		del, ok := cfg.Delegated(d)
		if !ok {
			t.Fatalf("%s is not delegated", name)
		}
		return del.PolicyHost.Target
	}
	dns := checktest.NewDNS(t)
	dns.Add("mta-sts.ready.example. CNAME "+target("ready.example")+".",
		"mta-sts.elsewhere.example. CNAME old-host.provider.example.")

	vars := map[string]string{
		"STSTACK_CONFIG":              filepath.Join(dir, "ststack.yaml"),
		"STSTACK_DISTRIBUTION_ID":     "EMULTITENANT1",
		"STSTACK_CONNECTION_GROUP_ID": "cg_ststack",
		"STSTACK_RESOLVER":            dns.Addr,
		"AWS_ENDPOINT_URL_CLOUDFRONT": cf.URL,
	}
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	rie := lambdatest.Start(t, lambdatest.Bootstrap(t, "reconciler"), vars)
	ev := events.EventBridgeEvent{Version: "0", ID: "r1", DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: "123456789012", Time: time.Now().UTC(), Region: "us-east-1", Detail: []byte("{}")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	states := reconcile.JSONStates(awsstore.New(env.S3, env.DynamoDB, env.Bucket, env.Table))
	phase := func(domain string) reconcile.State {
		t.Helper()
		s, ok, err := states.Get(ctx, domain)
		if err != nil || !ok {
			t.Fatalf("state of %s: %v (stored: %v)", domain, err, ok)
		}
		return s
	}
	readyTenant := reconcile.TenantName(config.DelegationKey("ready.example"))

	// Run 1.
	if _, err := rie.Invoke(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, rie.Output())
	}
	if s := phase("ready.example"); s.Phase != reconcile.PhaseCertificatePending || s.TenantID == "" {
		t.Errorf("ready.example after run 1: %+v", s)
	}
	if s := phase("waiting.example"); s.Phase != reconcile.PhaseWaitingForCNAME || !strings.Contains(s.Detail, target("waiting.example")) {
		t.Errorf("waiting.example: %+v", s)
	}
	if s := phase("elsewhere.example"); s.Phase != reconcile.PhaseCNAMEElsewhere || !strings.Contains(s.Detail, "old-host.provider.example") {
		t.Errorf("elsewhere.example: %+v", s)
	}
	if _, ok, _ := states.Get(ctx, "own.example"); ok {
		t.Error("a state was stored for a domain that is not delegated")
	}
	tn, ok := cf.Tenant(readyTenant)
	if !ok || tn.DistributionID != "EMULTITENANT1" || tn.ConnectionGroupID != "cg_ststack" ||
		!slices.Equal(tn.Domains, []string{"mta-sts.ready.example"}) || tn.Managed == nil ||
		tn.Managed.ValidationTokenHost != "cloudfront" || tn.CertificateARN != "" {
		t.Fatalf("tenant of ready.example: %+v (found %v)", tn, ok)
	}
	calls := cf.Calls()
	if n := countPrefix(calls, "CreateDistributionTenant"); n != 1 {
		t.Errorf("run 1 created %d tenants, want 1: %v", n, calls)
	}

	// Run 2: ACM issued the certificate.
	cf.SetCertificateStatus(readyTenant, "issued")
	if _, err := rie.Invoke(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, rie.Output())
	}
	if s := phase("ready.example"); s.Phase != reconcile.PhaseServing || s.CertificateARN != tn.Managed.ARN {
		t.Errorf("ready.example after run 2: %+v", s)
	}
	if tn, _ := cf.Tenant(readyTenant); tn.CertificateARN != tn.Managed.ARN {
		t.Errorf("certificate not attached: %+v", tn)
	}
	if calls := cf.Calls(); countPrefix(calls, "UpdateDistributionTenant") != 1 || countPrefix(calls, "CreateDistributionTenant") != 0 {
		t.Errorf("run 2 calls: %v", calls)
	}

	// Run 3: nothing to do.
	if _, err := rie.Invoke(ctx, ev); err != nil {
		t.Fatalf("%v\n%s", err, rie.Output())
	}
	if calls := cf.Calls(); countPrefix(calls, "UpdateDistributionTenant")+countPrefix(calls, "CreateDistributionTenant") != 0 {
		t.Errorf("run 3 changed CloudFront: %v", calls)
	}
	if s := phase("ready.example"); s.Phase != reconcile.PhaseServing {
		t.Errorf("ready.example after run 3: %+v", s)
	}
	if out := rie.Output(); !strings.Contains(out, "reconciler: domain") {
		t.Errorf("function log lacks the per-domain lines:\n%s", out)
	}
}

func countPrefix(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix+" ") {
			n++
		}
	}
	return n
}
