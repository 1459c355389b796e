package main

import (
	"fmt"
	"strings"
)

// lineDiff returns a unified diff (3 lines of context) of a and b, named
// aName and bName; "" when they are equal. It finds the shortest edit
// script with Myers' algorithm, whose cost grows with the number of
// changed lines, small for the edits of `ststack plan --apply`.
func lineDiff(aName, bName, a, b string) string {
	x, y := splitLines(a), splitLines(b)
	ops := myers(x, y)
	if ops == nil {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	const ctx = 3
	// ops: one per line of the script: ' ', '-', '+', with indexes.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-ctx)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		h := ops[start:end]
		aStart, bStart, aLen, bLen := h[0].ai+1, h[0].bi+1, 0, 0
		for _, o := range h {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		if aLen == 0 {
			aStart--
		}
		if bLen == 0 {
			bStart--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		for _, o := range h {
			line := ""
			if o.kind == '+' {
				line = y[o.bi]
			} else {
				line = x[o.ai]
			}
			out.WriteByte(o.kind)
			out.WriteString(line)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffOp is one line of an edit script: kept (' '), deleted ('-') or
// inserted ('+'); ai and bi are the line's index in a and in b (for a
// deletion bi is where b stands, for an insertion ai where a stands).
type diffOp struct {
	kind   byte
	ai, bi int
}

// myers returns the edit script from x to y; nil when they are equal.
func myers(x, y []string) []diffOp {
	n, m := len(x), len(y)
	maxD := n + m
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	found := false
	for d := 0; d <= maxD && !found; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				i = v[off+k+1]
			} else {
				i = v[off+k-1] + 1
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i, j = i+1, j+1
			}
			v[off+k] = i
			if i >= n && j >= m {
				found = true
				break
			}
		}
	}
	if len(trace) == 1 {
		return nil // no edit: d = 0 reached the end
	}
	// Walk back through the saved frontiers: trace[d] is the frontier
	// before round d.
	var rev []diffOp
	i, j := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		k := i - j
		pk := k - 1
		if k == -d || k != d && v[off+k-1] < v[off+k+1] {
			pk = k + 1
		}
		pi := v[off+pk]
		pj := pi - pk
		for i > pi && j > pj {
			i, j = i-1, j-1
			rev = append(rev, diffOp{' ', i, j})
		}
		if d == 0 {
			break
		}
		if i == pi {
			rev = append(rev, diffOp{'+', i, pj})
		} else {
			rev = append(rev, diffOp{'-', pi, j})
		}
		i, j = pi, pj
	}
	ops := make([]diffOp, len(rev))
	for k, o := range rev {
		ops[len(rev)-1-k] = o
	}
	return ops
}
