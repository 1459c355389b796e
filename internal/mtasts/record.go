package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// maxRecordLen bounds the TXT record text ParseRecord reads: no DNS TXT
// record can be longer (RDATA is at most 65535 bytes).
const maxRecordLen = 65535

// maxIDLen is the longest record id (RFC 8461 §3.1: 1*32(ALPHA / DIGIT)).
const maxIDLen = 32

// recordPrefix begins every MTA-STS TXT record (RFC 8461 §3.1 sts-version,
// case-sensitive).
const recordPrefix = "v=" + Version

// Record is the MTA-STS TXT record published at "_mta-sts.<domain>" (RFC
// 8461 §3.1), for example "v=STSv1; id=20240101T000000".
type Record struct {
	Version    string // always "STSv1"
	ID         string // 1 to 32 letters or digits; changes whenever the policy changes
	Extensions []Extension
}

// String returns the record as it is to be published: "v=STSv1; id=ID",
// then "; key=value" for each extension.
func (r Record) String() string {
	n := len("v=; id=") + len(r.Version) + len(r.ID)
	for _, e := range r.Extensions {
		n += len("; =") + len(e.Key) + len(e.Value)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("v=")
	b.WriteString(r.Version)
	b.WriteString("; id=")
	b.WriteString(r.ID)
	for _, e := range r.Extensions {
		b.WriteString("; ")
		b.WriteString(e.Key)
		b.WriteByte('=')
		b.WriteString(e.Value)
	}
	return b.String()
}

// Validate reports whether r is a valid record: version STSv1, an id of 1 to
// 32 letters or digits, and extensions whose names and values have the
// syntax of RFC 8461 §3.1 (and whose name is not "id"). Errors wrap
// ErrRecordSyntax.
func (r Record) Validate() error {
	var errs []error
	if r.Version != Version {
		errs = append(errs, fmt.Errorf("%w: v: %q is not supported; must be \"STSv1\"", ErrRecordSyntax, r.Version))
	}
	if msg := checkID(r.ID); msg != "" {
		errs = append(errs, fmt.Errorf("%w: id: %s", ErrRecordSyntax, msg))
	}
	for i, e := range r.Extensions {
		if msg := checkRecordExtension(e.Key, e.Value); msg != "" {
			errs = append(errs, fmt.Errorf("%w: extensions[%d]: %q: %s", ErrRecordSyntax, i, e.Key, msg))
		}
	}
	return errors.Join(errs...)
}

// ParseRecord parses the text of one MTA-STS TXT record (RFC 8461 §3.1):
// "v=STSv1" first, then fields separated by ";" with optional white space
// around it, and an optional trailing ";". The id field is required; of
// several the first counts (all must be valid). Other fields are kept as
// extensions, in order. Errors wrap ErrRecordSyntax.
//
// A record that ParseRecord returns passes Validate, and ParseRecord of its
// String() returns an equal record.
func ParseRecord(txt string) (Record, error) {
	fail := func(format string, args ...any) (Record, error) {
		return Record{}, fmt.Errorf("%w: %s", ErrRecordSyntax, fmt.Sprintf(format, args...))
	}
	if len(txt) > maxRecordLen {
		return fail("%d characters, more than %d", len(txt), maxRecordLen)
	}
	if !strings.HasPrefix(txt, recordPrefix) {
		if len(txt) >= len(recordPrefix) && asciiEqualFold(txt[:len(recordPrefix)], recordPrefix) {
			return fail("begins with %q; it must begin with %q (case-sensitive)", txt[:len(recordPrefix)], recordPrefix)
		}
		return fail("must begin with %q", recordPrefix)
	}
	r := Record{Version: Version}
	seenID := false
	// §3.1: sts-text-record = sts-version 1*(sts-field-delim sts-field)
	// [sts-field-delim]; sts-field-delim = *WSP ";" *WSP.
	rest := txt[len(recordPrefix):]
	for rest != "" {
		after := strings.TrimLeft(rest, " \t")
		if after == "" {
			return fail("white space at the end without a following \";\"")
		}
		if after[0] != ';' {
			return fail("expected \";\" before %q", after)
		}
		rest = strings.TrimLeft(after[1:], " \t")
		if rest == "" {
			break // trailing delimiter
		}
		end := strings.IndexAny(rest, "; \t")
		if end < 0 {
			end = len(rest)
		}
		field := rest[:end]
		rest = rest[end:]
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return fail("field %q has no \"=\"", field)
		}
		if key == "id" {
			// §3.2 (for both record and policy): of a repeated field,
			// all but the first SHOULD be ignored.
			if msg := checkID(value); msg != "" {
				return fail("id: %s", msg)
			}
			if !seenID {
				r.ID, seenID = value, true
			}
			continue
		}
		if msg := checkRecordExtension(key, value); msg != "" {
			return fail("%s: %s", key, msg)
		}
		r.Extensions = append(r.Extensions, Extension{key, value})
	}
	if !seenID {
		return fail("id: missing; the record must have an id of 1 to 32 letters or digits")
	}
	return r, nil
}

// checkID checks a record id (RFC 8461 §3.1 sts-id: 1*32(ALPHA / DIGIT)).
func checkID(id string) string {
	switch {
	case id == "":
		return "empty; must be 1 to 32 letters or digits"
	case len(id) > maxIDLen:
		return fmt.Sprintf("%q has %d characters, more than %d", id, len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !isLetDig(id[i]) {
			return fmt.Sprintf("%q contains %q; only letters and digits are allowed", id, id[i])
		}
	}
	return ""
}

// checkRecordExtension checks an extension of a record (RFC 8461 §3.1
// sts-extension: sts-ext-name "=" sts-ext-value).
func checkRecordExtension(key, value string) string {
	if msg := checkExtName(key); msg != "" {
		return "field name " + msg
	}
	if asciiEqualFold(key, "id") {
		if key == "id" {
			return `"id" is the record id, not an extension`
		}
		return `field names are case-sensitive; write "id"`
	}
	// sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): printable ASCII
	// without "=", ";" and space.
	if value == "" {
		return "empty value"
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c < 0x21 || c > 0x7e || c == '=' || c == ';' {
			return fmt.Sprintf("value %q contains %q; allowed is printable ASCII without \"=\", \";\" and space", value, c)
		}
	}
	return ""
}

// RecordFromTXT picks the MTA-STS record out of one DNS answer for
// "_mta-sts.<domain>" and parses it. Each element of rrs is one TXT resource
// record, as its character-strings; they are concatenated. Records that do
// not begin with "v=STSv1" are discarded (RFC 8461 §3.1); if none is left the
// error wraps ErrNoRecord, if more than one ErrMultipleRecords (senders then
// act as if the domain had no policy).
func RecordFromTXT(rrs [][]string) (Record, error) {
	var (
		found    string
		n        int
		nearMiss string
	)
	for _, rr := range rrs {
		txt := strings.Join(rr, "")
		switch {
		case isSTSRecord(txt):
			found = txt
			n++
		case len(txt) >= len(recordPrefix) && asciiEqualFold(txt[:len(recordPrefix)], recordPrefix):
			nearMiss = txt[:len(recordPrefix)]
		}
	}
	switch {
	case n == 0 && nearMiss != "":
		return Record{}, fmt.Errorf("%w: a record begins with %q, but it must begin with %q (case-sensitive)", ErrNoRecord, nearMiss, recordPrefix)
	case n == 0:
		return Record{}, ErrNoRecord
	case n > 1:
		return Record{}, fmt.Errorf("%w: %d records begin with %q; senders act as if there were none", ErrMultipleRecords, n, recordPrefix)
	}
	return ParseRecord(found)
}

// isSTSRecord reports whether txt begins with the version field "v=STSv1",
// followed by its end, a delimiter or white space (so "v=STSv10" is not
// one).
func isSTSRecord(txt string) bool {
	if !strings.HasPrefix(txt, recordPrefix) {
		return false
	}
	rest := txt[len(recordPrefix):]
	return rest == "" || rest[0] == ';' || isWSP(rest[0])
}
