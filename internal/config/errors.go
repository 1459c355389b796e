package config

import (
	"errors"
	"strconv"
	"strings"
)

// Classes of configuration errors. Every *Error unwraps to one of them (and,
// where there is one, to the underlying cause, for example an mtasts or
// tlsrpt sentinel error), so callers can use errors.Is.
var (
	// ErrTooLarge: the file exceeds MaxFileSize, or a list exceeds its cap.
	ErrTooLarge = errors.New("too large")
	// ErrSyntax: the file is not a single well-formed YAML document.
	ErrSyntax = errors.New("YAML syntax error")
	// ErrInvalid: a field is missing, unknown, of the wrong type or has a
	// value that is not allowed.
	ErrInvalid = errors.New("invalid configuration")
)

// Error is one problem in an organisation file. Error() formats it as
// FILE:LINE: FIELD: MSG; parts that are unknown (Line 0, empty Field or
// File) are left out. Parse and Load return one *Error or several joined
// with errors.Join, in line order.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem concerns the whole file
	Field string // path such as domains[2].policy.max_age; "" for the file
	Msg   string
	// Err is the underlying cause, if any (an mtasts or tlsrpt sentinel
	// wrapped with detail, an I/O error).
	Err error

	class error
}

func (e *Error) Error() string {
	return location(e.File, e.Line, e.Field) + e.Msg
}

// Unwrap returns the error's class (ErrInvalid, ErrSyntax, ErrTooLarge) and
// its cause, those that are set.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.class != nil {
		errs = append(errs, e.class)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Warning is something in an organisation file that is allowed but probably
// not meant, such as a policy's mtasts warnings (Policy.Problems). String()
// has the same form as Error.Error().
type Warning struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (w Warning) String() string {
	return location(w.File, w.Line, w.Field) + w.Msg
}

// location formats "FILE:LINE: FIELD: ", leaving out what is unknown.
func location(file string, line int, field string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		if file != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if field != "" {
		b.WriteString(field)
		b.WriteString(": ")
	}
	return b.String()
}
