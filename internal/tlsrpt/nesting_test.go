package tlsrpt

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// nestedMessage returns a report e-mail attached levels times, each level a
// multipart/mixed whose message/rfc822 part holds the next (as forwarding
// an e-mail as an attachment does), the innermost a multipart/report with
// a text part of padding bytes before the gzip report. cte is the
// Content-Transfer-Encoding of every attached message ("" or "7bit", or
// "base64").
func nestedMessage(t testing.TB, levels, padding int, cte string) []byte {
	t.Helper()
	gz := gzipBytes(t, []byte(baseReport))
	pad := "Content-Type: text/plain\n\n" + strings.Repeat(strings.Repeat("x", 75)+"\n", padding/76)
	msg := crlf(multipartReport(pad,
		"Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n"+b64(gz)))
	for i := range levels {
		var b bytes.Buffer
		b.Write(crlf(mailHeader + fmt.Sprintf("Content-Type: multipart/mixed; boundary=L%d\n\n--L%d\n", i, i) + textPart +
			fmt.Sprintf("\n--L%d\nContent-Type: message/rfc822\n", i)))
		if cte != "" {
			b.WriteString("Content-Transfer-Encoding: " + cte + "\r\n")
		}
		b.WriteString("\r\n")
		if cte == "base64" {
			b.WriteString(b64(msg))
		} else {
			b.Write(msg)
		}
		b.WriteString(fmt.Sprintf("\r\n--L%d--\r\n", i))
		msg = b.Bytes()
	}
	return msg
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestExtractNestedStreams: attached messages are read as streams, not
// copied level by level (issue 14 §5: each level copied its whole body and
// the outer copies stayed live, 839 MB for a 39.8 MB mail of 15 levels).
// Extracting the report from 3 levels around 8 MiB of padding allocates a
// small part of the padding, whatever the transfer encoding.
func TestExtractNestedStreams(t *testing.T) {
	const padding = 8 << 20
	gz := gzipBytes(t, []byte(baseReport))
	for _, cte := range []string{"", "base64"} {
		msg := nestedMessage(t, 3, padding, cte)
		var (
			got []byte
			err error
		)
		n := allocated(func() { got, err = ExtractFromMessage(msg, Limits{}) })
		if err != nil || !bytes.Equal(got, gz) {
			t.Fatalf("cte %q: ExtractFromMessage = %d bytes, %v; want the report", cte, len(got), err)
		}
		if n > padding/4 {
			t.Errorf("cte %q: %d bytes allocated for a %d-byte message, want less than %d", cte, n, len(msg), padding/4)
		}
	}
}

// TestExtractNestingBounds: MIME nesting (multiparts and attached
// messages together) is bounded by MaxMIMEDepth whatever Limits.MaxDepth
// allows JSON, and the bytes decoded in one message, all levels counted,
// by MaxDecoded (issue 14 §5).
func TestExtractNestingBounds(t *testing.T) {
	gz := gzipBytes(t, []byte(baseReport))
	// Each attached level adds 2 to the depth (its multipart/mixed and the
	// message/rfc822 part); the innermost multipart/report adds 1 and its
	// parts 1.
	deepest := (MaxMIMEDepth - 2) / 2
	tests := []struct {
		name   string
		msg    []byte
		lim    Limits
		err    error
		reason string
	}{
		{"deepest allowed", nestedMessage(t, deepest, 100, ""), Limits{}, nil, ""},
		{"deepest allowed, base64", nestedMessage(t, deepest, 100, "base64"), Limits{}, nil, ""},
		{"one level deeper", nestedMessage(t, deepest+1, 100, ""), Limits{}, ErrTooDeep,
			fmt.Sprintf("nested more than %d deep", MaxMIMEDepth)},
		{"the issue's 15 levels", nestedMessage(t, 15, 100, ""), Limits{MaxDepth: 64}, ErrTooDeep,
			fmt.Sprintf("nested more than %d deep", MaxMIMEDepth)},
		{"decoded bytes within the bound", nestedMessage(t, 1, 200<<10, ""), Limits{MaxDecompressed: 1}, nil, ""},
		// 3 levels around 800 KiB: each byte is decoded 3 times, 2.4 MiB
		// with a bound of 2 MiB.
		{"decoded bytes beyond the bound", nestedMessage(t, 3, 800<<10, ""), Limits{MaxDecompressed: 1}, ErrTooLarge,
			"more than 2097152 bytes decoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExtractFromMessage(tc.msg, tc.lim)
			if tc.err == nil {
				if err != nil || !bytes.Equal(got, gz) {
					t.Fatalf("ExtractFromMessage = %d bytes, %v; want the report", len(got), err)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("ExtractFromMessage = %v; want %v saying %q", err, tc.err, tc.reason)
			}
		})
	}
	if got := maxDecoded(Limits{MaxDecompressed: 1}.withDefaults()); got != 2<<20 {
		t.Errorf("maxDecoded = %d, the test above assumes 2097152", got)
	}
}

// BenchmarkExtractNested: a 40 MB report e-mail (SES's largest) attached
// 3 levels deep, the deepest MaxMIMEDepth allows; B/op is the memory it
// takes beyond the message itself (issue 14 §5: 839 MB for 15 levels).
func BenchmarkExtractNested(b *testing.B) {
	msg := nestedMessage(b, (MaxMIMEDepth-2)/2, 40<<20, "")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ExtractFromMessage(msg, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
