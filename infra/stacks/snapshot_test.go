package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// assetHash matches the content hashes of assets (S3 keys, asset paths):
// they change with the bootstrap binaries, which the snapshot must not.
var assetHash = regexp.MustCompile(`\b[0-9a-f]{64}\b`)

// normalise is the template as reviewed: indented JSON, asset hashes
// replaced.
func normalise(t *testing.T, tmpl map[string]any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(tmpl, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(assetHash.ReplaceAll(b, []byte("<asset-hash>")), '\n')
}

// TestSnapshot compares the example organisation's templates with the
// reviewed ones in testdata/. After a deliberate change, rerun with
// -update and review the diff.
func TestSnapshot(t *testing.T) {
	s := synth(t, exampleConfig)
	tmpls := map[string]map[string]any{
		*s.d.Edge.StackName(): s.edgeJSON,
		*s.d.Main.StackName(): s.mainJSON,
	}
	for n, tmpl := range s.shardJSON {
		tmpls[fmt.Sprintf("%s-shard%03d", *s.d.Edge.StackName(), n)] = tmpl
	}
	for name, tmpl := range tmpls {
		path := filepath.Join("testdata", name+".template.json")
		got := normalise(t, tmpl)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSnapshot -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the synthesized template; review the change, then go test -run TestSnapshot -update\n%s",
				path, firstDiff(want, got))
		}
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b []byte) string {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y []byte
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if !bytes.Equal(x, y) {
			return "line " + strconv.Itoa(i+1) + ":\n  snapshot: " + string(x) + "\n  template: " + string(y)
		}
	}
	return ""
}
