package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/rollout"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// rolloutFixture serves a dashboard of two domains with 20 days of
// reports from three senders: ready.example clean in testing, broken.example
// in enforce where every sender failed the same way two days ago.
func rolloutFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(`organization: Acme
region: eu-west-1
defaults: {policy: {mx: [mx.example.net]}}
domains:
  - name: ready.example
    dns: {external: true}
  - name: broken.example
    dns: {external: true}
    policy: {mode: enforce, max_age: 604800}
    stage_since: 2026-11-01
reporting: {mailto: tlsrpt@example.net}
`), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	for ago := 1; ago <= 20; ago++ {
		day := store.DayOf(now).AddDays(-ago)
		for _, org := range []string{"a.example", "b.example", "c.example"} {
			for _, d := range []string{"ready.example", "broken.example"} {
				failed := int64(0)
				if d == "broken.example" && ago == 2 {
					failed = 10
				}
				key := fmt.Sprintf("%s!%s-%s", org, d, day)
				f := store.Fact{Domain: d, Day: day, ReportKey: key, Organization: org, OrganizationName: org,
					ReportID: string(day), Start: day.Time(), End: day.Time().Add(time.Hour), Success: 100, Failure: failed,
					Policies: []store.PolicyTotals{{Type: tlsrpt.PolicyTypeSTS, Success: 100, Failure: failed}}}
				if failed > 0 {
					f.Failures = []store.FailureCount{{ResultType: tlsrpt.ResultCertificateHostMismatch, MXHost: "mx.example.net", Count: failed}}
				}
				if _, err := st.SaveReport(context.Background(), store.Entry{Report: store.Receipt{Key: key,
					Organization: org, ReportID: string(day), Start: f.Start, End: f.End, Domains: []string{d},
					Success: 100, Failure: failed, Channel: "https", ContentType: store.ContentTypeJSON, Size: 2, Digest: key},
					Raw: []byte("{}"), Facts: []store.Fact{f}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	h, err := New(Options{Config: cfg, Store: st, Source: "test", Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cfg: cfg, st: st, h: h, srv: httptest.NewServer(h)}
	t.Cleanup(f.srv.Close)
	return f
}

// The overview and the domain page show each domain's rollout stage and
// next step (issue 19), the domain's API its evidence.
func TestRolloutViews(t *testing.T) {
	f := rolloutFixture(t)
	var o Overview
	f.getJSON(t, "/api/v1/overview", 200, &o)
	got := map[string]RolloutStatus{}
	for _, d := range o.Domains {
		if d.Rollout == nil {
			t.Fatalf("%s: no rollout", d.Domain)
		}
		got[d.Domain] = *d.Rollout
	}
	if r := got["ready.example"]; r.Stage != rollout.StageTesting || r.Action != rollout.Enforce || r.NewMaxAge != 86400 {
		t.Errorf("ready.example: %+v", r)
	}
	if r := got["broken.example"]; r.Stage != rollout.StageEnforce || r.Action != rollout.StepBack || r.NewMode != "testing" {
		t.Errorf("broken.example: %+v", r)
	}

	var dd DomainDetail
	f.getJSON(t, "/api/v1/domains/broken.example", 200, &dd)
	if dd.Rollout.Action != rollout.StepBack || len(dd.Rollout.Evidence.Clusters) != 1 ||
		len(dd.Rollout.Evidence.Clusters[0].Reports) != 3 || dd.Rollout.Evidence.FailedSessions != 30 {
		t.Errorf("broken.example evidence: %+v", dd.Rollout.Evidence)
	}

	_, page := f.get(t, "/")
	for _, want := range []string{`<th rowspan="2" scope="col">Rollout</th>`, "testing: move to enforce, max_age 86400", "enforce: step back to testing"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	_, page = f.get(t, "/domains/broken.example")
	for _, want := range []string{`id="rollout-step"`, "enforce: step back to testing", "→ mode <strong>testing</strong>",
		"judged misconfiguration", "ststack plan --apply"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("domain page lacks %q", want)
		}
	}
}
