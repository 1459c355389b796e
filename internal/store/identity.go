package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/ststack/ststack/internal/tlsrpt"
)

// Identity and conflicts (docs/reports.md, "Identity and conflicts").
//
// A report's identity (organisation + report-id, tlsrpt.Identity) is
// claimed by whoever sends it first, and anyone can post. So a body whose
// content differs from the one stored first under its identity is not a
// duplicate: it is stored beside it under a variant key, and both are
// marked as conflicting. Content is compared by Digest, a hash of the
// parsed report in its canonical form, so the same report re-sent as gzip
// or JSON, reformatted, or by the other channel, is still a duplicate.

// variantMark separates an identity key from the digest of a variant. An
// identity key never holds it: its only "!" is followed by "!" or a hex
// digit (tlsrpt.Identity.Key).
const variantMark = "!v"

// variantDigestLen is how many hex digits of the digest a variant key
// takes (64 bits: a sender would need 2^32 bodies for one identity to make
// two of its own collide).
const variantDigestLen = 16

// MaxConflicts bounds the keys a record lists in Conflicts. Every further
// conflicting body is still stored, under its variant key, and its facts
// and the first body's are flagged; only the list stops growing, so that
// a sender posting thousands of bodies for one identity cannot grow the
// first record past what a DynamoDB item holds (400 KB) and make the real
// report's save fail.
const MaxConflicts = 20

// Saved says what SaveReport did.
type Saved struct {
	// Created is true when this call completed the storage of the body:
	// a new report, or a new conflicting body of a known identity. False
	// when the same content was already stored (nothing was written).
	Created bool
	// Key is the key the body is stored under: the identity key, or a
	// variant key (VariantKey) when another body holds the identity.
	Key string
	// Conflicts are the keys of the other bodies of the same identity
	// that the store knows of (none when there is no conflict).
	Conflicts []string
}

// Digest is the content identity of a report: the hex SHA-256 of its
// canonical form (tlsrpt.Report.JSON: the parsed report written back in
// RFC 8460 §4.4 form, UTC dates, canonical IPs, lower-case names), so
// that the same report as gzip or JSON, reformatted, has one digest.
func Digest(r *tlsrpt.Report) string {
	js, err := r.JSON()
	if err != nil {
		// JSON of a parsed report cannot fail (strings and numbers only);
		// should it, the report is its own content.
		js = fmt.Appendf(nil, "%#v", r)
	}
	h := sha256.Sum256(js)
	return hex.EncodeToString(h[:])
}

// DigestOfRaw is the Digest of a stored raw body, for records stored
// before the digest was recorded. The body is parsed within
// tlsrpt.DefaultLimits, as it was when it was received.
func DigestOfRaw(raw []byte) (string, error) {
	r, err := tlsrpt.ParseReport(raw, tlsrpt.DefaultLimits())
	if err != nil {
		return "", fmt.Errorf("store: digest of a stored body: %w", err)
	}
	return Digest(r), nil
}

// VariantKey is the key of a body with the given digest that conflicts
// with the body stored first under identity key key: key, "!v" and 16 hex
// digits of the digest. It passes ValidKey (at most 212 bytes).
func VariantKey(key, digest string) string {
	return key + variantMark + digest[:min(len(digest), variantDigestLen)]
}

// IdentityKeyOf returns the identity key of a report key: key itself, or
// the identity key a variant key was made from.
func IdentityKeyOf(key string) string {
	if i := strings.Index(key, variantMark); i >= 0 {
		return key[:i]
	}
	return key
}

// Conflicting reports whether the record is one of several bodies stored
// for one identity.
func (r Receipt) Conflicting() bool { return len(r.Conflicts) > 0 }

// AddConflict adds key to the record's conflicts, once, keeping them
// sorted.
func (r *Receipt) AddConflict(key string) {
	if i, found := slices.BinarySearch(r.Conflicts, key); !found {
		r.Conflicts = slices.Insert(r.Conflicts, i, key)
	}
}

// Variant returns e stored under the variant key of its digest, marked as
// conflicting with the body stored first under its identity key: the
// record lists that key as its conflict, every fact is flagged.
func (e Entry) Variant() Entry {
	base := e.Report.Key
	v := e
	v.Report.Key = VariantKey(base, e.Report.Digest)
	v.Report.Conflicts = []string{base}
	v.Facts = make([]Fact, len(e.Facts))
	for i, f := range e.Facts {
		f.ReportKey = v.Report.Key
		f.Conflict = true
		v.Facts[i] = f
	}
	return v
}
