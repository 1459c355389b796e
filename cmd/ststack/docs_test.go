package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The commands the documentation shows must work as shown: a reader pastes
// them. This test extracts every `ststack …` and `make …` command from the
// README, docs/, infra/README.md and the example organisation file (inline
// code, code blocks and the example's comments), and checks each one.

// repoRootDir is the repository root, seen from this package.
const repoRootDir = "../.."

// documents are the files whose commands are checked, relative to the root.
func documents(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repoRootDir, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md", "infra/README.md", "ststack.example.yaml"}
	for _, d := range docs {
		rel, err := filepath.Rel(repoRootDir, d)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

// shownCommand is one command found in a document.
type shownCommand struct {
	file string
	line int
	text string // as written, e.g. "ststack check [--config FILE] DOMAIN…"
}

var (
	inlineCode = regexp.MustCompile("`([^`]+)`")
	// commandStart finds a command at the start of a code line, after an
	// optional shell prompt; commentCommand one set off in a comment as a
	// code block is in Markdown: indented by two spaces or more.
	commandStart   = regexp.MustCompile(`^\s*(?:\$\s+)?((?:ststack|make) \S.*)$`)
	commentCommand = regexp.MustCompile(`^\s*#\s{2,}(?:\$\s+)?((?:ststack|make) \S.*)$`)
)

// extractCommands returns the `ststack VERB…` and `make TARGET…` commands of
// one document. In code blocks and in comment lines a command runs to the end
// of the line (less a trailing shell comment); elsewhere only inline code
// spans count.
func extractCommands(file, content string) []shownCommand {
	var out []shownCommand
	inBlock := false
	isYAML := strings.HasSuffix(file, ".yaml")
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		var found []string
		start := commandStart
		if isYAML {
			start = commentCommand
		}
		if inBlock || isYAML {
			if m := start.FindStringSubmatch(line); m != nil {
				text := m[1]
				if i := strings.Index(text, " #"); i >= 0 {
					text = text[:i]
				}
				found = append(found, text)
			}
		}
		if !inBlock {
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				found = append(found, m[1])
			}
		}
		for _, text := range found {
			text = strings.TrimSpace(text)
			if isCommand(text) {
				out = append(out, shownCommand{file: file, line: n, text: text})
			}
		}
	}
	return out
}

var commandWord = regexp.MustCompile(`^(?:ststack|make) [a-z][a-z0-9-]*(?:\s|$)`)

// isCommand reports whether text is a command rather than prose that starts
// with the product's name ("ststack ÷ baseline").
func isCommand(text string) bool { return commandWord.MatchString(text) }

// synopsisWords turns a shown command into the words a shell would pass,
// with synopsis notation removed: brackets and parentheses of optional and
// alternative parts, "|" between alternatives, the "\|" of Markdown tables.
func synopsisWords(text string) []string {
	text = strings.ReplaceAll(text, `\|`, "|")
	var words []string
	var cur strings.Builder
	quote := rune(0)
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
				continue
			}
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote = r
		case r == ' ' || r == '\t':
			flush()
		case r == '[' || r == ']' || r == '(' || r == ')':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return slices.DeleteFunc(words, func(w string) bool { return w == "|" || w == "…" || w == "..." })
}

// placeholder matches a word that stands for something the reader supplies:
// FILE, DOMAIN…, HOST:PORT, FILE.eml…, TXT.
var placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(?:[.:][A-Za-z0-9_]+)*(?:…|\.\.\.)?$|…$`)

func isPlaceholder(w string) bool { return placeholder.MatchString(w) }

func TestDocumentedCommandsExtracted(t *testing.T) {
	doc := "Run `ststack config validate FILE` first.\n" +
		"| `ststack policy validate FILE\\|-` | x |\n" +
		"```sh\n$ ststack check --config ststack.yaml example.com   # comment\nmake run\n```\n" +
		"`ststack ÷ baseline` is prose.\n"
	got := extractCommands("doc.md", doc)
	want := []string{"ststack config validate FILE", `ststack policy validate FILE\|-`,
		"ststack check --config ststack.yaml example.com", "make run"}
	var texts []string
	for _, c := range got {
		texts = append(texts, c.text)
	}
	if !slices.Equal(texts, want) {
		t.Errorf("extractCommands = %q, want %q", texts, want)
	}
	yaml := "# ststack organisation file: prose\n# Check a file with:\n#   ststack config ststack.yaml\nkey: value # `ststack check --smtp` here\n"
	got = extractCommands("x.yaml", yaml)
	if len(got) != 2 || got[0].text != "ststack config ststack.yaml" || got[0].line != 3 || got[1].text != "ststack check --smtp" {
		t.Errorf("extractCommands(yaml) = %+v", got)
	}
	w := synopsisWords("ststack dashboard --config FILE (--aws [--stack NAME | --bucket NAME] | --data DIR)")
	wantWords := []string{"ststack", "dashboard", "--config", "FILE", "--aws", "--stack", "NAME", "--bucket", "NAME", "--data", "DIR"}
	if !slices.Equal(w, wantWords) {
		t.Errorf("synopsisWords = %q, want %q", w, wantWords)
	}
	for _, p := range []string{"FILE", "DOMAIN…", "FILE.eml…", "HOST:PORT", "TXT"} {
		if !isPlaceholder(p) {
			t.Errorf("isPlaceholder(%q) = false", p)
		}
	}
	for _, p := range []string{"ststack.yaml", "example.com", "--json", "-", "sts|tlsrpt"} {
		if isPlaceholder(p) {
			t.Errorf("isPlaceholder(%q) = true", p)
		}
	}
}

// makeTargets returns the targets the Makefile and the files it includes
// define.
func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	targets := map[string]bool{}
	rule := regexp.MustCompile(`^([a-z][a-zA-Z0-9_ -]*):`)
	for _, f := range []string{"Makefile", "perf.mk", "infra/infra.mk"} {
		b, err := os.ReadFile(filepath.Join(repoRootDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if m := rule.FindStringSubmatch(line); m != nil && !strings.Contains(line, ":=") {
				for _, name := range strings.Fields(m[1]) {
					targets[name] = true
				}
			}
		}
	}
	return targets
}

// TestDocumentedCommands checks every command the documentation shows: a
// `make` target must exist; a `ststack` command must be accepted as written
// (its verb, subcommand and every flag; checked by running it with --help
// appended, which parses everything before it); and a command whose every
// argument is concrete and that only reads files (policy, record, report
// parse, config) is run for real from the repository root, where it must not
// end in a usage error.
func TestDocumentedCommands(t *testing.T) {
	targets := makeTargets(t)
	var all []shownCommand
	for _, f := range documents(t) {
		b, err := os.ReadFile(filepath.Join(repoRootDir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, extractCommands(f, string(b))...)
	}
	if len(all) < 20 {
		t.Fatalf("only %d commands found in the documentation: is the extraction broken?", len(all))
	}
	var runnable []shownCommand
	for _, c := range all {
		words := synopsisWords(c.text)
		where := fmt.Sprintf("%s:%d", c.file, c.line)
		if words[0] == "make" {
			for _, target := range words[1:] {
				if strings.Contains(target, "=") || strings.HasPrefix(target, "-") {
					continue // VAR=value, make's own flags
				}
				if !targets[target] {
					t.Errorf("%s: `%s`: make has no target %q", where, c.text, target)
				}
			}
			continue
		}
		args := append(slices.Clone(words[1:]), "--help")
		code, _, stderr := runCLI(t, "", args...)
		if code != exitOK {
			t.Errorf("%s: `%s` is not accepted as written (exit %d):\n%s", where, c.text, code, firstLines(stderr, 3))
			continue
		}
		if !slices.ContainsFunc(words, isPlaceholder) && readsOnly(words) {
			runnable = append(runnable, c)
		}
	}
	// Run the concrete ones from the root, as a reader would.
	t.Chdir(repoRootDir)
	for _, c := range runnable {
		code, _, stderr := runCLI(t, "", synopsisWords(c.text)[1:]...)
		if code == exitUsage {
			t.Errorf("%s:%d: `%s` ends in a usage error:\n%s", c.file, c.line, c.text, firstLines(stderr, 3))
		}
	}
	t.Logf("%d commands checked, %d of them run", len(all), len(runnable))
}

// readsOnly reports whether a command only reads its arguments and prints:
// safe to run in a test, with no network, store or server. A command named
// without its argument ("`ststack config validate` prints them") is a
// mention, not one to run.
func readsOnly(words []string) bool {
	if len(words) < 4 {
		return false
	}
	switch words[1] + " " + words[2] {
	case "policy validate", "record validate", "report parse", "config validate":
		return true
	}
	return false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
