package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"path/filepath"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dashboard"
	"github.com/ststack/ststack/internal/dnsresolve"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/metrics/prom"
	"github.com/ststack/ststack/internal/policyhost"
	"github.com/ststack/ststack/internal/store/embedded"
)

// Server limits of `ststack serve`. A TLS report is at most
// ingest.DefaultMaxBody; a minute is ample for one on loopback and bounds
// slow bodies.
const (
	serveReadHeaderTimeout = 10 * time.Second
	serveReadTimeout       = 60 * time.Second
	serveWriteTimeout      = 60 * time.Second
	serveIdleTimeout       = 2 * time.Minute
	serveMaxHeaderBytes    = 64 << 10
	serveShutdownTimeout   = 10 * time.Second
)

// runServe implements `ststack serve`: the policy host, the report endpoint
// and the dashboard on one address, over an embedded store.
func runServe(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "serve", "--config FILE [--addr HOST:PORT] [--data DIR] [--resolver HOST:PORT]",
		`Serves locally, on one address, what a deployment serves in AWS:
  - the MTA-STS policy of every configured domain, for requests whose Host is
    mta-sts.<domain> (GET /.well-known/mta-sts.txt);
  - the TLS report endpoint, POST /v1/tlsrpt, storing into an embedded store
    in the data directory;
  - the dashboard and its JSON API at every other path (docs/dashboard.md):
    loopback only, unless --allow-remote and a token are given;
  - Prometheus metrics at /metrics (docs/metrics.md), with the dashboard's
    access rule;
  - the report e-mails dropped into <data>/inbox/ (docs/email.md).
It speaks plain HTTP: put it behind a TLS terminator to serve real senders.`)
	cfgPath := fs.String("config", "", "the organisation file (required)")
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on")
	data := fs.String("data", ".ststack-data", "data directory of the embedded store")
	verbose := fs.Bool("verbose", false, "log every request")
	resolver := fs.String("resolver", "", "ask this DNS server (`HOST:PORT`) for the DKIM keys of e-mailed reports and the CNAMEs of delegated client domains instead of the system's")
	// Dashboard (issue 8): access and sample data.
	access := addAccessFlags(fs)
	sampleData := fs.Bool("sample-data", false, "load sample reports and check results (marked as sample) for a first look")
	pos, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	if len(pos) != 0 {
		return usageError(fs, env, "unexpected argument %q", pos[0])
	}
	if *cfgPath == "" {
		return usageError(fs, env, "--config is required")
	}
	acc, err := access.check(*addr) // dashboard (issue 8)
	if err != nil {
		return usageError(fs, env, "%v", err)
	}
	lookup, err := dnsresolve.NewStd(*resolver)
	if err != nil {
		return usageError(fs, env, "--resolver: %v", err)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		for _, m := range splitJoined(err) {
			fmt.Fprintf(env.stderr, "ststack serve: %s\n", m)
		}
		return exitInvalid
	}
	srv, err := newLocalServer(cfg, *data, log, acc, lookupDelegation(cfg, *resolver))
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack serve: %v\n", err)
		return exitInvalid
	}
	defer srv.Close()
	if *sampleData { // dashboard (issue 8)
		if err := loadSampleData(ctx, srv.store, cfg, env, log); err != nil {
			fmt.Fprintf(env.stderr, "ststack serve: %v\n", err)
			return exitInvalid
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack serve: %v\n", err)
		return exitInvalid
	}
	printReady(env, cfg, ln.Addr().String(), *data)
	// --- e-mailed reports: the <data>/inbox/ drop folder (report_ingest.go) ---
	stopInbox := startInbox(ctx, cfg, srv.store, srv.metrics, *data, lookup, log, env)
	defer stopInbox()
	// --- end inbox ---
	return serveUntilDone(ctx, ln, srv, log, env, "serve")
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully;
// serve and dashboard share it, with the limits above.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, env *cliEnv, verb string) int {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serveReadHeaderTimeout,
		ReadTimeout:       serveReadTimeout,
		WriteTimeout:      serveWriteTimeout,
		IdleTimeout:       serveIdleTimeout,
		MaxHeaderBytes:    serveMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(env.stderr, "ststack %s: %v\n", verb, err)
		return exitInvalid
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintf(env.stderr, "ststack %s: shutdown: %v\n", verb, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(env.stderr, "ststack %s: %v\n", verb, err)
	}
	return exitOK
}

// localServer routes one address the way a deployment routes its several
// hostnames: policy hosts to the policy handler, everything else by path.
type localServer struct {
	policy *policyhost.Handler
	mux    *http.ServeMux
	store  *embedded.Store
	// metrics counts what the inbox stores too.
	metrics *prom.Exporter
}

// newLocalServer opens the embedded store in dataDir and builds the routes;
// acc guards the dashboard (see dashboard.Options.Token), del gives it the
// states of delegated client domains (nil: none).
func newLocalServer(cfg *config.Config, dataDir string, log *slog.Logger, acc dashAccess, del dashboard.DelegationStates) (*localServer, error) {
	ph, err := policyhost.New(cfg, policyhost.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	st, err := embedded.Open(dataDir)
	if err != nil {
		return nil, err
	}
	// Metrics (issue 18 §4): the reports stored from now on, the latest
	// check results at each scrape; /metrics below, behind the dashboard's
	// access rule.
	exp := prom.New(cfg.DomainNames(), st)
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: log, Metrics: exp})
	if err != nil {
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(ingest.Path, ingest.NewHandler(in))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	// Dashboard (issue 8): every other path, its own 404 included.
	dash, err := newDashboard(cfg, st, del, acc, "embedded store in "+dataDir, "", log)
	if err != nil {
		st.Close()
		return nil, err
	}
	mux.Handle("GET /metrics", dash.Protect(exp.Handler()))
	mux.Handle("/", dash)
	return &localServer{policy: ph, mux: mux, store: st, metrics: exp}, nil
}

func (s *localServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.policy.IsPolicyHost(r.Host) {
		s.policy.ServeHTTP(w, r)
		return
	}
	// http.ServeMux answers a path with "//", "." or ".." segments with a
	// redirect to its clean form; a report sender must get a plain error
	// instead (nothing here ever redirects), as in AWS.
	if p := r.URL.Path; p != cleanPath(p) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, "not found")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// cleanPath is p as http.ServeMux would clean it: path.Clean, keeping a
// trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// Close closes the store.
func (s *localServer) Close() error { return s.store.Close() }

// printReady prints where the server listens and ready-to-paste commands.
func printReady(env *cliEnv, cfg *config.Config, addr, dataDir string) {
	w := env.stdout
	base := "http://" + addr
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	fmt.Fprintf(w, "ststack: serving %d domain(s) of %q on %s (data in %s)\n", len(cfg.Domains), cfg.Organization, base, abs)
	fmt.Fprintln(w, "\nFetch a policy the way a sending server does (the Host header picks the domain):")
	for i, d := range cfg.Domains {
		if i == 3 {
			fmt.Fprintf(w, "  … and %d more\n", len(cfg.Domains)-i)
			break
		}
		fmt.Fprintf(w, "  curl -sS -H 'Host: %s' %s%s\n", d.PolicyHost(), base, policyhost.WellKnownPath)
	}
	fmt.Fprintln(w, "\nPost a TLS report (RFC 8460) to the report endpoint:")
	fmt.Fprintf(w, "  curl -sS -H 'Content-Type: application/tlsrpt+json' --data-binary @REPORT.json %s%s\n", base, ingest.Path)
	fmt.Fprintf(w, "  curl -sS -H 'Content-Type: application/tlsrpt+gzip' --data-binary @REPORT.json.gz %s%s\n", base, ingest.Path)
	fmt.Fprintf(w, "\nOpen the dashboard: %s/ (JSON API: %s/api/v1/overview)\n", base, base) // issue 8
	fmt.Fprintf(w, "Prometheus metrics: %s/metrics (docs/metrics.md)\n", base)               // issue 18
	if host, _, err := net.SplitHostPort(addr); err == nil && !dashboard.IsLoopbackAddr(host) {
		fmt.Fprintln(w, "\nwarning: listening beyond loopback")
	}
	fmt.Fprintln(w)
}
