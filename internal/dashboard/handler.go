package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/store"
)

// Store is what the dashboard reads of a report store; embedded.Store and
// awsstore.Store implement it.
//
// Facts returns the facts of domain (lower-case A-label) whose day is in
// [from, to], both inclusive, in order of day then report key; none and no
// error for a domain without reports. Report returns the record of the
// report with identity key key and Raw its raw body as received (gzip or
// JSON); both return an error wrapping store.ErrNotFound when there is
// none, a malformed key included. Last returns the latest check result
// saved for domain, ok false (no error) when none. An error of any of them
// means the store could not be read. All must be safe for concurrent use.
type Store interface {
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
	// DaySums returns the sums of domain's facts for every day of [from,
	// to] (store.SumDays), those up to complete derived once and stored
	// by the store (docs/reports.md, "Day sums").
	DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error)
	Report(ctx context.Context, key string) (store.Receipt, error)
	Raw(ctx context.Context, key string) ([]byte, error)
	Last(ctx context.Context, domain string) (r health.Result, ok bool, err error)
}

// Options configure a Handler. Config and Store are required.
type Options struct {
	// Config is the organisation: its domains are the ones shown.
	Config *config.Config
	// Store holds the reports and check results.
	Store Store
	// Token, when set, must be presented by every request (see CookieName);
	// when empty only requests to a loopback host name are answered.
	Token string
	// SecureCookie marks the token cookie Secure on every request, also
	// one over plain HTTP: for a dashboard reachable from elsewhere
	// (--allow-remote), which only a TLS proxy should expose.
	SecureCookie bool
	// TrustedProxies are the peers whose X-Forwarded-Proto or Forwarded
	// header is believed when it says the request came over HTTPS (the
	// cookie is then Secure); nil: loopback peers (127.0.0.0/8, ::1), as
	// a TLS proxy on the same machine.
	TrustedProxies []netip.Prefix
	// Delegation gives the reconciler's states of delegated client
	// domains; nil: the domain page derives what it can from the checks.
	Delegation DelegationStates
	// RUAHTTPS is the https rua URL the deployment publishes, shown in the
	// _smtp._tls record; empty when unknown.
	RUAHTTPS string
	// Source says where the data comes from (a data directory, a stack),
	// shown at the foot of every page.
	Source string
	// Logger receives one line per failed request (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// apiPrefix starts every JSON API path.
const apiPrefix = "/api/v1"

// maxRawDownload bounds a raw report served: larger than any stored body
// (ingest bounds them).
const maxRawDownload = 128 << 20

//go:embed assets
var assets embed.FS

// Handler serves the dashboard pages, the JSON API and their assets. It is
// safe for concurrent use.
type Handler struct {
	m            *model
	token        string
	secureCookie bool
	proxies      []netip.Prefix // trusted TLS proxies
	source       string
	log          *slog.Logger
	mux          *http.ServeMux
	pages        map[string]*template.Template
	static       http.Handler
}

// New returns the dashboard of o.Config over o.Store.
func New(o Options) (*Handler, error) {
	if o.Config == nil || len(o.Config.Domains) == 0 {
		return nil, errors.New("dashboard: no configured domain")
	}
	if o.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	if o.Token != "" && len(o.Token) < MinTokenLen {
		return nil, fmt.Errorf("dashboard: token shorter than %d bytes", MinTokenLen)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	h := &Handler{
		m:            &model{cfg: o.Config, st: o.Store, delegated: o.Delegation, ruaHTTPS: o.RUAHTTPS, now: o.Now},
		token:        o.Token,
		secureCookie: o.SecureCookie,
		proxies:      o.TrustedProxies,
		source:       o.Source,
		log:          o.Logger,
		mux:          http.NewServeMux(),
		pages:        pages,
		static:       http.StripPrefix("/static/", http.FileServerFS(static)),
	}
	if h.proxies == nil {
		h.proxies = loopbackPrefixes()
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", h.overviewPage)
	m.HandleFunc("GET /domains/{domain}", h.domainPage)
	m.HandleFunc("GET /domains/{domain}/mx", h.mxPage)
	m.HandleFunc("GET /reports", h.reportsPage)
	m.HandleFunc("GET /reports/{key}", h.reportPage)
	m.HandleFunc("GET /reports/{key}/raw", h.raw)
	m.HandleFunc("GET /static/", h.serveStatic)

	m.HandleFunc("GET "+apiPrefix+"/overview", h.apiOverview)
	m.HandleFunc("GET "+apiPrefix+"/domains/{domain}", h.apiDomain)
	m.HandleFunc("GET "+apiPrefix+"/domains/{domain}/mx", h.apiMX)
	m.HandleFunc("GET "+apiPrefix+"/reports", h.apiReports)
	m.HandleFunc("GET "+apiPrefix+"/reports/{key}", h.apiReport)
	m.HandleFunc("GET "+apiPrefix+"/reports/{key}/raw", h.raw)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.fail(w, r, http.StatusMethodNotAllowed, "only GET and HEAD: the dashboard is read-only")
			return
		}
		h.fail(w, r, http.StatusNotFound, "no such page")
	})
}

// contentSecurityPolicy allows the page's own stylesheet and images only:
// no script, no inline style, no frame, no form to elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP sets the security headers, checks access and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.Protect(h.mux).ServeHTTP(w, r)
}

// Protect serves next behind the dashboard's own access rule (loopback
// only, or the token; docs/dashboard.md, "Access") and response headers:
// for what ststack serve adds beside the dashboard, such as /metrics.
func (h *Handler) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.protected(w, r, next) })
}

func (h *Handler) protected(w http.ResponseWriter, r *http.Request, next http.Handler) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	if !h.access(w, r) {
		return
	}
	next.ServeHTTP(w, r)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		h.fail(w, r, http.StatusNotFound, "no such file")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	h.static.ServeHTTP(w, r)
}

// isAPI reports whether r is a JSON API request (its errors are JSON).
func isAPI(r *http.Request) bool {
	return r.URL.Path == apiPrefix || strings.HasPrefix(r.URL.Path, apiPrefix+"/")
}

// fail answers an error: JSON {"error": msg} for the API, a page
// otherwise. msg must not hold internal detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	h.render(w, r, status, "error", "Error", errorPage{Status: status, StatusText: http.StatusText(status), Message: msg}, false)
}

// internal logs err and answers 500 without its detail.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "dashboard: request failed", "path", r.URL.Path, "error", err.Error())
	h.fail(w, r, http.StatusInternalServerError, "the report store could not be read; see the server's log")
}

// storeError answers an error of the store: 404 for store.ErrNotFound.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	if errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, "no such "+what)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	h.internal(w, r, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error": "internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// query parses r's query; on error it answers 400 and returns false.
func (h *Handler) query(w http.ResponseWriter, r *http.Request) (map[string][]string, bool) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return q, true
}

// configured returns the configured domain named in the path.
func (h *Handler) configured(w http.ResponseWriter, r *http.Request) (config.Domain, bool) {
	d, ok := h.m.cfg.Domain(r.PathValue("domain"))
	if !ok {
		h.fail(w, r, http.StatusNotFound, "no such domain in the organisation file")
	}
	return d, ok
}

// knownDomain maps a domain parameter to a configured domain's name.
func (h *Handler) knownDomain(name string) (string, bool) {
	d, ok := h.m.cfg.Domain(name)
	return d.Name, ok
}

func (h *Handler) apiOverview(w http.ResponseWriter, r *http.Request) {
	o, err := h.m.overview(r.Context())
	if err != nil {
		h.storeError(w, r, err, "data")
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// domainDetail reads the domain page's data; false when it answered.
func (h *Handler) domainDetail(w http.ResponseWriter, r *http.Request) (*DomainDetail, bool) {
	return readDomainView(h, w, r, h.m.domain)
}

// readDomainView reads one configured domain's view over the request's
// day range with read; false when it answered instead: 400 for a bad
// query or range, 404 for a domain not in the file, the store's error.
func readDomainView[V any](h *Handler, w http.ResponseWriter, r *http.Request, read func(context.Context, config.Domain, DayRange) (*V, error)) (*V, bool) {
	q, ok := h.query(w, r)
	if !ok {
		return nil, false
	}
	d, ok := h.configured(w, r)
	if !ok {
		return nil, false
	}
	rg, err := parseRange(q, h.m.today())
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	}
	v, err := read(r.Context(), d, rg)
	if err != nil {
		h.storeError(w, r, err, "data")
		return nil, false
	}
	return v, true
}

func (h *Handler) apiDomain(w http.ResponseWriter, r *http.Request) {
	if dd, ok := h.domainDetail(w, r); ok {
		writeJSON(w, http.StatusOK, dd)
	}
}

// reportList reads the report list's data; false when it answered.
func (h *Handler) reportList(w http.ResponseWriter, r *http.Request) (*ReportList, bool) {
	q, ok := h.query(w, r)
	if !ok {
		return nil, false
	}
	f, err := parseReportFilter(q, h.m.today(), h.knownDomain)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return nil, false
	}
	l, err := h.m.reports(r.Context(), f)
	if err != nil {
		h.storeError(w, r, err, "data")
		return nil, false
	}
	return l, true
}

func (h *Handler) apiReports(w http.ResponseWriter, r *http.Request) {
	if l, ok := h.reportList(w, r); ok {
		writeJSON(w, http.StatusOK, l)
	}
}

func (h *Handler) apiReport(w http.ResponseWriter, r *http.Request) {
	v, err := h.m.report(r.Context(), r.PathValue("key"))
	if err != nil {
		h.storeError(w, r, err, "report")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// raw serves a report's body as received, as a download: Content-Type
// application/tlsrpt+gzip or application/tlsrpt+json (RFC 8460 §5.3,
// §6.4, §6.5), the file named after the report's key.
func (h *Handler) raw(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	b, err := h.m.st.Raw(r.Context(), key)
	if err != nil {
		h.storeError(w, r, err, "report")
		return
	}
	if len(b) > maxRawDownload {
		h.internal(w, r, fmt.Errorf("raw body of %s: %d bytes", key, len(b)))
		return
	}
	ctype, ext := store.ContentTypeJSON, ".json"
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		ctype, ext = store.ContentTypeGzip, ".json.gz"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	// The key holds only letters, digits and "-_.!" (store.ValidKey).
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": key + ext}))
	hd.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}
