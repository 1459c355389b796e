package stacks

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodePrelude sends console.log (the handlers' logging) to standard error
// and gives drivers print(value), which writes value as JSON to standard
// output.
const nodePrelude = `const __stdout = process.stdout.write.bind(process.stdout);
console.log = (...a) => process.stderr.write(require('util').format(...a) + '\n');
const print = (v) => __stdout(JSON.stringify(v));
`

// runNode runs script with Node.js (which the CDK needs anyway) in dir and
// decodes what it prints with print() as JSON into out. The inline code of
// the stacks' functions runs this way against stubbed AWS SDK modules:
// nothing leaves the machine.
func runNode(t *testing.T, dir, script string, out any) {
	t.Helper()
	path := filepath.Join(dir, "driver.js")
	if err := os.WriteFile(path, []byte(nodePrelude+script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", path)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", path, err, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node %s printed %q: %v", path, b, err)
	}
}

// writeModule writes a stub of the npm module name into dir/node_modules.
func writeModule(t *testing.T, dir, name, code string) {
	t.Helper()
	mod := filepath.Join(dir, "node_modules", filepath.FromSlash(name))
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "index.js"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
}

// inlineCode is the ZipFile code of a function resource of the template.
func inlineCode(t *testing.T, tmpl map[string]any, fnID string) string {
	t.Helper()
	code, _ := props(resource(t, tmpl, fnID))["Code"].(map[string]any)
	src, ok := code["ZipFile"].(string)
	if !ok {
		t.Fatalf("%s: no inline code (%v)", fnID, code)
	}
	return src
}

// serviceTokenFunction is the logical id of the function behind a custom
// resource (its ServiceToken is that function's ARN).
func serviceTokenFunction(t *testing.T, r map[string]any) string {
	t.Helper()
	tok, _ := props(r)["ServiceToken"].(map[string]any)["Fn::GetAtt"].([]any)
	if len(tok) != 2 || tok[1] != "Arn" {
		t.Fatalf("ServiceToken %v: not a function's ARN", props(r)["ServiceToken"])
	}
	return str(tok[0])
}
