package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/ststack/ststack/internal/store"
)

// Server-side SVG charts: no script, no external library, no inline style
// (the Content-Security-Policy allows none); colours come from the
// stylesheet through classes. Every text in them is escaped.

// Chart geometry, in SVG user units.
const (
	chartWidth   = 760
	chartHeight  = 220
	chartLeft    = 56 // room for the y-axis labels
	chartRight   = 8
	chartTop     = 12
	chartBottom  = 28 // room for the x-axis labels
	maxXLabels   = 10
	minBarHeight = 1.5 // a non-zero count stays visible
)

// segment is one part of a stacked bar.
type segment struct {
	class string
	value int64
}

// bar is one day of a chart: its label, its tooltip and its segments from
// the bottom up.
type bar struct {
	day      string
	title    string
	segments []segment
	attrs    []attr // data-* attributes
}

// attr is a data-* attribute of a bar.
type attr struct {
	name  string
	value int64
}

// niceCeil returns the smallest 1, 2 or 5 times a power of ten that is at
// least v (and 1 for v ≤ 1), and the tick step that divides it into at most
// five intervals.
func niceCeil(v int64) (top, step int64) {
	if v <= 1 {
		return 1, 1
	}
	for p := int64(1); p <= math.MaxInt64/50; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if s := m * p; s*5 >= v {
				return (v + s - 1) / s * s, s
			}
		}
	}
	return v, max(v/5, 1) // beyond any real count
}

// barChart renders bars as a stacked bar chart titled title.
func barChart(id, title string, bars []bar) template.HTML {
	var peak int64
	for _, b := range bars {
		var sum int64
		for _, s := range b.segments {
			sum = store.AddSat(sum, s.value)
		}
		peak = max(peak, sum)
	}
	top, step := niceCeil(peak)
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	y := func(v int64) float64 { return chartTop + plotH - plotH*float64(v)/float64(top) }

	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title">`,
		esc(id), chartWidth, chartHeight, esc(id))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, esc(id), esc(title))
	b.WriteString(`<g class="axis">`)
	for i := int64(0); i <= top/step; i++ {
		v := i * step
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartWidth-chartRight, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, chartLeft-6, y(v), esc(formatInt(v)))
	}
	b.WriteString(`</g>`)
	if len(bars) == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := plotW / float64(len(bars))
	gap := min(slot*0.2, 4)
	every := (len(bars) + maxXLabels - 1) / maxXLabels
	b.WriteString(`<g class="bars">`)
	for i, br := range bars {
		x := float64(chartLeft) + float64(i)*slot + gap/2
		fmt.Fprintf(&b, `<g data-day="%s"`, esc(br.day))
		for _, a := range br.attrs {
			fmt.Fprintf(&b, ` data-%s="%d"`, esc(a.name), a.value)
		}
		fmt.Fprintf(&b, `><title>%s</title>`, esc(br.title))
		var base int64
		for _, s := range br.segments {
			if s.value <= 0 {
				continue
			}
			y0, y1 := y(base), y(base+s.value)
			if y0-y1 < minBarHeight {
				y1 = y0 - minBarHeight
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, esc(s.class), x, y1, slot-gap, y0-y1)
			base = store.AddSat(base, s.value)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</g><g class="xlabels">`)
	for i, br := range bars {
		if i%every != 0 {
			continue
		}
		x := float64(chartLeft) + (float64(i)+0.5)*slot
		label := br.day
		if len(label) == len("2006-01-02") {
			label = label[5:]
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, chartHeight-8, esc(label))
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

// sessionsChart is the daily successful and failed sessions, stacked.
func sessionsChart(dd *DomainDetail) template.HTML {
	bars := make([]bar, len(dd.Daily))
	for i, p := range dd.Daily {
		bars[i] = bar{
			day:      string(p.Day),
			title:    fmt.Sprintf("%s: %s successful, %s failed sessions in %s", p.Day, formatInt(p.Success), formatInt(p.Failure), plural(p.Reports, "report")),
			segments: []segment{{"ok", p.Success}, {"fail", p.Failure}},
			attrs:    []attr{{"success", p.Success}, {"failure", p.Failure}, {"reports", int64(p.Reports)}},
		}
	}
	return barChart("chart-sessions", fmt.Sprintf("Sessions per day of %s, %s to %s", dd.Domain, dd.From, dd.To), bars)
}

// failuresChart is the daily failed sessions on their own scale.
func failuresChart(dd *DomainDetail) template.HTML {
	bars := make([]bar, len(dd.Daily))
	for i, p := range dd.Daily {
		bars[i] = bar{
			day:      string(p.Day),
			title:    fmt.Sprintf("%s: %s failed sessions", p.Day, formatInt(p.Failure)),
			segments: []segment{{"fail", p.Failure}},
			attrs:    []attr{{"failure", p.Failure}},
		}
	}
	return barChart("chart-failures", fmt.Sprintf("Failed sessions per day of %s, %s to %s", dd.Domain, dd.From, dd.To), bars)
}

// shareBar is a small horizontal bar showing part of whole.
func shareBar(part, whole int64) template.HTML {
	w := 0.0
	if whole > 0 {
		w = 100 * float64(part) / float64(whole)
	}
	return template.HTML(fmt.Sprintf(`<svg class="share" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="8"/><rect class="fill" width="%.2f" height="8"/></svg>`, w))
}
