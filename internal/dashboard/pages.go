package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mxhealth"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// The HTML pages: html/template escapes everything that came from reports
// (organisation names, report-ids, reason codes, MX names); charts are SVG
// made on the server (chart.go). Tables read without JavaScript; the pages
// have none.

// pageNames are the templates under assets/templates, each defining
// "content" for the "layout" of layout.html.
var pageNames = []string{"overview", "domain", "mx", "reports", "report", "error"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"num":       formatInt,
		"rate":      formatRate,
		"share":     shareBar,
		"when":      formatTime,
		"orNone":    orNone,
		"sevClass":  func(s health.Severity) string { return "sev-" + s.String() },
		"daysLeft":  formatDaysLeft,
		"reportURL": func(key string) string { return "/reports/" + url.PathEscape(key) },
		// reportsURL is the report list of a query that url.Values.Encode
		// built (SenderRow.ReportsQuery): already escaped.
		"reportsURL": func(query string) template.URL { return template.URL("/reports?" + query) },
		"domainURL":  func(d string) string { return "/domains/" + url.PathEscape(d) },
		"known":      func(t tlsrpt.ResultType) bool { return t.Known() },
		"int64":      func(n int) int64 { return int64(n) },
		"add":        addSat,
		"dict":       dict,
		"lastState":  lastState,
		"daneRemedy": mxhealth.Remedy,
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/rollout.html", "assets/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what the layout shows around a page's content.
type page struct {
	Title        string
	Organization string
	Sample       bool
	Source       string
	Now          time.Time
	Data         any
}

// render executes page name into a buffer first, so that a template error
// gives a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, sample bool) {
	var b bytes.Buffer
	err := h.pages[name].ExecuteTemplate(&b, "layout", page{
		Title: title, Organization: h.m.cfg.Organization, Sample: sample,
		Source: h.source, Now: h.m.now().UTC(), Data: data,
	})
	if err != nil {
		h.log.ErrorContext(r.Context(), "dashboard: template", "page", name, "error", err.Error())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// errorPage is the data of the error page.
type errorPage struct {
	Status     int
	StatusText string
	Message    string
}

func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request) {
	o, err := h.m.overview(r.Context())
	if err != nil {
		h.storeError(w, r, err, "data")
		return
	}
	h.render(w, r, http.StatusOK, "overview", "Overview", o, o.SampleData)
}

// domainView is the data of the domain page.
type domainView struct {
	*DomainDetail
	SessionsChart, FailuresChart template.HTML
	// Findings are the latest check's, worst first.
	Findings []health.Finding
	// Ranges are links to common ranges.
	Ranges []rangeLink
	// ReportsURL lists the range's reports of the domain.
	ReportsURL string
	// SilenceLookbackDays and SilenceSenderDays are checker.silence's.
	SilenceLookbackDays, SilenceSenderDays int
}

type rangeLink struct {
	Label, URL string
	Current    bool
}

func (h *Handler) domainPage(w http.ResponseWriter, r *http.Request) {
	dd, ok := h.domainDetail(w, r)
	if !ok {
		return
	}
	v := domainView{DomainDetail: dd, SessionsChart: sessionsChart(dd), FailuresChart: failuresChart(dd),
		SilenceLookbackDays: h.m.cfg.Checker.SilenceLookbackDays, SilenceSenderDays: h.m.cfg.Checker.SilenceSenderDays}
	if dd.Check != nil {
		v.Findings = sortFindings(dd.Check.Findings)
	}
	today := h.m.today()
	for _, n := range []int{7, 30, 90, 365} {
		rg := lastDays(today, n)
		v.Ranges = append(v.Ranges, rangeLink{Label: fmt.Sprintf("%d days", n),
			URL: "?days=" + strconv.Itoa(n), Current: rg == dd.DayRange})
	}
	q := url.Values{"domain": {dd.Domain}, "from": {string(dd.From)}, "to": {string(dd.To)}}
	v.ReportsURL = "/reports?" + q.Encode()
	h.render(w, r, http.StatusOK, "domain", dd.Domain, v, dd.SampleData)
}

// sortFindings orders findings worst first, keeping the checker's order
// within a severity.
func sortFindings(fs []health.Finding) []health.Finding {
	out := make([]health.Finding, 0, len(fs))
	for s := health.SeverityError; s >= health.SeverityInfo; s-- {
		for _, f := range fs {
			if f.Severity == s {
				out = append(out, f)
			}
		}
	}
	return out
}

// reportsView is the data of the report list page.
type reportsView struct {
	*ReportList
	Domains     []string
	ResultTypes []string
	Prev, Next  string
	First, Last int
}

func (h *Handler) reportsPage(w http.ResponseWriter, r *http.Request) {
	l, ok := h.reportList(w, r)
	if !ok {
		return
	}
	v := reportsView{ReportList: l, Domains: h.m.cfg.DomainNames()}
	for _, t := range resultTypes {
		v.ResultTypes = append(v.ResultTypes, string(t))
	}
	f := l.Filter
	if len(l.Reports) > 0 {
		v.First, v.Last = f.Offset+1, f.Offset+len(l.Reports)
	}
	if f.Offset > 0 {
		p := f
		p.Offset = max(f.Offset-f.Limit, 0)
		v.Prev = "/reports?" + p.values().Encode()
	}
	if f.Offset+f.Limit < l.Total {
		n := f
		n.Offset = f.Offset + f.Limit
		v.Next = "/reports?" + n.values().Encode()
	}
	sample, err := h.m.hasSample(r.Context())
	if err != nil {
		h.storeError(w, r, err, "data")
		return
	}
	h.render(w, r, http.StatusOK, "reports", "Reports", v, sample)
}

// resultTypes are the result types of RFC 8460 §4.3 in the order of the
// registry.
var resultTypes = []tlsrpt.ResultType{
	tlsrpt.ResultSTARTTLSNotSupported, tlsrpt.ResultCertificateHostMismatch, tlsrpt.ResultCertificateExpired,
	tlsrpt.ResultCertificateNotTrusted, tlsrpt.ResultValidationFailure, tlsrpt.ResultTLSAInvalid,
	tlsrpt.ResultDNSSECInvalid, tlsrpt.ResultDANERequired, tlsrpt.ResultSTSPolicyFetchError,
	tlsrpt.ResultSTSPolicyInvalid, tlsrpt.ResultSTSWebPKIInvalid,
}

// reportView is the data of the report page.
type reportView struct {
	*ReportView
	Parsed *tlsrpt.Report
	// Served tells which policy domains the organisation serves.
	Served map[string]bool
	// NormalisedText is the normalised report, indented.
	NormalisedText string
	APIURL         string
}

func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request) {
	rv, err := h.m.report(r.Context(), r.PathValue("key"))
	if err != nil {
		h.storeError(w, r, err, "report")
		return
	}
	v := reportView{ReportView: rv, Parsed: rv.parsed, Served: map[string]bool{},
		APIURL: apiPrefix + "/reports/" + url.PathEscape(rv.Report.Key)}
	for _, d := range h.m.cfg.Domains {
		v.Served[d.Name] = true
	}
	if rv.Normalised != nil {
		var b bytes.Buffer
		if err := json.Indent(&b, rv.Normalised, "", "  "); err == nil {
			v.NormalisedText = b.String()
		}
	}
	sample, err := h.m.hasSample(r.Context())
	if err != nil {
		h.storeError(w, r, err, "data")
		return
	}
	h.render(w, r, http.StatusOK, "report", "Report "+rv.Report.ReportID, v, sample || rv.Sample)
}

// lastState is the state of the last day of days with reports, "" when
// none has.
func lastState(days []mxhealth.HostDay) string {
	for _, d := range slices.Backward(days) {
		if d.State != mxhealth.StateNoData {
			return d.State
		}
	}
	return ""
}

// dict builds a map from key, value pairs, for passing several values
// to a template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// addSat adds two counts, saturating instead of overflowing.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// formatInt writes n with thousands separated by commas.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatRate writes a failure rate as a percentage, "–" when there is
// none.
func formatRate(r *float64) string {
	switch {
	case r == nil:
		return "–"
	case *r == 0:
		return "0 %"
	case *r < 0.0001:
		return "< 0.01 %"
	}
	return strconv.FormatFloat(100**r, 'f', 2, 64) + " %"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatDaysLeft shows the days to the expiry of c; without them, what the
// check's verdict implies.
func formatDaysLeft(c Certificate) string {
	if c.DaysLeft == nil {
		if c.Status == CertOK {
			return fmt.Sprintf("> %d days", health.CertWarnDays)
		}
		return "–"
	}
	n := *c.DaysLeft
	switch {
	case c.Status == CertExpired && n >= 0:
		return "not yet valid"
	case n < 0:
		return fmt.Sprintf("expired %s ago", plural(-n, "day"))
	case n == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// orNone shows an empty breakdown key as "(not reported)".
func orNone(s string) string {
	if s == "" {
		return "(not reported)"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
