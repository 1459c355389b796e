package policyhost

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dnsname"
	"github.com/ststack/ststack/internal/mtasts"
)

// WellKnownPath is the one path served (RFC 8461 §3.3).
const WellKnownPath = "/.well-known/mta-sts.txt"

// CacheControl is the Cache-Control of a policy response. Five minutes:
// CloudFront and senders revalidate within that time, and the deployment
// publishes a new _mta-sts TXT id only after the new policy is served and
// the CloudFront cache invalidated, so no sender can hold a new id with an
// old policy for longer than this (RFC 8461 §8.1: update the policy before
// its id).
const CacheControl = "max-age=300"

// ForwardedHostHeader is the request header in which CloudFront hands the
// viewer's Host to the Lambda origin (set by a CloudFront Function on
// viewer request, overwriting whatever the viewer sent; see Options.HostHeader).
const ForwardedHostHeader = "X-Forwarded-Host"

// hstsValue is the Strict-Transport-Security of every response: one year.
// The policy host is HTTPS-only anyway (RFC 8461 §3.3); the header keeps
// browsers of people looking at it there too.
const hstsValue = "max-age=31536000"

// Errors of New. Each error returned wraps one of them and names the domain
// at fault.
var (
	// ErrNoDomains: the configuration is nil or has no domain.
	ErrNoDomains = errors.New("policyhost: no domains to serve")
	// ErrPolicy: a domain's policy is not valid, or does not survive being
	// rendered and parsed back unchanged.
	ErrPolicy = errors.New("policyhost: policy cannot be served")
	// ErrHost: a domain's policy host name is not a valid host name, or two
	// domains have the same one.
	ErrHost = errors.New("policyhost: invalid policy host")
)

// Options configures a Handler. The zero value logs nothing and takes the
// host a request is for from Request.Host.
type Options struct {
	// Logger, when set, gets every request at debug level (method, host,
	// path, status), and requests that point to a broken deployment (no
	// forwarded host) at warn.
	Logger *slog.Logger
	// HostHeader, when set, names the header the host a request is for is
	// taken from instead of Request.Host. Use it only where a trusted proxy
	// always sets that header, overwriting what the client sent: in AWS,
	// the CloudFront Function in front of the Lambda function URL sets
	// ForwardedHostHeader (the function URL itself only accepts its own
	// Host). A request without exactly one such header gets a 404 and a
	// warning.
	HostHeader string
}

// Handler serves the policies of one configuration. It is safe for
// concurrent use; build it with New.
type Handler struct {
	sites      map[string]*site // by normalised policy host
	hosts      []string         // sorted policy hosts
	hostHeader string           // canonical header name, or "" for Request.Host
	log        *slog.Logger
}

// site is everything served for one policy host, precomputed.
type site struct {
	body   []byte
	etag   []string // `"<policy id>"`
	length []string // len(body) in decimal
}

// Header values shared by all responses. Each slice has len == cap, so a
// later Header.Add by a middleware copies instead of writing into them.
var (
	valTextPlain  = []string{"text/plain; charset=utf-8"}
	valPolicyCC   = []string{CacheControl}
	valNoStore    = []string{"no-store"}
	valHSTS       = []string{hstsValue}
	valNoSniff    = []string{"nosniff"}
	valAllow      = []string{"GET, HEAD"}
	bodyNotFound  = []byte("not found\n")
	bodyNotAllow  = []byte("method not allowed\n")
	lenNotFound   = []string{strconv.Itoa(len(bodyNotFound))}
	lenNotAllowed = []string{strconv.Itoa(len(bodyNotAllow))}
)

// New returns a Handler serving the policy of every domain in cfg at
// https://mta-sts.<domain>/.well-known/mta-sts.txt. It checks each policy
// again (mtasts Validate, and its text parsed back by mtasts.ParsePolicy
// must render to the same bytes) and each policy host name, and returns an
// error naming the first domain at fault rather than a Handler that would
// serve a bad policy.
func New(cfg *config.Config, o Options) (*Handler, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var hostHeader string
	if o.HostHeader != "" {
		hostHeader = textproto.CanonicalMIMEHeaderKey(o.HostHeader)
	}
	if cfg == nil || len(cfg.Domains) == 0 {
		return nil, ErrNoDomains
	}
	h := &Handler{
		sites:      make(map[string]*site, len(cfg.Domains)),
		hosts:      make([]string, 0, len(cfg.Domains)),
		hostHeader: hostHeader,
		log:        log,
	}
	for i, d := range cfg.Domains {
		host, err := checkHost(d.PolicyHost())
		if err != nil {
			return nil, fmt.Errorf("%w: domains[%d] %q: %w", ErrHost, i, d.Name, err)
		}
		if _, dup := h.sites[host]; dup {
			return nil, fmt.Errorf("%w: domains[%d] %q: %s is served for an earlier domain already", ErrHost, i, d.Name, host)
		}
		s, err := newSite(d)
		if err != nil {
			return nil, fmt.Errorf("%w: domains[%d] %q: %w", ErrPolicy, i, d.Name, err)
		}
		h.sites[host] = s
		h.hosts = append(h.hosts, host)
	}
	slices.Sort(h.hosts)
	return h, nil
}

// checkHost returns the lookup key of a configured policy host, or why it
// cannot be one: it must be a domain name (dnsname.Parse, the rules every
// package applies) already in its wire form, lower-case A-labels without a
// trailing dot. That form is also what normaliseHost makes of a Host header
// naming it, so lookup finds it.
func checkHost(host string) (string, error) {
	n, err := dnsname.Parse(host)
	if err != nil {
		return "", err
	}
	if n.String() != host {
		return "", fmt.Errorf("%q is not a lower-case A-label host name", host)
	}
	return host, nil
}

// newSite renders d's policy once and checks that what is served is what is
// configured.
func newSite(d config.Domain) (*site, error) {
	// RFC 8461 §3.2: version, mode, max_age and mx rules.
	if err := d.Policy.Validate(); err != nil {
		return nil, err
	}
	text := d.PolicyText()
	// RFC 8461 §3.3: a sender may refuse a policy over 64 KiB. ParsePolicy
	// enforces mtasts.MaxPolicySize before parsing.
	back, err := mtasts.ParsePolicy([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("served text does not parse: %w", err)
	}
	if back.String() != text {
		return nil, fmt.Errorf("served text does not parse back to the same policy")
	}
	body := []byte(text)
	return &site{
		body:   body,
		etag:   []string{`"` + d.Policy.ID() + `"`},
		length: []string{strconv.Itoa(len(body))},
	}, nil
}

// Hosts returns the policy host names served (mta-sts.<domain>, lower case),
// sorted.
func (h *Handler) Hosts() []string {
	return slices.Clone(h.hosts)
}

// IsPolicyHost reports whether host, in the form of Request.Host (any letter
// case, with or without a port or a trailing dot), is one of the policy hosts
// this Handler serves. A local server uses it to route by Host; it ignores
// Options.HostHeader.
func (h *Handler) IsPolicyHost(host string) bool {
	return h.lookup(host) != nil
}

// lookup returns the site for host, or nil.
func (h *Handler) lookup(host string) *site {
	var buf [maxHostLen]byte
	n, ok := normaliseHost(buf[:], host)
	if !ok {
		return nil
	}
	return h.sites[string(buf[:n])] // no allocation: the compiler does not copy for a map index
}

// ServeHTTP answers a GET or HEAD of WellKnownPath on a policy host with
// the policy (200, or 304 for a matching If-None-Match), a request for
// anything else with 404, another method on the policy with 405.
//
// The header values it sets are shared by all responses: a wrapper may
// replace, add or delete values (Header.Set, Add, Del) but must not modify
// them in place.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h.hostHeader != "" {
		v := r.Header[h.hostHeader]
		host = ""
		if len(v) == 1 {
			host = v[0]
		} else {
			// The CloudFront Function always sets exactly one: the
			// deployment is broken, or the origin was reached some
			// other way.
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "request without a single forwarded host header",
				slog.String("header", h.hostHeader), slog.Int("count", len(v)))
		}
	}
	status := h.serve(w, r, host)
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method), slog.String("host", host),
			slog.String("path", r.URL.Path), slog.Int("status", status))
	}
}

// serve writes the response and returns its status.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, host string) int {
	hdr := w.Header()
	hdr["Strict-Transport-Security"] = valHSTS
	hdr["X-Content-Type-Options"] = valNoSniff
	s := h.lookup(host)
	// Exact path only: Go does not clean Request.URL.Path, so "//", "..",
	// and other spellings differ from it; RawPath is set when the request
	// used a percent-encoding that is not the default one ("%2D", "%2F").
	if s == nil || r.URL.Path != WellKnownPath || r.URL.RawPath != "" {
		return plain(w, r, hdr, http.StatusNotFound, bodyNotFound, lenNotFound)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr["Allow"] = valAllow
		return plain(w, r, hdr, http.StatusMethodNotAllowed, bodyNotAllow, lenNotAllowed)
	}
	hdr["Cache-Control"] = valPolicyCC
	hdr["Etag"] = s.etag
	// RFC 9110 §13.1.2: If-None-Match, weak comparison; a match on GET or
	// HEAD is answered 304 with the validator and caching headers.
	if inm, ok := r.Header["If-None-Match"]; ok && etagMatch(inm, s.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	// RFC 8461 §3.3: the policy is served as text/plain.
	hdr["Content-Type"] = valTextPlain
	hdr["Content-Length"] = s.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(s.body) // a failed write is the client gone; nothing to do
	}
	return http.StatusOK
}

// plain writes a short uncacheable plain-text error response.
func plain(w http.ResponseWriter, r *http.Request, hdr http.Header, status int, body []byte, length []string) int {
	hdr["Content-Type"] = valTextPlain
	hdr["Content-Length"] = length
	hdr["Cache-Control"] = valNoStore
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return status
}
