package checker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
)

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		error string // substring; "" valid
	}{
		{"defaults", Config{Resolver: "127.0.0.1:53"}, ""},
		{"all set", Config{Resolver: "[::1]:5353", HTTPSPort: 8443, SMTPPort: 2525, Timeout: time.Second,
			Concurrency: 2, HELOName: "checker.example", ReadinessWindowDays: 7, ReadinessMinSessions: 10}, ""},
		{"https port", Config{Resolver: "127.0.0.1:53", HTTPSPort: 70000}, "HTTPSPort"},
		{"smtp port", Config{Resolver: "127.0.0.1:53", SMTPPort: -1}, "SMTPPort"},
		{"timeout", Config{Resolver: "127.0.0.1:53", Timeout: -time.Second}, "Timeout"},
		{"concurrency", Config{Resolver: "127.0.0.1:53", Concurrency: -3}, "Concurrency"},
		{"window", Config{Resolver: "127.0.0.1:53", ReadinessWindowDays: -1}, "ReadinessWindowDays"},
		{"sessions", Config{Resolver: "127.0.0.1:53", ReadinessMinSessions: -1}, "ReadinessMinSessions"},
		{"helo", Config{Resolver: "127.0.0.1:53", HELOName: "bad name"}, "HELOName"},
		{"resolver", Config{Resolver: "127.0.0.1"}, "resolver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.error == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.cfg.HTTPSPort == 0 || c.cfg.SMTPPort == 0 || c.cfg.Timeout == 0 || c.cfg.Concurrency == 0 ||
					c.cfg.Now == nil || c.cfg.ReadinessWindowDays == 0 || c.cfg.ReadinessMinSessions == 0 {
					t.Errorf("defaults not filled in: %+v", c.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("err %v, want one naming %s", err, tc.error)
			}
		})
	}
	c, err := New(Config{Resolver: "127.0.0.1:53"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.HTTPSPort != 443 || c.cfg.SMTPPort != 25 || c.cfg.Concurrency != 16 || c.cfg.ReadinessWindowDays != 14 || c.cfg.ReadinessMinSessions != 100 {
		t.Errorf("defaults: %+v", c.cfg)
	}
}

func TestValidDomain(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"example.com", true},
		{"xn--bcher-kva.example", true},
		{"a-b.c0.example", true},
		{"localhost", false},
		{"", false},
		{"exa mple.com", false},
		{"-a.example", false},
		{"a-.example", false},
		{"a..example", false},
		{"bücher.example", false},
		{strings.Repeat("a", 64) + ".example", false},
		{strings.Repeat("a.", 127) + "ex", false},
	} {
		if err := validDomain(tc.in); (err == nil) != tc.ok {
			t.Errorf("validDomain(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckInvalidDomain(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	c := newChecker(t, testConfig(w))
	before := w.DNS.Queries()
	r := c.Check(context.Background(), Target{Domain: "bücher.example"})
	if got := summary(r.Findings); !slices.Equal(got, []string{"error domain-invalid"}) {
		t.Errorf("findings %q", got)
	}
	if !strings.Contains(r.Findings[0].Message, "A-label") {
		t.Errorf("message %q does not point to the A-label", r.Findings[0].Message)
	}
	if w.DNS.Queries() != before {
		t.Error("an invalid domain was looked up")
	}
}

func TestCheckAllOrderAndProgress(t *testing.T) {
	w := checktest.NewWorld(t, testNow)
	cfg := testConfig(w)
	cfg.Concurrency = 3
	c := newChecker(t, cfg)
	var targets []Target
	for i := range 10 {
		name := "d" + string(rune('a'+i)) + ".test"
		d, p := healthyDomain(t, name, "enforce")
		if i%2 == 1 {
			d.TLSRPT = ""
		}
		w.Serve(t, d)
		targets = append(targets, testTarget(t, name, p))
	}
	var mu sync.Mutex
	var dones []int
	res := c.CheckAll(context.Background(), targets, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total != 10 {
			t.Errorf("total %d", total)
		}
		dones = append(dones, done)
	})
	for i, r := range res {
		if r.Domain != targets[i].Domain {
			t.Errorf("result %d is for %s, want %s", i, r.Domain, targets[i].Domain)
		}
		if got := r.Has(health.CodeTLSRPTRecordMissing); got != (i%2 == 1) {
			t.Errorf("%s: tlsrpt-record-missing %v", r.Domain, got)
		}
	}
	if !slices.Equal(dones, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("progress %v", dones)
	}
}

func TestTargetsFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`organization: Acme
region: eu-west-1
domains:
  - name: example.com
    dns: {external: true}
    policy: {mode: enforce, mx: [mx.example.com]}
  - name: example.org
    dns: {external: true}
    policy: {mx: ["*.example.org"]}
reporting: {https: true, mailto: tlsrpt@example.com}
`), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		https string
		want  []string
	}{
		{"", []string{"mailto:tlsrpt@example.com"}},
		{"https://abc.execute-api.eu-west-1.amazonaws.com/report", []string{"https://abc.execute-api.eu-west-1.amazonaws.com/report", "mailto:tlsrpt@example.com"}},
	} {
		ts := TargetsFromConfig(cfg, tc.https)
		if len(ts) != 2 || ts[0].Domain != "example.com" || ts[1].Domain != "example.org" {
			t.Fatalf("targets %+v", ts)
		}
		if ts[0].Policy == nil || ts[0].Policy.String() != cfg.Domains[0].Policy.String() || ts[1].Policy.String() != cfg.Domains[1].Policy.String() {
			t.Errorf("policies not the configured ones")
		}
		var rua []string
		for _, u := range ts[1].RUA {
			rua = append(rua, u.String())
		}
		if !slices.Equal(rua, tc.want) {
			t.Errorf("https %q: rua %q, want %q", tc.https, rua, tc.want)
		}
	}
}
