package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Access to the dashboard. Without a token it answers only requests whose
// Host is a loopback name or address, so that a web page elsewhere cannot
// read it by pointing a DNS name at 127.0.0.1 (DNS rebinding). With a token
// every request must present it: "Authorization: Bearer TOKEN", or the
// cookie CookieName, which a request with "?token=TOKEN" sets once (and is
// redirected to the same URL without it).

// CookieName is the cookie that carries the token in a browser.
const CookieName = "ststack_dashboard_token"

// MinTokenLen is the shortest token accepted.
const MinTokenLen = 16

// EnvToken is the environment variable the CLI reads the token from when
// --token is not given.
const EnvToken = "STSTACK_DASHBOARD_TOKEN"

// ErrBind is wrapped by CheckBind's errors.
var ErrBind = errors.New("dashboard address")

// CheckBind says whether the dashboard may listen on addr (HOST:PORT):
// a literal loopback address (127.0.0.0/8, ::1) always; any other host (an
// empty one listens on every address) only with allowRemote and a token of
// at least MinTokenLen bytes. A name, even "localhost" or one under
// ".localhost", is no loopback address here: listening resolves it (hosts
// file, DNS), and the answer may be any address (issue 14 §6).
func CheckBind(addr string, allowRemote bool, token string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: want HOST:PORT", ErrBind, addr)
	}
	if token != "" && len(token) < MinTokenLen {
		return fmt.Errorf("%w: token: %d bytes, want at least %d", ErrBind, len(token), MinTokenLen)
	}
	if IsLoopbackAddr(host) {
		return nil
	}
	if !allowRemote {
		if IsLoopback(host) {
			return fmt.Errorf("%w: %s is not a literal loopback address: a name is resolved when listening and may "+
				"lead anywhere; give %s or %s, or add --allow-remote and a token", ErrBind, addr,
				net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port))
		}
		return fmt.Errorf("%w: %s is not a loopback address: the dashboard shows report data; add --allow-remote and a token to listen there", ErrBind, addr)
	}
	if token == "" {
		return fmt.Errorf("%w: listening on %s needs a token (--token or $%s)", ErrBind, addr, EnvToken)
	}
	return nil
}

// IsLoopbackAddr reports whether host (without port or brackets) is a
// literal loopback address: 127.0.0.0/8, ::1, or either mapped (::ffff:
// 127.0.0.1). Names are not, whatever they resolve to.
func IsLoopbackAddr(host string) bool {
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// IsLoopback reports whether host (a name or address, without port or
// brackets) is "localhost", a name under ".localhost" (RFC 6761 §6.3) or a
// loopback address: the Host of a request that a browser sent to this
// machine. To decide where to listen, use IsLoopbackAddr.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return IsLoopbackAddr(host)
}

// hostOf returns the host of a Host header, without port or brackets.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// tokenEqual compares in constant time (the lengths too, through hashes).
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// access decides whether r may be served. It answers the request itself
// and returns false when not.
func (h *Handler) access(w http.ResponseWriter, r *http.Request) bool {
	if h.token == "" {
		if !IsLoopback(hostOf(r.Host)) {
			// As if there were nothing here: a page elsewhere that points
			// its name at this address learns nothing.
			h.fail(w, r, http.StatusNotFound, "nothing here for this host name: the dashboard answers on a loopback address only (localhost, 127.0.0.1, [::1])")
			return false
		}
		return true
	}
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && tokenEqual(strings.TrimSpace(tok), h.token) {
			return true
		}
		return h.unauthorized(w, r)
	}
	if tok, ok := tokenParam(r.URL.RawQuery); ok {
		if !tokenEqual(tok, h.token) {
			return h.unauthorized(w, r)
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: h.token, Path: "/",
			HttpOnly: true, Secure: h.secureCookie || h.overHTTPS(r), SameSite: http.SameSiteStrictMode})
		u := *r.URL
		u.RawQuery = withoutToken(r.URL.RawQuery)
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie(CookieName); err == nil && tokenEqual(c.Value, h.token) {
		return true
	}
	return h.unauthorized(w, r)
}

func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("WWW-Authenticate", `Bearer realm="ststack dashboard"`)
	h.fail(w, r, http.StatusUnauthorized, "a token is required: open the dashboard once with ?token=TOKEN, or send Authorization: Bearer TOKEN")
	return false
}

// tokenParam returns the value of the "token" parameter of a raw query.
func tokenParam(raw string) (string, bool) {
	for part := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k == "token" {
			if u, err := url.QueryUnescape(v); err == nil {
				return u, true
			}
			return v, true
		}
	}
	return "", false
}

// withoutToken is a raw query without its "token" parameters.
func withoutToken(raw string) string {
	var keep []string
	for part := range strings.SplitSeq(raw, "&") {
		if k, _, _ := strings.Cut(part, "="); k != "token" && part != "" {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, "&")
}

// loopbackPrefixes are the peers trusted as TLS proxies by default.
func loopbackPrefixes() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// overHTTPS reports whether r came over HTTPS: to this server, or to a TLS
// proxy among h.proxies that says so in X-Forwarded-Proto (the first
// value: the client's side) or Forwarded (RFC 7239 §5.4, proto= of the
// first element).
func (h *Handler) overHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer := ap.Addr().Unmap()
	if !slices.ContainsFunc(h.proxies, func(p netip.Prefix) bool { return p.Contains(peer) }) {
		return false
	}
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		first, _, _ := strings.Cut(v, ",")
		return strings.EqualFold(strings.TrimSpace(first), "https")
	}
	first, _, _ := strings.Cut(r.Header.Get("Forwarded"), ",")
	for pair := range strings.SplitSeq(first, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
		if strings.EqualFold(k, "proto") {
			return strings.EqualFold(strings.Trim(v, `"`), "https")
		}
	}
	return false
}
