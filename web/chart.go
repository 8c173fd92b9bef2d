package web

import (
	"fmt"
	"sort"
	"time"
)

// chart is a stacked bar chart, one bar per day, laid out in SVG user
// units on the server: the page draws rectangles, it computes nothing.
type chart struct {
	Title         string
	Width, Height int
	Max           int // the top of the scale
	Empty         bool
	Bars          []bar
	Ticks         []tick // y axis
	Labels        []tick // x axis, every few days
	Legend        []legend
}

type bar struct {
	X, Y, W, H float64
	Class      string // s0, s1, ...: the series, never data
	Title      string // the tooltip: day, series, count
}

type tick struct {
	X, Y float64
	Text string
}

type legend struct {
	Class, Name string
	Total       int
}

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartW, chartH     = 900, 260
	padLeft, padRight  = 48, 8
	padTop, padBottom  = 10, 28
	maxSeries          = 8 // the last one is "other" when there are more
	chartLabelInterval = 5 // days between x axis labels
)

// series is one stacked part of every bar: a count per day.
type series struct {
	name  string
	byDay map[string]int
	total int
}

// newChart lays out the series (biggest total first, at the bottom; past
// maxSeries-1 the rest is summed as "other") over days, oldest first.
func newChart(title string, days []string, all []series) chart {
	sort.SliceStable(all, func(i, j int) bool { return all[i].total > all[j].total })
	if len(all) > maxSeries {
		other := series{name: "other", byDay: map[string]int{}}
		for _, s := range all[maxSeries-1:] {
			for d, n := range s.byDay {
				other.byDay[d] += n
			}
			other.total += s.total
		}
		all = append(all[:maxSeries-1:maxSeries-1], other)
	}
	c := chart{Title: title, Width: chartW, Height: chartH}
	max := 0
	for _, d := range days {
		sum := 0
		for _, s := range all {
			sum += s.byDay[d]
		}
		max = maxInt(max, sum)
	}
	c.Empty = max == 0
	c.Max = niceCeil(max)
	plotW, plotH := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBottom)
	slot := plotW / float64(maxInt(len(days), 1))
	scale := plotH / float64(c.Max)
	for i, d := range days {
		x := padLeft + float64(i)*slot
		y := float64(padTop) + plotH
		for si, s := range all {
			n := s.byDay[d]
			if n == 0 {
				continue
			}
			h := float64(n) * scale
			y -= h
			c.Bars = append(c.Bars, bar{X: x + slot*0.1, Y: y, W: slot * 0.8, H: h, Class: fmt.Sprintf("s%d", si),
				Title: fmt.Sprintf("%s %s: %d", d, s.name, n)})
		}
		if (len(days)-1-i)%chartLabelInterval == 0 {
			c.Labels = append(c.Labels, tick{X: x + slot/2, Y: chartH - 8, Text: d[5:]})
		}
	}
	for i := 0; i <= 4; i++ {
		v := c.Max * i / 4
		c.Ticks = append(c.Ticks, tick{X: padLeft - 6, Y: float64(padTop) + plotH - float64(v)*scale, Text: fmt.Sprint(v)})
	}
	for si, s := range all {
		c.Legend = append(c.Legend, legend{Class: fmt.Sprintf("s%d", si), Name: s.name, Total: s.total})
	}
	return c
}

// niceCeil rounds n up to 1, 2, 4, 5 or 8 times a power of ten that four
// divides (at least 4), so that the four ticks are whole numbers.
func niceCeil(n int) int {
	if n <= 4 {
		return 4
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 4, 5, 8} {
			if v := m * p; v >= n && v%4 == 0 {
				return v
			}
		}
		if p > n {
			return (n + 3) / 4 * 4
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// lastDays returns the n UTC days up to and including now's, oldest first.
func lastDays(now time.Time, n int) []string {
	now = now.UTC()
	out := make([]string, n)
	for i := range out {
		out[i] = now.AddDate(0, 0, i-n+1).Format(time.DateOnly)
	}
	return out
}
