package tlsrpt

import (
	"fmt"
	"net/url"
	"strings"
)

// Version is the only TLSRPT record version, RFC 8460 §3.
const Version = "TLSRPTv1"

// maxRecordLen bounds a record before it is parsed: a TXT record cannot be
// larger than a DNS message.
const maxRecordLen = 65535

// Extension is a record field other than v and rua (RFC 8460 §3
// tlsrpt-extension), kept in order.
type Extension struct {
	Key, Value string
}

// RUA is one aggregate report URI of a record's rua field.
type RUA struct {
	Scheme string // "mailto" or "https", lower case
	URI    string // as written, percent-encoded
}

// String returns the URI as written in the record.
func (u RUA) String() string { return u.URI }

// ParseRUA parses one rua URI: a mailto: address or an https: URL (RFC 8460
// §3). The characters "," "!" ";" must be percent-encoded, as must white
// space; http: and other schemes are refused.
func ParseRUA(s string) (RUA, error) {
	if s == "" {
		return RUA{}, fmt.Errorf("%w: rua: empty URI", ErrRecordSyntax)
	}
	if len(s) > maxRecordLen {
		return RUA{}, fmt.Errorf("%w: rua: URI too long", ErrRecordSyntax)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		// RFC 8460 §3: commas, exclamation points and semicolons MUST be
		// encoded; RFC 3986 has no room for white space or controls.
		case c == ',' || c == '!' || c == ';':
			return RUA{}, fmt.Errorf("%w: rua: %q in %q must be percent-encoded as %%%02X", ErrRecordSyntax, c, s, c)
		case c <= ' ' || c >= 0x7f:
			return RUA{}, fmt.Errorf("%w: rua: %q contains a space, control or non-ASCII character (percent-encode it)", ErrRecordSyntax, s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return RUA{}, fmt.Errorf("%w: rua: %q: %v", ErrRecordSyntax, s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "mailto":
		// RFC 8460 §3: "mailto:" per RFC 6068; one address.
		if u.Opaque == "" {
			return RUA{}, fmt.Errorf("%w: rua: %q: mailto: needs an address, as mailto:tlsrpt@example.com", ErrRecordSyntax, s)
		}
		addr, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return RUA{}, fmt.Errorf("%w: rua: %q: %v", ErrRecordSyntax, s, err)
		}
		// RFC 6068 §2: addresses separated by "," (encoded as %2C in the
		// record).
		for a := range strings.SplitSeq(addr, ",") {
			at := strings.LastIndexByte(a, '@')
			if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t") {
				return RUA{}, fmt.Errorf("%w: rua: %q: %q is not an e-mail address", ErrRecordSyntax, s, a)
			}
		}
	case "https":
		// RFC 8460 §3 and §5.4: reports are POSTed over HTTPS.
		if u.Host == "" || u.Hostname() == "" {
			return RUA{}, fmt.Errorf("%w: rua: %q: https: URI without a host", ErrRecordSyntax, s)
		}
	case "http":
		return RUA{}, fmt.Errorf("%w: rua: %q: http: is not allowed, only https: and mailto: (RFC 8460 §3)", ErrRecordSyntax, s)
	case "":
		return RUA{}, fmt.Errorf("%w: rua: %q: missing scheme (mailto: or https:)", ErrRecordSyntax, s)
	default:
		return RUA{}, fmt.Errorf("%w: rua: %q: scheme %q is not allowed, only https: and mailto: (RFC 8460 §3)", ErrRecordSyntax, s, u.Scheme)
	}
	return RUA{Scheme: scheme, URI: s}, nil
}

// Record is a TLSRPT policy, published as a TXT record at
// "_smtp._tls.<domain>" (RFC 8460 §3).
type Record struct {
	Version    string // "TLSRPTv1"; String() writes that when empty
	RUA        []RUA
	Extensions []Extension
}

// String returns the record in its wire form, "v=TLSRPTv1; rua=a,b" followed
// by "; key=value" for each extension.
func (r Record) String() string {
	var b strings.Builder
	v := r.Version
	if v == "" {
		v = Version
	}
	b.WriteString("v=")
	b.WriteString(v)
	b.WriteString("; rua=")
	for i, u := range r.RUA {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(u.URI)
	}
	for _, e := range r.Extensions {
		b.WriteString("; ")
		b.WriteString(e.Key)
		b.WriteByte('=')
		b.WriteString(e.Value)
	}
	return b.String()
}

// isTLSRPT reports whether a TXT record starts with the v=TLSRPTv1 field
// (RFC 8460 §3: records that do not are discarded).
func isTLSRPT(txt string) bool {
	const v = "v=" + Version
	if !strings.HasPrefix(txt, v) {
		return false
	}
	rest := txt[len(v):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}

// RecordFromTXT picks the TLSRPT record out of one DNS answer: the strings of
// each resource record are concatenated (RFC 8460 §3 via RFC 7208 §3.3),
// records not starting with v=TLSRPTv1 are ignored; none is ErrNoRecord, more
// than one ErrMultipleRecords.
func RecordFromTXT(rrs [][]string) (Record, error) {
	var found string
	n := 0
	for _, rr := range rrs {
		txt := strings.Join(rr, "")
		if isTLSRPT(txt) {
			found = txt
			n++
		}
	}
	switch n {
	case 0:
		return Record{}, ErrNoRecord
	case 1:
		return ParseRecord(found)
	default:
		return Record{}, fmt.Errorf("%w: %d records start with v=%s", ErrMultipleRecords, n, Version)
	}
}

// ParseRecord parses a TLSRPT TXT record (RFC 8460 §3):
//
//	v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://tlsrpt.example.com/v1
//
// The version must come first; rua is required, once, as a list of
// comma-separated URIs; other fields are kept as Extensions. Trailing white
// space is tolerated.
func ParseRecord(txt string) (Record, error) {
	if len(txt) > maxRecordLen {
		return Record{}, fmt.Errorf("%w: record longer than %d bytes", ErrRecordSyntax, maxRecordLen)
	}
	p := recordParser{s: strings.TrimRight(txt, " \t")}
	// RFC 8460 §3: tlsrpt-version = %s"v=TLSRPTv1", the first field.
	if !strings.HasPrefix(p.s, "v=") {
		if strings.Contains(p.s, "v=") {
			return Record{}, fmt.Errorf("%w: v: must be the first field", ErrRecordSyntax)
		}
		return Record{}, fmt.Errorf("%w: v: missing, the record must start with v=%s", ErrRecordSyntax, Version)
	}
	p.o = 2
	if v := p.extValue(); v != Version {
		return Record{}, fmt.Errorf("%w: v: version %q, want %s", ErrRecordSyntax, v, Version)
	}
	r := Record{Version: Version}
	seenRUA := false
	// RFC 8460 §3: tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
	for !p.end() {
		if !p.delim() {
			return Record{}, p.errorf("expected \";\" between fields")
		}
		if p.end() {
			break // the optional trailing field-delim
		}
		start := p.o
		name := p.name()
		if name == "" {
			return Record{}, p.errorf("expected a field name")
		}
		if !p.take('=') {
			return Record{}, p.errorf("expected \"=\" after %q", name)
		}
		switch name {
		case "v":
			return Record{}, fmt.Errorf("%w: v: given more than once", ErrRecordSyntax)
		case "rua":
			if seenRUA {
				return Record{}, fmt.Errorf("%w: rua: given more than once", ErrRecordSyntax)
			}
			seenRUA = true
			ruas, err := p.ruas()
			if err != nil {
				return Record{}, err
			}
			r.RUA = ruas
		default:
			// RFC 8460 §3: tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
			v := p.extValue()
			if v == "" {
				p.o = start
				return Record{}, p.errorf("field %q has an empty or invalid value", name)
			}
			r.Extensions = append(r.Extensions, Extension{Key: name, Value: v})
		}
	}
	if !seenRUA {
		return Record{}, fmt.Errorf("%w: rua: missing (RFC 8460 §3: required)", ErrRecordSyntax)
	}
	return r, nil
}

type recordParser struct {
	s string
	o int
}

func (p *recordParser) end() bool { return p.o >= len(p.s) }

func (p *recordParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at position %d of %q", ErrRecordSyntax, fmt.Sprintf(format, args...), p.o, p.s)
}

func (p *recordParser) take(c byte) bool {
	if p.o < len(p.s) && p.s[p.o] == c {
		p.o++
		return true
	}
	return false
}

func (p *recordParser) wsp() {
	for p.o < len(p.s) && (p.s[p.o] == ' ' || p.s[p.o] == '\t') {
		p.o++
	}
}

// delim consumes a field-delim, RFC 8460 §3: *WSP ";" *WSP.
func (p *recordParser) delim() bool {
	o := p.o
	p.wsp()
	if !p.take(';') {
		p.o = o
		return false
	}
	p.wsp()
	return true
}

// name consumes a field name, RFC 8460 §3:
// tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func (p *recordParser) name() string {
	start := p.o
	for p.o < len(p.s) && p.o-start < 32 {
		c := p.s[p.o]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (p.o == start || c != '_' && c != '-' && c != '.') {
			break
		}
		p.o++
	}
	return p.s[start:p.o]
}

// extValue consumes a value of visible characters other than "=" and ";".
func (p *recordParser) extValue() string {
	start := p.o
	for p.o < len(p.s) {
		c := p.s[p.o]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ';' {
			break
		}
		p.o++
	}
	return p.s[start:p.o]
}

// ruas consumes the rua list, RFC 8460 §3:
// tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri).
func (p *recordParser) ruas() ([]RUA, error) {
	var l []RUA
	for {
		start := p.o
		for p.o < len(p.s) {
			c := p.s[p.o]
			if c == ',' || c == ';' || c == ' ' || c == '\t' {
				break
			}
			p.o++
		}
		if p.o == start {
			return nil, p.errorf("rua: expected a URI")
		}
		u, err := ParseRUA(p.s[start:p.o])
		if err != nil {
			return nil, err
		}
		l = append(l, u)
		o := p.o
		p.wsp()
		if !p.take(',') {
			p.o = o
			return l, nil
		}
		p.wsp()
	}
}
