package stacks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

var update = flag.Bool("update", false, "rewrite the template snapshots in testdata/")

// The organisation files the tests synthesize: the repository's example
// (also the snapshot) and one for what the example leaves out.
const (
	exampleConfig = "../../ststack.example.yaml"
	probeConfig   = "testdata/probe.yaml"
)

// fixtures is shared by every test of the binary: each organisation is
// synthesized once (a synth costs seconds).
var fixtures struct {
	once sync.Once
	dir  string // placeholder bootstraps and staging directories
	err  error

	mu    sync.Mutex
	synth map[string]*synthesized
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	jsii.Close()
	os.Exit(code)
}

// fixtureDir returns a directory holding lambda/<fn>/bootstrap
// placeholders: the tests do not need the real binaries, and the snapshot
// normalises asset hashes anyway.
func fixtureDir(t *testing.T) string {
	t.Helper()
	fixtures.once.Do(func() {
		dir, err := os.MkdirTemp("", "ststack-infra-test-")
		if err != nil {
			fixtures.err = err
			return
		}
		fixtures.dir = dir
		for _, fn := range []string{fnPolicy, fnTLSRPT, fnChecker, fnMailin, fnReconciler} {
			if err := os.MkdirAll(filepath.Join(dir, "lambda", fn), 0o755); err != nil {
				fixtures.err = err
				return
			}
			if err := os.WriteFile(filepath.Join(dir, "lambda", fn, "bootstrap"), []byte("placeholder "+fn+"\n"), 0o755); err != nil {
				fixtures.err = err
				return
			}
		}
	})
	if fixtures.err != nil {
		t.Fatal(fixtures.err)
	}
	return fixtures.dir
}

// synthesized is one organisation's app, synthesized.
type synthesized struct {
	d          *Deployment
	edge, main assertions.Template
	edgeJSON   map[string]any
	mainJSON   map[string]any
	shardJSON  map[int]map[string]any // the edge stack's nested stacks, by shard
}

// templates are every template of the deployment (main, edge, shards),
// by the stack's construct path.
func (s *synthesized) templates() map[string]map[string]any {
	out := map[string]map[string]any{*s.d.Main.Node().Path(): s.mainJSON, *s.d.Edge.Node().Path(): s.edgeJSON}
	for n, ns := range s.d.Shards {
		out[*ns.Node().Path()] = s.shardJSON[n]
	}
	return out
}

// shardOf returns the template of the shard holding domain.
func (s *synthesized) shardOf(t *testing.T, domain string) map[string]any {
	t.Helper()
	tmpl, ok := s.shardJSON[config.DomainShard(domain)]
	if !ok {
		t.Fatalf("no shard for %s", domain)
	}
	return tmpl
}

// synth builds (once per organisation file) and synthesizes the app.
func synth(t *testing.T, configPath string) *synthesized {
	t.Helper()
	dir := fixtureDir(t)
	fixtures.mu.Lock()
	defer fixtures.mu.Unlock()
	if s, ok := fixtures.synth[configPath]; ok {
		return s
	}
	staging, err := os.MkdirTemp(dir, "staging-")
	if err != nil {
		t.Fatal(err)
	}
	var s *synthesized
	noPanic(t, func() {
		app := awscdk.NewApp(nil)
		d, err := New(app, Options{ConfigPath: configPath, LambdaDir: filepath.Join(dir, "lambda"), StagingDir: staging})
		if err != nil {
			t.Fatalf("New(%s): %v", configPath, err)
		}
		s = &synthesized{d: d, shardJSON: map[int]map[string]any{}}
		s.edge = assertions.Template_FromStack(d.Edge, nil)
		s.main = assertions.Template_FromStack(d.Main, nil)
		s.edgeJSON = toMap(t, s.edge.ToJSON())
		s.mainJSON = toMap(t, s.main.ToJSON())
		// The shards' templates from the assembly's files (the
		// assertions library does not find every nested stack's
		// artifact).
		dir := *app.Synth(nil).Directory()
		for n, ns := range d.Shards {
			b, err := os.ReadFile(filepath.Join(dir, *ns.TemplateFile()))
			if err != nil {
				t.Fatal(err)
			}
			var tmpl map[string]any
			if err := json.Unmarshal(b, &tmpl); err != nil {
				t.Fatal(err)
			}
			s.shardJSON[n] = tmpl
		}
	})
	if fixtures.synth == nil {
		fixtures.synth = map[string]*synthesized{}
	}
	fixtures.synth[configPath] = s
	return s
}

// noPanic runs f and turns a panic (jsii's way of failing an assertion or
// refusing a construct) into a test failure.
func noPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%v", r)
		}
	}()
	f()
}

// toMap re-decodes a jsii value as plain JSON values.
func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// resolved is v as it appears in the stack's template, as plain JSON.
func resolved(t *testing.T, stack awscdk.Stack, v any) any {
	t.Helper()
	b, err := json.Marshal(stack.Resolve(v))
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// logicalID is the logical id of a construct's CloudFormation resource:
// its default child's, or that one's default child's, and so on.
func logicalID(t *testing.T, c constructs.IConstruct) string {
	t.Helper()
	var el awscdk.CfnElement
	for n := c; n != nil && el == nil; n = n.Node().DefaultChild() {
		el, _ = n.(awscdk.CfnElement)
	}
	if el == nil {
		t.Fatalf("%s has no CloudFormation resource", *c.Node().Path())
	}
	id, ok := resolved(t, awscdk.Stack_Of(c), awscdk.Stack_Of(c).GetLogicalId(el)).(string)
	if !ok {
		t.Fatalf("%s: logical id is not a string", *c.Node().Path())
	}
	return id
}

// resources returns the template's resources of one type, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	all, _ := tmpl["Resources"].(map[string]any)
	for id, r := range all {
		res, _ := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// resource returns one resource by logical id, failing the test if absent.
func resource(t *testing.T, tmpl map[string]any, id string) map[string]any {
	t.Helper()
	all, _ := tmpl["Resources"].(map[string]any)
	r, ok := all[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s in the template", id)
	}
	return r
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// jsonEqual compares two values by their JSON encoding.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func str(v any) string { return fmt.Sprint(v) }
