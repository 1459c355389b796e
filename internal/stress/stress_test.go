package stress

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
)

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{[]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 50, 2 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 100, 4 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 1, 1 * ms},
		{[]time.Duration{5 * ms}, 99, 5 * ms},
		{nil, 50, 0},
	} {
		if got := Percentile(slices.Clone(tc.in), tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestFlat(t *testing.T) {
	const m = 1 << 20
	steady := make([]int64, 30)
	growing := make([]int64, 30)
	for i := range steady {
		steady[i] = 40*m + int64(i%3)*m
		growing[i] = 40*m + int64(i)*4*m
	}
	warmup := slices.Clone(steady)
	for i := range 6 {
		warmup[i] = int64(i+1) * m // start-up below the plateau: ignored
	}
	for _, tc := range []struct {
		name    string
		samples []int64
		flat    bool
	}{
		{"steady", steady, true},
		{"warm-up then steady", warmup, true},
		{"growing", growing, false},
		{"too few samples", []int64{1, 100 * m}, true},
	} {
		if _, _, flat := Flat(tc.samples); flat != tc.flat {
			t.Errorf("%s: flat = %v, want %v", tc.name, flat, tc.flat)
		}
	}
}

// facts is a FactSource from a list.
type facts []store.Fact

func (f facts) Facts(_ context.Context, domain string, from, to store.Day) ([]store.Fact, error) {
	var out []store.Fact
	for _, x := range f {
		if x.Domain == domain && x.Day >= from && x.Day <= to {
			out = append(out, x)
		}
	}
	return out, nil
}

func TestVerify(t *testing.T) {
	res := &Result{Expected: map[string]map[store.Day]Expected{
		"a.example": {"2024-03-01": {Reports: 2, Success: 10, Failure: 1}},
		"b.example": {"2024-03-02": {Reports: 1, Success: 5}},
	}}
	good := facts{
		{Domain: "a.example", Day: "2024-03-01", ReportKey: "r1", Success: 4, Failure: 1},
		{Domain: "a.example", Day: "2024-03-01", ReportKey: "r2", Success: 6},
		{Domain: "b.example", Day: "2024-03-02", ReportKey: "r3", Success: 5},
	}
	for _, tc := range []struct {
		name  string
		facts facts
		diffs []string // substrings, one per expected difference
	}{
		{"exact", good, nil},
		{"lost", good[1:], []string{"a.example 2024-03-01: stored 1 reports"}},
		{"counted twice", append(slices.Clone(good), good[2]), []string{"b.example 2024-03-02: stored 2 reports"}},
		{"wrong day", append(slices.Clone(good[:2]), store.Fact{Domain: "b.example", Day: "2024-03-03", Success: 5}),
			[]string{"b.example 2024-03-02: stored 0", "b.example 2024-03-03: stored 1"}},
		{"foreign domain", append(slices.Clone(good), store.Fact{Domain: "other.example", Day: "2024-03-01"}), []string{"other.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diffs, err := Verify(context.Background(), tc.facts, res, []string{"other.example"})
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) != len(tc.diffs) {
				t.Fatalf("diffs %q, want %d", diffs, len(tc.diffs))
			}
			for i, want := range tc.diffs {
				if !strings.Contains(diffs[i], want) {
					t.Errorf("diff %q, want it to say %q", diffs[i], want)
				}
			}
		})
	}
}

func TestOrg(t *testing.T) {
	yaml, domains, policies, err := Org(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(domains) != 3 || len(policies) != 3 || !strings.Contains(yaml, "s002.stress.example") {
		t.Fatalf("%d domains, %d policies", len(domains), len(policies))
	}
	if p := policies["mta-sts.s001.stress.example"]; !strings.Contains(p, "mx: mx1.s001.stress.example\r\n") {
		t.Errorf("policy %q", p)
	}
}

func TestRunConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{BaseURL: "http://127.0.0.1:1", Policies: map[string]string{"h": "p"}, Domains: []string{"d"}},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
}

// TestServeUnderLoad runs a short load against the real binary: every
// answer right, the store holding exactly what was sent.
func TestServeUnderLoad(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ststack")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/ststack")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building ststack: %v\n%s", err, out)
	}
	org, domains, policies, err := Org(20)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath, data := filepath.Join(dir, "ststack.yaml"), filepath.Join(dir, "data")
	if err := os.WriteFile(cfgPath, []byte(org), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	srv, err := StartServe(bin, cfgPath, data, &logs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Kill()
	res, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Policies: policies, Domains: domains,
		Duration: 3 * time.Second, MaxRequests: 1500, Concurrency: 8, Seed: 7,
		Memory: func() (int64, error) { return RSS(srv.Pid()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res.Summary())
	if res.ErrorCount != 0 {
		t.Errorf("%d errors: %q", res.ErrorCount, res.Errors)
	}
	if res.Reports == 0 || len(res.Latency[KindPolicy]) == 0 || len(res.Memory) == 0 {
		t.Errorf("%d reports, %d policy GETs, %d memory samples", res.Reports, len(res.Latency[KindPolicy]), len(res.Memory))
	}
	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	diffs, err := Verify(context.Background(), st, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
}
