package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/sample"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/store/embedded"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// The fixtures: the example organisation, real reports from
// testdata/tlsrpt about its domains, and the sample data,
// ingested through package ingest at a fixed time.
const (
	exampleConfig = "../../ststack.example.yaml"
	realReports   = "../../testdata/tlsrpt"
)

// fixtureNow is two days after the last real report about example.com.
var fixtureNow = time.Date(2024, 3, 28, 12, 0, 0, 0, time.UTC)

// ingested is a report as it was given to the store.
type ingested struct {
	rep *tlsrpt.Report
	raw []byte
	key string
}

type fixture struct {
	cfg     *config.Config
	st      *embedded.Store
	h       *Handler
	srv     *httptest.Server
	reports []ingested
	checks  []health.Result
}

type fixtureOptions struct {
	noSample bool
	// extra are further raw reports to ingest.
	extra [][]byte
	token string
}

func loadConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newFixture ingests the real reports about the example's domains, the
// sample data (unless o.noSample) and o.extra, and serves the dashboard.
func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{cfg: loadConfig(t)}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	in, err := ingest.New(st, ingest.Options{Domains: f.cfg.DomainNames(), Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	add := func(raw []byte) bool {
		res, err := in.Ingest(ctx, raw, ingest.ChannelHTTPS)
		if errors.Is(err, ingest.ErrNotServed) {
			return false
		}
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		f.reports = append(f.reports, ingested{rep: res.Report, raw: raw, key: res.Key})
		return true
	}
	names, err := filepath.Glob(filepath.Join(realReports, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no real reports in %s: %v", realReports, err)
	}
	served := 0
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		// The fixture's world ends at fixtureNow: a real report
		// starting after it (parsedmarc's June 2024 sample) would be one
		// from the future, which ingestion refuses as implausible.
		if rep, err := tlsrpt.ParseReport(raw, tlsrpt.Limits{}); err != nil {
			t.Fatalf("%s: %v", n, err)
		} else if rep.Start.After(fixtureNow) {
			continue
		}
		if add(raw) {
			served++
		}
	}
	if served < 3 {
		t.Fatalf("only %d real reports about the example's domains", served)
	}
	if !o.noSample {
		so := sample.Options{End: fixtureNow.AddDate(0, 0, -1)}
		for _, r := range sample.Reports(f.cfg, so) {
			raw, err := sample.Gzip(r)
			if err != nil {
				t.Fatal(err)
			}
			add(raw)
		}
		f.checks = sample.Checks(f.cfg, so)
		for _, c := range f.checks {
			if err := st.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, raw := range o.extra {
		if !add(raw) {
			t.Fatal("extra report about no served domain")
		}
	}
	h, err := New(Options{Config: f.cfg, Store: st, Token: o.token, Source: "test fixture",
		Now: func() time.Time { return fixtureNow }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// sums are the expected numbers of one domain over a day range, computed
// from the reports as ingested, independently of package store.
type sums struct {
	reports          int
	success, failure int64
	byDay            map[store.Day][2]int64
	byResultType     map[string]int64
	byOrg            map[string][2]int64
}

func (f *fixture) expect(domain string, from, to store.Day) sums {
	s := sums{byDay: map[store.Day][2]int64{}, byResultType: map[string]int64{}, byOrg: map[string][2]int64{}}
	for _, in := range f.reports {
		day := store.Day(in.rep.Start.UTC().Format("2006-01-02"))
		if day < from || day > to {
			continue
		}
		counted := false
		for _, p := range in.rep.Policies {
			if p.Domain != domain {
				continue
			}
			if !counted {
				s.reports++
				counted = true
			}
			s.success += p.Success
			s.failure += p.Failure
			d := s.byDay[day]
			s.byDay[day] = [2]int64{d[0] + p.Success, d[1] + p.Failure}
			org := strings.ToLower(strings.TrimSpace(in.rep.OrganizationName))
			o := s.byOrg[org]
			s.byOrg[org] = [2]int64{o[0] + p.Success, o[1] + p.Failure}
			for _, fd := range p.Failures {
				s.byResultType[string(fd.ResultType)] += fd.Count
			}
		}
	}
	return s
}

// get fetches path from the fixture's server.
func (f *fixture) get(t testing.TB, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// getJSON fetches path, wants status and decodes the body into v.
func (f *fixture) getJSON(t testing.TB, path string, status int, v any) {
	t.Helper()
	resp, b := f.get(t, path)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", path, resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}
