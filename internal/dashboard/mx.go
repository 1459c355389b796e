package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mxhealth"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// MXView is what the MX view of a domain shows: per receiving MX host, its
// health read from the reports (internal/mxhealth; docs/checker.md, "MX
// health from reports") next to what the latest check found about it.
type MXView struct {
	Domain string `json:"domain"`
	DayRange
	SampleData bool     `json:"sample_data"`
	Hosts      []MXHost `json:"hosts"`
	// Unnamed counts the failed sessions whose reports named no MX host.
	Unnamed int64 `json:"unnamed_failed_sessions"`
	// TLSA are the DANE policies naming no single MX host (mxhealth.View
	// .TLSA).
	TLSA       []mxhealth.TLSAPolicy `json:"tlsa"`
	Thresholds mxhealth.Thresholds   `json:"thresholds"`
	// CheckedAt is when the latest check ran; null before the first.
	CheckedAt *string `json:"checked_at"`
}

// MXHost is one MX host: mxhealth.Host's fields, and what the latest check
// says of it.
type MXHost struct {
	mxhealth.Host
	// Remedies explain the DANE result types (dane-required,
	// dnssec-invalid, tlsa-invalid) among the host's failures.
	Remedies []Remedy `json:"remedies"`
	// DANE is the DANE state the latest check found (TLSA records at
	// _25._tcp.<host>, DNSSEC-validated or not); null when it found none.
	DANE *health.DANEState `json:"dane"`
	// Findings are the latest check's findings about this host.
	Findings []health.Finding `json:"findings"`
}

// Remedy is what a result type means and how to fix it.
type Remedy struct {
	ResultType tlsrpt.ResultType `json:"result_type"`
	Remedy     string            `json:"remedy"`
}

// mx reads the MX view of d over r: the facts of one domain (as the
// domain page does) and its latest check.
func (m *model) mx(ctx context.Context, d config.Domain, r DayRange) (*MXView, error) {
	facts, err := m.facts(ctx, d.Name, r)
	if err != nil {
		return nil, err
	}
	chk, err := m.last(ctx, d.Name)
	if err != nil {
		return nil, err
	}
	hv := mxhealth.Hosts(mxhealth.Input{Domain: d.Name, From: r.From, To: r.To, Facts: facts, Counting: m.counting()}, mxhealth.Default)
	v := &MXView{Domain: d.Name, DayRange: r, Hosts: []MXHost{}, Unnamed: hv.Unnamed, TLSA: hv.TLSA, Thresholds: hv.Thresholds}
	byName := map[string]int{}
	for _, h := range hv.Hosts {
		mh := MXHost{Host: h, Remedies: []Remedy{}, Findings: []health.Finding{}}
		for _, c := range h.ByResultType {
			if s := mxhealth.Remedy(tlsrpt.ResultType(c.Key)); s != "" {
				mh.Remedies = append(mh.Remedies, Remedy{ResultType: tlsrpt.ResultType(c.Key), Remedy: s})
			}
		}
		byName[h.MXHost] = len(v.Hosts)
		v.Hosts = append(v.Hosts, mh)
	}
	if chk != nil {
		at := chk.CheckedAt.UTC().Format("2006-01-02T15:04:05Z")
		v.CheckedAt = &at
		// Hosts the check knows and no report named are shown too.
		for _, ds := range chk.DANE {
			if _, ok := byName[ds.Host]; !ok {
				byName[ds.Host] = len(v.Hosts)
				v.Hosts = append(v.Hosts, emptyHost(ds.Host, r))
			}
			ds := ds
			v.Hosts[byName[ds.Host]].DANE = &ds
		}
		for _, f := range chk.Findings {
			if i, ok := byName[f.Subject]; ok && f.Subject != "" {
				v.Hosts[i].Findings = append(v.Hosts[i].Findings, f)
			}
		}
	}
	if v.SampleData, err = m.hasSample(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// emptyHost is a host no report of r names.
func emptyHost(name string, r DayRange) MXHost {
	h := mxhealth.Host{MXHost: name, ByResultType: []store.Count{}, ByOrganization: []store.Count{}, ByNetwork: []store.Count{}, TLSA: []mxhealth.TLSAPolicy{}}
	for d := r.From; d <= r.To; d = d.AddDays(1) {
		h.Days = append(h.Days, mxhealth.HostDay{Day: d, Failing: []string{}, Networks: []string{}, State: mxhealth.StateNoData})
	}
	return MXHost{Host: h, Remedies: []Remedy{}, Findings: []health.Finding{}}
}

// mxDetail reads the MX view's data; false when it answered.
func (h *Handler) mxDetail(w http.ResponseWriter, r *http.Request) (*MXView, bool) {
	return readDomainView(h, w, r, h.m.mx)
}

func (h *Handler) apiMX(w http.ResponseWriter, r *http.Request) {
	if v, ok := h.mxDetail(w, r); ok {
		writeJSON(w, http.StatusOK, v)
	}
}

// mxPage is the data of the MX view.
type mxPage struct {
	*MXView
	Ranges    []rangeLink
	DomainURL string
	APIURL    string
}

func (h *Handler) mxPage(w http.ResponseWriter, r *http.Request) {
	v, ok := h.mxDetail(w, r)
	if !ok {
		return
	}
	p := mxPage{MXView: v, DomainURL: "/domains/" + url.PathEscape(v.Domain),
		APIURL: apiPrefix + "/domains/" + url.PathEscape(v.Domain) + "/mx?" + url.Values{"from": {string(v.From)}, "to": {string(v.To)}}.Encode()}
	today := h.m.today()
	for _, n := range []int{7, 30, 90} {
		p.Ranges = append(p.Ranges, rangeLink{Label: fmt.Sprintf("%d days", n), URL: "?days=" + strconv.Itoa(n),
			Current: lastDays(today, n) == v.DayRange})
	}
	h.render(w, r, http.StatusOK, "mx", "MX hosts of "+v.Domain, p, v.SampleData)
}
