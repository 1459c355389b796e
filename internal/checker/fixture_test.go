package checker

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/checker/checktest"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// testNow is the fixed clock of every test world.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testRUA = "mailto:tlsrpt@reports.example"

// testConfig points a checker at w.
func testConfig(w *checktest.World) Config {
	return Config{
		Resolver:  w.DNS.Addr,
		RootCAs:   w.CA.Pool,
		HTTPSPort: w.HTTPS.Port,
		SMTPPort:  w.SMTP.Port,
		Timeout:   3 * time.Second,
		Now:       func() time.Time { return w.Now },
	}
}

func newChecker(t testing.TB, cfg Config) *Checker {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// healthyDomain returns name as ststack deploys it: MX hosts mx1.<name> and
// b1.backup.<name>, policy patterns mx1.<name> and *.backup.<name>.
func healthyDomain(t testing.TB, name string, mode mtasts.Mode) (checktest.Domain, mtasts.Policy) {
	t.Helper()
	p := mustPolicy(t, "version: STSv1\nmode: "+string(mode)+"\nmx: mx1."+name+"\nmx: *.backup."+name+"\nmax_age: 604800\n")
	return checktest.Domain{
		Name:   name,
		Policy: p.String(),
		ID:     p.ID(),
		MX:     []string{"mx1." + name, "b1.backup." + name},
		TLSRPT: "v=TLSRPTv1; rua=" + testRUA,
	}, p
}

func mustPolicy(t testing.TB, s string) mtasts.Policy {
	t.Helper()
	p, err := mtasts.ParsePolicy([]byte(s))
	if err != nil {
		t.Fatalf("policy %q: %v", s, err)
	}
	return p
}

func testTarget(t testing.TB, name string, p mtasts.Policy) Target {
	t.Helper()
	rua, err := tlsrpt.ParseRUA(testRUA)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Domain: name, Policy: &p, RUA: []tlsrpt.RUA{rua}}
}

// summary renders findings as sorted "severity code subject" lines.
func summary(fs []health.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = strings.TrimSpace(f.Severity.String() + " " + string(f.Code) + " " + f.Subject)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

// checkFindings fails t unless every finding is one-line and complete.
func checkFindings(t *testing.T, fs []health.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Message == "" || strings.ContainsAny(f.Message, "\r\n") || strings.ContainsAny(f.Remedy, "\r\n") {
			t.Errorf("finding %s: message %q / remedy %q: want one non-empty line", f.Code, f.Message, f.Remedy)
		}
		if f.Severity != health.SeverityInfo && f.Remedy == "" {
			t.Errorf("finding %s (%s) has no remedy", f.Code, f.Severity)
		}
	}
}

// httpHandlerFunc is a handler that runs f and then answers 500.
type httpHandlerFunc func()

func (f httpHandlerFunc) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f()
	w.WriteHeader(http.StatusInternalServerError)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
