// Package dnsname owns domain names: one parser, one form. A Name is parsed
// once from what a person or a peer wrote (A-labels or U-labels, any case,
// one optional trailing dot) and is from then on lower-case A-labels without
// the trailing dot, its String the wire form every RFC of the project writes
// (RFC 8461 §3.2 and RFC 8460 §3: names in A-labels).
package dnsname

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// ErrInvalid is returned (wrapped) for a string that is not a domain name.
var ErrInvalid = errors.New("dnsname: invalid domain name")

// MaxLen is the longest name in presentation form without the trailing dot
// (RFC 1035 §2.3.4: 255 octets on the wire).
const MaxLen = 253

// profile converts U-labels to A-labels: UTS #46 lookup mapping (lower case,
// width folding), letters, digits and hyphens only, the Bidi rule (RFC 5893),
// and DNS lengths (labels of 1 to 63 octets, at most 253 in all).
var profile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

// Name is a domain name in lower-case A-labels without the trailing dot.
// The zero Name is the empty name (the root), which Parse never returns.
type Name struct{ s string }

// Parse parses s: A-labels or U-labels (RFC 5890), any case, one optional
// trailing dot. The input is bounded before conversion.
func Parse(s string) (Name, error) {
	s = strings.TrimSuffix(s, ".")
	switch {
	case s == "":
		return Name{}, fmt.Errorf("%w: empty", ErrInvalid)
	case len(s) > 4*MaxLen: // a U-label is at most 4 bytes per code point
		return Name{}, fmt.Errorf("%w: %d bytes", ErrInvalid, len(s))
	}
	a, err := profile.ToASCII(s)
	if err != nil {
		return Name{}, fmt.Errorf("%w: %q: %v", ErrInvalid, s, err)
	}
	// The A-labels must be valid themselves: some U-labels convert to an
	// "xn--" label whose Punycode decodes to a label the profile refuses
	// (found by FuzzParse), and a Name must parse again to itself.
	if again, err := profile.ToASCII(a); err != nil || again != a {
		return Name{}, fmt.Errorf("%w: %q: its A-label form %q is not valid", ErrInvalid, s, a)
	}
	return Name{a}, nil
}

// MustParse is Parse for names known to be valid (tests, constants); it
// panics on an invalid one.
func MustParse(s string) Name {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

// String returns the wire form: lower-case A-labels, no trailing dot.
func (n Name) String() string { return n.s }

// IsZero reports whether n is the zero Name.
func (n Name) IsZero() bool { return n.s == "" }

// Labels returns the number of labels of n (0 for the zero Name).
func (n Name) Labels() int {
	if n.s == "" {
		return 0
	}
	return strings.Count(n.s, ".") + 1
}
