package policyhost

import "strings"

// maxHostLen is the longest host name, without a trailing dot (RFC 1035
// §2.3.4: 255 octets on the wire, 253 characters written out).
const maxHostLen = 253

// normaliseHost writes the lookup form of host, a Host header value, into
// dst and returns its length: ASCII lower case, without port and without one
// trailing dot. It returns false for anything that cannot be a policy host:
// empty, an empty label, an IP literal, a port that is not decimal, longer
// than dst or maxHostLen, or a byte other than a letter, digit, '-' or '.'.
// It does not allocate: it is the request path's ASCII fast path to the form
// of dnsname.Name.String, which the configured hosts are checked to have
// (checkHost); a Host that is no such name can match none of them.
func normaliseHost(dst []byte, host string) (int, bool) {
	// RFC 9110 §7.2: Host = uri-host [ ":" port ], port = *DIGIT (RFC 3986
	// §3.2.3). A host name has no colon, so the first one starts the port;
	// an IPv6 literal ("[::1]:80") fails on '[' below.
	if i := strings.IndexByte(host, ':'); i >= 0 {
		for j := i + 1; j < len(host); j++ {
			if host[j] < '0' || host[j] > '9' {
				return 0, false
			}
		}
		host = host[:i]
	}
	// RFC 1034 §3.1: "mta-sts.example.com." is the same, absolute, name.
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > maxHostLen || len(host) > len(dst) {
		return 0, false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case c == '.':
			// RFC 1034 §3.1: only the root label is empty.
			if i == 0 || i == len(host)-1 || host[i-1] == '.' {
				return 0, false
			}
		case 'A' <= c && c <= 'Z':
			// RFC 4343: DNS names compare case-insensitively.
			c += 'a' - 'A'
		default:
			return 0, false
		}
		dst[i] = c
	}
	return len(host), true
}

// etagMatch reports whether the If-None-Match field values match etag (a
// strong entity-tag with its quotes), by the weak comparison RFC 9110
// §13.1.2 prescribes: "*", or any listed entity-tag whose opaque-tag equals
// etag's, with or without "W/". A malformed list stops the scan where it
// goes wrong, matching only what came before: the worst outcome of a bad
// header is a full 200. It does not allocate.
func etagMatch(values []string, etag string) bool {
	for _, v := range values {
		for {
			// RFC 9110 §5.6.1: #element lists, OWS around commas,
			// empty elements allowed.
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				// RFC 9110 §13.1.2: "*" matches any current
				// representation.
				if rest := strings.TrimLeft(v[1:], " \t"); rest == "" || rest[0] == ',' {
					return true
				}
				break
			}
			// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE.
			v = strings.TrimPrefix(v, "W/")
			if v == "" || v[0] != '"' {
				break
			}
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				break
			}
			tag := v[:end+2]
			// Each element ends at a comma or the end of the value.
			v = strings.TrimLeft(v[end+2:], " \t")
			if v != "" && v[0] != ',' {
				break
			}
			if tag == etag {
				return true
			}
		}
	}
	return false
}
