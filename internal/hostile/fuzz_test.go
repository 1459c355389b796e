package hostile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseCase: any file parses or is refused with an error naming it;
// a parsed case has an expected status and a request line, and its wire
// form starts with that line.
func FuzzParseCase(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.http"))
	for _, name := range files[:min(len(files), 20)] {
		if b, err := os.ReadFile(name); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte("# expect: 400\nGET / HTTP/1.1\n"))
	f.Add([]byte("# expect: 201\n# stores: yes\n# body: quoted\nPOST / HTTP/1.1\n\n\"\\x00\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCase("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if c.Expect < 100 || c.Expect > 599 || c.Method == "" || c.Target == "" || c.Proto == "" {
			t.Fatalf("parsed %+v", c)
		}
		head, _ := c.Wire()
		if !strings.HasPrefix(string(head), c.Method+" "+c.Target+" "+c.Proto+"\r\n") {
			t.Fatalf("wire form %q", head)
		}
	})
}
