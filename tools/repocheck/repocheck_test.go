package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// relPath matches a relative path that climbs: one or more "../" and what
// follows them up to a delimiter.
var relPath = regexp.MustCompile(`(?:\.\./)+[^\s"'` + "`" + `)\]>,;]*`)

// inputData are folders whose files are inputs to parsers under attack, not
// paths anything reads: their "../" are traversal attempts the code must refuse.
var inputData = []string{"testdata/hostile/", "testdata/fuzz/"}

// repoRoot is the top of the checkout this test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v (the check needs a git checkout)", err)
	}
	return strings.TrimSpace(string(out))
}

// tracked lists the files git tracks, plus the untracked ones it does not
// ignore, so a new file is checked before it is committed.
func tracked(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}

// escapes reports whether ref, written in a file of folder dir (relative to
// the root), names a path above the root.
func escapes(dir, ref string) bool {
	p := path.Join(dir, ref)
	return p == ".." || strings.HasPrefix(p, "../")
}

// outsideRefs returns each reference in content, written in a file of folder
// dir, that leads above the repository root.
func outsideRefs(dir string, content []byte) []string {
	var bad []string
	for _, line := range bytes.Split(content, []byte("\n")) {
		for _, m := range relPath.FindAll(line, -1) {
			if escapes(dir, string(m)) {
				bad = append(bad, string(m))
			}
		}
	}
	return bad
}

func TestNoPathAboveRoot(t *testing.T) {
	root := repoRoot(t)
	files := tracked(t, root)
	if len(files) < 50 {
		t.Fatalf("only %d files listed: not the ststack checkout?", len(files))
	}
	checked := 0
outer:
	for _, f := range files {
		for _, d := range inputData {
			if strings.HasPrefix(f, d) || strings.Contains(f, "/"+d) {
				continue outer
			}
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue // binary
		}
		checked++
		for _, ref := range outsideRefs(path.Dir(f), b) {
			t.Errorf("%s refers to %q, above the repository root: the repository must stand alone (copy what it needs into it)", f, ref)
		}
	}
	t.Logf("%d files checked", checked)
}

func TestOutsideRefs(t *testing.T) {
	for _, c := range []struct {
		dir, text string
		bad       bool
	}{
		// Written in two pieces, so this file does not itself climb out.
		{"internal/tlsrpt", `const samplesDir = "../../.` + `./shared/testdata/tlsrpt"`, true},
		{"internal/tlsrpt", `const samplesDir = "../../testdata/tlsrpt"`, false},
		{"bench", `"../.` + `./shared/x"`, true},
		{"bench", `"../testdata"`, false},
		{".", "see ../" + "shared/DESIGN.md", true},
		{"docs", "[config](../README.md)", false},
		{"infra", "replace github.com/ststack/ststack => ../", false},
		{"infra", "replace github.com/ststack/ststack => ../../", true},
		{".", "no path here", false},
	} {
		got := len(outsideRefs(c.dir, []byte(c.text))) > 0
		if got != c.bad {
			t.Errorf("outsideRefs(%q, %q) found a reference above the root: %v, want %v", c.dir, c.text, got, c.bad)
		}
	}
}
