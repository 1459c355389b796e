package dashboard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package (scripts/tools.sh installs
// it); $STSTACK_CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("STSTACK_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// artifactDir is where screenshots go: $STSTACK_ARTIFACTS, else a
// temporary directory of the test.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("STSTACK_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// number parses a number as the pages show it ("12,345").
func number(t *testing.T, what, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q is not a number", what, s)
	}
	return n
}

// TestBrowser loads the overview, a domain page with its triage table, the
// MX view, a tlsa report and the report list in headless Chromium and
// checks that the numbers shown are the stored facts, that the
// stylesheet applies under the Content-Security-Policy and that the page
// logs no error. It is never skipped: without Chromium it fails.
func TestBrowser(t *testing.T) {
	exe := chromiumPath()
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("Chromium is needed for the end-to-end test and is not at %s (%v): run make tools", exe, err)
	}
	// The sample data, and reports where an MX host of example.com starts
	// failing for more senders than the sample data's three a day
	// (triage clusters and an onset for the triage and MX views).
	f := newFixture(t, fixtureOptions{extra: onsetReports([]string{"a.example", "b.example", "c.example", "d.example", "e.example"}, 27)})

	parent, stop := context.WithTimeout(context.Background(), 90*time.Second)
	defer stop()
	actx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}

	// Everything the pages log: a CSP violation (an inline style, a
	// script) or a failed load shows here.
	var (
		mu   sync.Mutex
		logs []string
	)
	cctx, stopConsole := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(cctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				logs = append(logs, m.String())
				mu.Unlock()
			}
		}
	}()
	dir := artifactDir(t)
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	// The overview.
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#domains"))); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Domain, Mode, Reports7, Sessions7, Failed7, Reports30, Sessions30, Failed30, Readiness string
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`Array.from(document.querySelectorAll('#domains tbody tr')).map(tr => {
		const cell = f => tr.querySelector('[data-field="' + f + '"]').firstChild.textContent.trim();
		return {Domain: tr.dataset.domain, Mode: tr.querySelector('[data-field=mode]').innerText.trim(),
			Reports7: cell('reports-7d'), Sessions7: cell('sessions-7d'), Failed7: cell('failed-7d'),
			Reports30: cell('reports-30d'), Sessions30: cell('sessions-30d'), Failed30: cell('failed-30d'),
			Readiness: tr.querySelector('[data-field=readiness] .status').innerText.trim()};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(f.cfg.Domains) {
		t.Fatalf("overview shows %d domains, want %d", len(rows), len(f.cfg.Domains))
	}
	for i, r := range rows {
		d := f.cfg.Domains[i]
		if r.Domain != d.Name || r.Mode != string(d.Policy.Mode) {
			t.Errorf("row %d: %s %s, want %s %s", i, r.Domain, r.Mode, d.Name, d.Policy.Mode)
		}
		w7, w30 := f.expect(d.Name, "2024-03-22", "2024-03-28"), f.expect(d.Name, "2024-02-28", "2024-03-28")
		for _, c := range []struct {
			what string
			got  string
			want int64
		}{
			{"reports 7d", r.Reports7, int64(w7.reports)},
			{"sessions 7d", r.Sessions7, w7.success + w7.failure},
			{"failed 7d", r.Failed7, w7.failure},
			{"reports 30d", r.Reports30, int64(w30.reports)},
			{"sessions 30d", r.Sessions30, w30.success + w30.failure},
			{"failed 30d", r.Failed30, w30.failure},
		} {
			if got := number(t, d.Name+" "+c.what, c.got); got != c.want {
				t.Errorf("%s, %s: shown %d, stored %d", d.Name, c.what, got, c.want)
			}
		}
	}
	look, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`({
		header: getComputedStyle(document.querySelector('header.top')).backgroundColor,
		banner: String(document.getElementById('sample-banner')?.offsetHeight || 0)})`))
	if err != nil {
		t.Fatal(err)
	}
	if look["header"] != "rgb(22, 50, 74)" {
		t.Errorf("the stylesheet does not apply: header background %q", look["header"])
	}
	if look["banner"] == "0" {
		t.Error("the sample data banner is not visible")
	}
	// The rollout column (issue 19): each domain's stage and next step, as
	// the API gives them.
	var ov Overview
	f.getJSON(t, "/api/v1/overview", 200, &ov)
	steps, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(Array.from(document.querySelectorAll('#domains tbody tr')).map(tr =>
		[tr.dataset.domain, tr.querySelector('[data-field=rollout] .status')?.innerText.trim() ?? '']))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ov.Domains {
		if d.Rollout == nil {
			t.Errorf("API overview: no rollout for %s", d.Domain)
			continue
		}
		if want := string(d.Rollout.Stage) + ": " + d.Rollout.Summary; steps[d.Domain] != want {
			t.Errorf("overview rollout of %s: shown %q, API %q", d.Domain, steps[d.Domain], want)
		}
	}
	shoot("dashboard-overview.png")

	// A domain page: totals, the chart's bars, the breakdown by result type.
	const domain = "example.org"
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/domains/"+domain+"?days=30"), chromedp.WaitVisible(chromedp.CSS("#chart-sessions"))); err != nil {
		t.Fatal(err)
	}
	want := f.expect(domain, "2024-02-28", "2024-03-28")
	// Its rollout section: the step the overview named, and its reason.
	step, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById('rollout-step').innerText.trim(), document.getElementById('rollout-reason').innerText.trim()]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ov.Domains {
		if d.Domain == domain && d.Rollout != nil && (len(step) != 2 || step[0] != string(d.Rollout.Stage)+": "+d.Rollout.Summary || step[1] != d.Rollout.Reason) {
			t.Errorf("rollout section of %s: %q, want %q and %q", domain, step, string(d.Rollout.Stage)+": "+d.Rollout.Summary, d.Rollout.Reason)
		}
	}
	type page struct {
		Reports, Success, Failure string
		Bars                      int
		BarSuccess, BarFailure    int64
		ChartWidth                float64
		Types                     map[string]string
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](`(() => {
		const text = id => document.getElementById(id).innerText.trim();
		const bars = Array.from(document.querySelectorAll('#chart-sessions g[data-day]'));
		const types = {};
		document.querySelectorAll('#by-result-type tr').forEach(tr => {
			types[tr.querySelector('th').innerText.trim()] = tr.querySelector('td.num').innerText.trim();
		});
		return {Reports: text('domain-reports'), Success: text('domain-success'), Failure: text('domain-failure'),
			Bars: bars.length,
			BarSuccess: bars.reduce((s, g) => s + Number(g.dataset.success), 0),
			BarFailure: bars.reduce((s, g) => s + Number(g.dataset.failure), 0),
			ChartWidth: document.getElementById('chart-sessions').getBoundingClientRect().width,
			Types: types};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got := number(t, "reports", p.Reports); got != int64(want.reports) {
		t.Errorf("%s reports: shown %d, stored %d", domain, got, want.reports)
	}
	if got := number(t, "success", p.Success); got != want.success || p.BarSuccess != want.success {
		t.Errorf("%s successful sessions: shown %d, chart %d, stored %d", domain, got, p.BarSuccess, want.success)
	}
	if got := number(t, "failure", p.Failure); got != want.failure || p.BarFailure != want.failure {
		t.Errorf("%s failed sessions: shown %d, chart %d, stored %d", domain, got, p.BarFailure, want.failure)
	}
	if p.Bars != 30 || p.ChartWidth < 300 {
		t.Errorf("chart: %d bars, %.0f px wide", p.Bars, p.ChartWidth)
	}
	if len(p.Types) != len(want.byResultType) || len(p.Types) == 0 {
		t.Errorf("result types shown %v, stored %v", p.Types, want.byResultType)
	}
	for k, n := range want.byResultType {
		if got := number(t, k, p.Types[k]); got != n {
			t.Errorf("result type %s: shown %d, stored %d", k, got, n)
		}
	}
	shoot("dashboard-domain.png")

	// The triage view of example.com: one row per cluster, each with the
	// verdict the API gives.
	const rng = "from=2024-03-20&to=2024-03-28"
	var dd DomainDetail
	f.getJSON(t, "/api/v1/domains/example.com?"+rng, 200, &dd)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/domains/example.com?"+rng), chromedp.WaitVisible(chromedp.CSS("#triage-clusters"))); err != nil {
		t.Fatal(err)
	}
	verdicts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#triage-clusters tbody tr')).map(tr =>
		tr.querySelector('th').innerText.trim() + ' ' + tr.dataset.verdict + ' ' + tr.querySelector('td.num').innerText.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	var wantVerdicts []string
	for _, c := range dd.Triage {
		wantVerdicts = append(wantVerdicts, fmt.Sprintf("%s %s %s", c.Day, c.Verdict, formatInt(c.FailedSessions)))
	}
	if len(wantVerdicts) == 0 || !slices.Equal(verdicts, wantVerdicts) {
		t.Errorf("triage rows %q, API %q", verdicts, wantVerdicts)
	}
	shoot("dashboard-triage.png")

	// The MX view, reached by its link: each host's failed sessions as the
	// API gives them, the failing one marked since its first failing day.
	var mv MXView
	f.getJSON(t, "/api/v1/domains/example.com/mx?"+rng, 200, &mv)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#mx-view-link")), chromedp.WaitVisible(chromedp.CSS("#mx-hosts"))); err != nil {
		t.Fatal(err)
	}
	type mxRow struct {
		Host, Failed, Onset string
	}
	mxRows, err := chromedp.Run(ctx, chromedp.Evaluate[[]mxRow](`Array.from(document.querySelectorAll('#mx-hosts tbody tr')).map(tr => ({
		Host: tr.dataset.mx, Failed: tr.querySelector('[data-field="failed-sessions"]').innerText.trim(),
		Onset: tr.querySelector('[data-field="onset"]')?.innerText.trim() || ''}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(mxRows) != len(mv.Hosts) || len(mxRows) == 0 {
		t.Fatalf("MX view shows %d hosts, the API %d", len(mxRows), len(mv.Hosts))
	}
	onsets := 0
	for i, r := range mxRows {
		h := mv.Hosts[i]
		if r.Host != h.MXHost || number(t, h.MXHost, r.Failed) != h.FailedSessions {
			t.Errorf("MX row %d: %s %s, API %s %d", i, r.Host, r.Failed, h.MXHost, h.FailedSessions)
		}
		if h.Onset != nil {
			onsets++
			if r.Onset != "failing since "+string(h.Onset.Since) {
				t.Errorf("%s: shown %q, API onset since %s", h.MXHost, r.Onset, h.Onset.Since)
			}
		}
	}
	if onsets != 1 {
		t.Errorf("%d hosts failing, want mx1.mail.example.net", onsets)
	}
	shoot("dashboard-mx.png")

	// A tlsa report: its records, one per line, as the parser reads them.
	var tlsa ingested
	for _, in := range f.reports {
		if in.rep.ReportID == "133529310241234567+example.com" {
			tlsa = in
		}
	}
	if tlsa.rep == nil {
		t.Fatal("the tlsa sample was not ingested")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/reports/"+tlsa.key), chromedp.WaitVisible(chromedp.CSS(".tlsa-records"))); err != nil {
		t.Fatal(err)
	}
	records, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.tlsa-records li')).map(li => li.innerText.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	var wantRecords []string
	for _, p := range tlsa.rep.Policies {
		wantRecords = append(wantRecords, p.TLSARecords()...)
	}
	if len(wantRecords) != 3 || !slices.Equal(records, wantRecords) {
		t.Errorf("tlsa records shown %q, parsed %q", records, wantRecords)
	}
	shoot("dashboard-tlsa-report.png")

	// The reports with failures, and the newest of them.
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/reports?failures=true&domain="+domain), chromedp.WaitVisible(chromedp.CSS("#reports"))); err != nil {
		t.Fatal(err)
	}
	shoot("dashboard-reports.png")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#reports tbody tr a').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+href), chromedp.WaitVisible(chromedp.CSS("#record"))); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(href, "/reports/")
	var shown ingested
	for _, in := range f.reports {
		if in.key == key {
			shown = in
		}
	}
	if shown.rep == nil {
		t.Fatalf("the list links to %s, which was not ingested", href)
	}
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById('report-success').innerText, document.getElementById('report-failure').innerText]`))
	if err != nil {
		t.Fatal(err)
	}
	var ws, wf int64
	for _, p := range shown.rep.Policies {
		ws += p.Success
		wf += p.Failure
	}
	if number(t, "report success", counts[0]) != ws || number(t, "report failure", counts[1]) != wf || wf == 0 {
		t.Errorf("report %s: shown %v, stored %d/%d", key, counts, ws, wf)
	}
	shoot("dashboard-report.png")

	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		t.Errorf("the page logged: %s", l)
	}
}
