package layercheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ststack/ststack"

// layers are the layers, bottom first: package patterns relative to the
// module root; "x/..." is x and every package below it.
var layers = []struct {
	name string
	pkgs []string
}{
	{"support", []string{"internal/awstest", "internal/lambdatest/...", "internal/checker/checktest", "bench/corpus", "internal/hostile", "internal/metrics/emftest"}},
	{"model", []string{"internal/dnsname", "internal/dnsresolve", "internal/mtasts", "internal/tlsrpt", "internal/config", "internal/health"}},
	{"store", []string{"internal/store/..."}},
	{"engine", []string{"internal/ingest", "internal/checker", "internal/dashboard", "internal/mailin",
		"internal/policyhost", "internal/notify", "internal/sample", "internal/stress",
		"internal/lambdaenv", "internal/awsenv", "internal/reconcile", "internal/triage", "internal/metrics/...", "internal/rollout",
		"internal/mxhealth"}},
	{"wiring", []string{"cmd/...", "functions/...", "bench", "bench/cmd/...", "tools/..."}},
}

// layerOf returns the index in layers of package path (relative to the
// module root), -1 when no layer holds it. The most specific pattern wins,
// so that a package below a "/..." pattern can sit in a lower layer.
func layerOf(path string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l.pkgs {
			base, tree := strings.CutSuffix(p, "/...")
			if path == base || tree && strings.HasPrefix(path, base+"/") {
				if len(base) > bestLen {
					best, bestLen = i, len(base)
				}
			}
		}
	}
	return best
}

// pkg is what go list -json says of a package.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
	Deps       []string
}

// list runs go list -deps=false -json over the module's packages.
func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns path relative to the module root, and whether it is in the
// module.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

// violations lists every import of a package above the importer's layer,
// and every package of the module in no layer.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		lf := layerOf(from)
		if lf < 0 {
			out = append(out, fmt.Sprintf("%s is in no layer: place it in layercheck's layers", from))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			if lt := layerOf(to); lt > lf {
				out = append(out, fmt.Sprintf("%s (%s) imports %s (%s), a layer above it", from, layers[lf].name, to, layers[lt].name))
			}
		}
	}
	return out
}

// TestLayers: no package of the module imports one of a layer above its own
// (go list -json ./..., the imports of non-test files).
func TestLayers(t *testing.T) {
	pkgs := list(t, "./...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: not the module root?", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestViolationsFound: the check itself sees an import upwards and a
// package placed nowhere.
func TestViolationsFound(t *testing.T) {
	pkgs := []pkg{
		{ImportPath: module + "/internal/store", Imports: []string{module + "/internal/checker", module + "/internal/tlsrpt", "time"}},
		{ImportPath: module + "/internal/store/awsstore", Imports: []string{module + "/internal/store"}},
		{ImportPath: module + "/internal/checker", Imports: []string{module + "/internal/store", module + "/internal/checker/checktest"}},
		{ImportPath: module + "/internal/mtasts", Imports: []string{module + "/cmd/ststack"}},
		{ImportPath: module + "/internal/newthing"},
		{ImportPath: "example.org/other", Imports: []string{module + "/cmd/ststack"}},
	}
	got := violations(pkgs)
	want := []string{
		"internal/store (store) imports internal/checker (engine), a layer above it",
		"internal/mtasts (model) imports cmd/ststack (wiring), a layer above it",
		"internal/newthing is in no layer: place it in layercheck's layers",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n got %q\nwant %q", got, want)
	}
}

// sdkServices are the AWS SDK service clients each function may link: the
// ones it calls. Credentials come from the environment (package awsenv), so
// no function links the clients config.LoadDefaultConfig needs for other
// credential sources (SSO, STS, sign-in). The policy function calls no AWS
// service and links no part of the AWS SDK.
var sdkServices = map[string][]string{
	"policy":  nil,
	"tlsrpt":  {"dynamodb", "s3"},
	"mailin":  {"dynamodb", "s3"},
	"checker": {"dynamodb", "s3", "sns"},
	// The reconciler of delegated client domains calls CloudFront and keeps
	// its states in the report table (awsstore, which takes an S3 client).
	"reconciler": {"cloudfront", "dynamodb", "s3"},
}

// dnsFunctions may link miekg/dns: the checker, and the reconciler, which
// asks for the first CNAME of a client's policy host (package reconcile).
var dnsFunctions = []string{"checker", "reconciler"}

// TestFunctionDeps: each Lambda function links only what it runs (go list
// -deps of ./functions/X): the checker only in the checker, miekg/dns only
// in dnsFunctions,
// AWS SDK service clients only as listed in sdkServices.
func TestFunctionDeps(t *testing.T) {
	fns := list(t, "./functions/...")
	if len(fns) != len(sdkServices) {
		var names []string
		for _, f := range fns {
			names = append(names, f.ImportPath)
		}
		t.Errorf("functions %v, want one for each of sdkServices (add new ones there)", names)
	}
	for _, fn := range fns {
		name := fn.ImportPath[strings.LastIndex(fn.ImportPath, "/")+1:]
		allowed, known := sdkServices[name]
		if !known {
			t.Errorf("function %s is not in sdkServices", name)
			continue
		}
		for _, bad := range functionViolations(name, allowed, fn.Deps) {
			t.Errorf("functions/%s: %s", name, bad)
		}
	}
}

// functionViolations lists what the function name links that it must not,
// from its dependencies deps.
func functionViolations(name string, allowed, deps []string) []string {
	var out []string
	for _, d := range deps {
		switch {
		case name != "checker" && d == module+"/internal/checker",
			!slices.Contains(dnsFunctions, name) && d == "github.com/miekg/dns":
			out = append(out, "links "+d)
		case strings.HasPrefix(d, "github.com/prometheus/"), d == module+"/internal/metrics/emftest":
			// Prometheus is for ststack serve only (package metrics/prom);
			// the functions log their metrics in EMF.
			out = append(out, "links "+d)
		case d == "github.com/aws/aws-sdk-go-v2/config":
			out = append(out, "links "+d+" (build the SDK configuration with package awsenv)")
		case allowed == nil && strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2"):
			out = append(out, "links "+d+" (no AWS SDK at all)")
		case strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2/service/"):
			svc := strings.SplitN(strings.TrimPrefix(d, "github.com/aws/aws-sdk-go-v2/service/"), "/", 2)[0]
			if svc != "internal" && !slices.Contains(allowed, svc) {
				out = append(out, "links the AWS SDK client "+d)
			}
		}
	}
	return out
}

// TestFunctionViolationsFound: the function check sees what it must.
func TestFunctionViolationsFound(t *testing.T) {
	deps := []string{module + "/internal/checker", "github.com/miekg/dns", "github.com/aws/aws-sdk-go-v2/service/sns",
		"github.com/aws/aws-sdk-go-v2/service/sts", "github.com/aws/aws-sdk-go-v2/service/internal/checksum"}
	if got := functionViolations("tlsrpt", []string{"s3"}, deps); len(got) != 4 {
		t.Errorf("tlsrpt: %q, want the checker, miekg/dns, sns and sts", got)
	}
	if got := functionViolations("tlsrpt", []string{"s3"}, []string{"github.com/prometheus/client_golang/prometheus"}); len(got) != 1 {
		t.Errorf("tlsrpt with the Prometheus client: %q, want it named", got)
	}
	if got := functionViolations("checker", []string{"sns", "sts"}, deps); len(got) != 0 {
		t.Errorf("checker: %q, want none", got)
	}
	if got := functionViolations("checker", []string{"sns", "sts"}, append(deps, "github.com/aws/aws-sdk-go-v2/config")); len(got) != 1 {
		t.Errorf("checker with the SDK's config package: %q, want it named", got)
	}
	if got := functionViolations("policy", nil, deps[3:]); len(got) != 2 {
		t.Errorf("policy: %q, want both SDK packages", got)
	}
}

// heavyImports are standard packages a model package must not import
// because every function that loads the organisation file would link them,
// or run their initialisation, for little use: net/mail's parser of whole
// address headers (display names, RFC 2047 words, groups) is 14 KB of the
// policy bootstrap, which needs only bare addresses checked
// (config.parseAddress); regular expressions compiled at package
// initialisation cost every process 0.9 ms, and their lazy wrappers the
// policy bootstrap its 6.50 MiB (config's syntax checks are written out);
// encoding/base32's encoders are built at initialisation for one 16-byte
// key (config.base32Lower). Measured with go tool nm and
// GODEBUG=inittrace=1; see docs/performance.md.
var heavyImports = map[string][]string{
	"internal/config": {"net/mail", "regexp", "encoding/base32"},
}

// TestHeavyImports: the packages of heavyImports import none of theirs.
func TestHeavyImports(t *testing.T) {
	for path, banned := range heavyImports {
		pkgs := list(t, "./"+path)
		if len(pkgs) != 1 {
			t.Fatalf("go list ./%s: %d packages", path, len(pkgs))
		}
		for _, imp := range pkgs[0].Imports {
			if slices.Contains(banned, imp) {
				t.Errorf("%s imports %s (see heavyImports)", path, imp)
			}
		}
	}
}
