package mtasts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Severity says whether a Problem breaks the policy or only deserves a look.
type Severity int

const (
	// SeverityError: the policy violates RFC 8461; senders reject it.
	SeverityError Severity = iota + 1
	// SeverityWarning: the policy is valid but probably not what was meant.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes s as its String form, so that JSON output carries
// "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) {
	if s != SeverityError && s != SeverityWarning {
		return nil, fmt.Errorf("mtasts: unknown severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// Problem is one finding about a policy. Field names the policy field:
// "version", "mode", "max_age", "mx" (the list as a whole), "mx[i]" (the
// i-th pattern, from 0), "extensions[i]", or "policy" (the whole text).
type Problem struct {
	Severity Severity `json:"severity"`
	Field    string   `json:"field"`
	Message  string   `json:"message"`
}

// String returns "SEVERITY: FIELD: MESSAGE".
func (p Problem) String() string {
	return p.Severity.String() + ": " + p.Field + ": " + p.Message
}

// Thresholds for warnings about max_age (RFC 8461 §3.2 recommends "weeks or
// greater").
const (
	day  = 24 * 60 * 60
	week = 7 * day
)

// finding is a Problem with, for errors, the sentinel error it stands for.
type finding struct {
	Problem
	err error
}

// Validate reports every way in which p violates RFC 8461 (the errors of
// Problems), joined with errors.Join; each wraps the sentinel error of its
// class and names the field. It returns nil for a valid policy.
func (p Policy) Validate() error {
	var errs []error
	for _, f := range p.findings(false) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", f.err, f.Field, f.Message))
	}
	return errors.Join(errs...)
}

// Problems returns the errors that Validate reports and warnings about legal
// but doubtful choices: a max_age under a day, or under a week in enforce
// mode; mode testing or none; duplicate mx patterns; a wildcard directly
// under a top-level domain. They come in field order: version, mode,
// max_age, mx, extensions, policy.
func (p Policy) Problems() []Problem {
	fs := p.findings(true)
	if len(fs) == 0 {
		return nil
	}
	ps := make([]Problem, len(fs))
	for i, f := range fs {
		ps[i] = f.Problem
	}
	return ps
}

// findings checks p; warnings are included only when warn is set.
func (p Policy) findings(warn bool) []finding {
	var fs []finding
	fail := func(err error, field, msg string) {
		fs = append(fs, finding{Problem{SeverityError, field, msg}, err})
	}
	note := func(field, msg string) {
		if warn {
			fs = append(fs, finding{Problem: Problem{SeverityWarning, field, msg}})
		}
	}

	// §3.2: version "Currently, only "STSv1" is supported."
	if msg := checkVersion(p.Version); msg != "" {
		fail(ErrPolicyVersion, fieldVersion, msg)
	}

	// §3.2, §5: mode is one of "enforce", "testing" or "none".
	if msg := checkMode(p.Mode); msg != "" {
		fail(ErrPolicyMode, fieldMode, msg)
	}
	switch p.Mode {
	case ModeTesting:
		note(fieldMode, "testing: the policy is not enforced; senders report failures but still deliver without TLS; switch to enforce once reports show no failures")
	case ModeNone:
		note(fieldMode, "none: senders stop applying MTA-STS to this domain; use it only to retire the policy")
	}

	// §3.2: max_age is a non-negative integer, "maximum value of 31557600";
	// "Policy validity time in seconds [...] recommended to be weeks or
	// greater".
	switch {
	case p.MaxAge < 0:
		fail(ErrPolicyMaxAge, fieldMaxAge, fmt.Sprintf("%d is negative", p.MaxAge))
	case p.MaxAge > MaxMaxAge:
		fail(ErrPolicyMaxAge, fieldMaxAge, fmt.Sprintf("%d exceeds the maximum of %d (one year)", p.MaxAge, MaxMaxAge))
	case p.MaxAge < day:
		note(fieldMaxAge, fmt.Sprintf("%d seconds is under one day; RFC 8461 §3.2 recommends weeks or more", p.MaxAge))
	case p.MaxAge < week && p.Mode == ModeEnforce:
		note(fieldMaxAge, fmt.Sprintf("%d seconds is under one week; an enforced policy protects only while cached, RFC 8461 §3.2 recommends weeks or more", p.MaxAge))
	}

	// §3.2: at least one mx unless mode is none; each an A-label name
	// with an optional "*." wildcard as the whole left-most label.
	if msg := checkMXPresent(p); msg != "" {
		fail(ErrPolicyMX, fieldMX, msg)
	}
	seen := map[string]int{} // normalised pattern → first index
	for i, m := range p.MX {
		field := fieldMX + "[" + strconv.Itoa(i) + "]"
		if msg := checkDomain(m.Domain, m.Wildcard); msg != "" {
			fail(ErrPolicyMX, field, fmt.Sprintf("%q: %s", m.Domain, msg))
			continue
		}
		if !warn {
			continue
		}
		s := m.String()
		if j, dup := seen[s]; dup {
			note(field, fmt.Sprintf("%q duplicates mx[%d]", s, j))
		} else {
			seen[s] = i
		}
		if m.Wildcard && !strings.Contains(s[2:], ".") {
			note(field, fmt.Sprintf("%q matches every host directly under the top-level domain %q; was a longer domain meant?", s, s[2:]))
		}
	}

	// §3.2 sts-policy-extension; the names of the defined fields cannot be
	// extensions.
	for i, e := range p.Extensions {
		if msg := checkPolicyExtension(e.Key, e.Value); msg != "" {
			fail(ErrPolicySyntax, "extensions["+strconv.Itoa(i)+"]", fmt.Sprintf("%q: %s", e.Key, msg))
		}
	}

	if msg := checkWireLen(p); msg != "" {
		fail(ErrPolicyTooLarge, "policy", msg)
	}
	return fs
}
