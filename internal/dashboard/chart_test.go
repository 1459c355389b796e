package dashboard

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct{ v, top, step int64 }{
		{0, 1, 1}, {1, 1, 1}, {2, 2, 1}, {5, 5, 1}, {6, 6, 2}, {9, 10, 2}, {10, 10, 2},
		{11, 15, 5}, {24, 25, 5}, {26, 30, 10}, {99, 100, 20}, {631, 800, 200}, {1001, 1500, 500},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64 / 5},
	}
	for _, tc := range tests {
		top, step := niceCeil(tc.v)
		if top != tc.top || step != tc.step {
			t.Errorf("niceCeil(%d) = %d, %d; want %d, %d", tc.v, top, step, tc.top, tc.step)
		}
		if top < tc.v || step <= 0 || top/step > 5 {
			t.Errorf("niceCeil(%d) = %d, %d: not a ceiling in at most 5 steps", tc.v, top, step)
		}
	}
}

// svgDoc is what the tests read of a chart.
type svgDoc struct {
	Title  string     `xml:"title"`
	Groups []svgGroup `xml:"g"`
}

type svgGroup struct {
	Class string `xml:"class,attr"`
	Bars  []struct {
		Day     string `xml:"data-day,attr"`
		Success string `xml:"data-success,attr"`
		Title   string `xml:"title"`
		Rects   []struct {
			Class  string  `xml:"class,attr"`
			Height float64 `xml:"height,attr"`
		} `xml:"rect"`
	} `xml:"g"`
}

func TestBarChart(t *testing.T) {
	days := []DayPoint{
		{Day: "2024-03-01", Reports: 2, Success: 300, Failure: 100},
		{Day: "2024-03-02"},
		{Day: "2024-03-03", Reports: 1, Success: 1000, Failure: 1},
	}
	dd := &DomainDetail{Domain: `evil<"&>.example`, DayRange: DayRange{"2024-03-01", "2024-03-03"}, Daily: days}
	out := string(sessionsChart(dd))
	var doc svgDoc
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, out)
	}
	if !strings.Contains(doc.Title, `evil<"&>.example`) || strings.Contains(out, `evil<`) {
		t.Errorf("title %q not escaped in %s", doc.Title, out)
	}
	var bars *svgGroup
	for i := range doc.Groups {
		if doc.Groups[i].Class == "bars" {
			bars = &doc.Groups[i]
		}
	}
	if bars == nil || len(bars.Bars) != 3 {
		t.Fatalf("bars: %+v", bars)
	}
	// Heights are proportional to counts on a scale topped at 1500.
	plotH := float64(chartHeight - chartTop - chartBottom)
	heights := func(i int) map[string]float64 {
		m := map[string]float64{}
		for _, r := range bars.Bars[i].Rects {
			m[r.Class] = r.Height
		}
		return m
	}
	h0, h1, h2 := heights(0), heights(1), heights(2)
	if math.Abs(h0["ok"]-plotH*300/1500) > 0.1 || math.Abs(h0["fail"]-plotH*100/1500) > 0.1 {
		t.Errorf("day 1: %v", h0)
	}
	if len(h1) != 0 {
		t.Errorf("an empty day has bars: %v", h1)
	}
	if h2["fail"] < minBarHeight {
		t.Errorf("one failure is invisible: %v", h2)
	}
	if n, _ := strconv.Atoi(bars.Bars[2].Success); n != 1000 || bars.Bars[2].Day != "2024-03-03" ||
		!strings.Contains(bars.Bars[2].Title, "1,000 successful, 1 failed") {
		t.Errorf("day 3: %+v", bars.Bars[2])
	}

	// No day, no data: still a well-formed chart.
	for _, d := range [][]DayPoint{nil, {{Day: "2024-03-01"}}} {
		out := string(failuresChart(&DomainDetail{Domain: "x", Daily: d}))
		if err := xml.Unmarshal([]byte(out), &svgDoc{}); err != nil {
			t.Errorf("%d days: %v", len(d), err)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456",
		-1234567: "-1,234,567", math.MaxInt64: "9,223,372,036,854,775,807"} {
		if got := formatInt(n); got != want {
			t.Errorf("formatInt(%d) = %q, want %q", n, got, want)
		}
	}
	rate := func(f float64) *float64 { return &f }
	for _, tc := range []struct {
		r    *float64
		want string
	}{{nil, "–"}, {rate(0), "0 %"}, {rate(0.00001), "< 0.01 %"}, {rate(0.0234), "2.34 %"}, {rate(1), "100.00 %"}} {
		if got := formatRate(tc.r); got != tc.want {
			t.Errorf("formatRate(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func BenchmarkSessionsChart(b *testing.B) {
	dd := &DomainDetail{Domain: "example.com", DayRange: DayRange{"2023-03-29", "2024-03-28"}}
	for i := range 366 {
		dd.Daily = append(dd.Daily, DayPoint{Day: dd.From.AddDays(i), Reports: 3, Success: int64(1000 + i), Failure: int64(i % 7)})
	}
	b.ReportAllocs()
	for b.Loop() {
		sessionsChart(dd)
	}
}
