package agg

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Table collects measurements: for each system and metric, one value per
// round. The zero value is empty and ready to use.
type Table struct {
	systems []string // in the order first seen
	metrics []string // in the order first seen
	rounds  []string // in the order first seen
	series  map[seriesKey]*series
}

type seriesKey struct{ system, metric string }

type series struct {
	unit    string
	byRound map[string]float64
}

// values returns the series' values in the order of rounds.
func (s *series) values(rounds []string) []float64 {
	var out []float64
	for _, r := range rounds {
		if v, ok := s.byRound[r]; ok {
			out = append(out, v)
		}
	}
	return out
}

// ParseMetric parses one line of the load client's output,
// "metric=value unit". A value that is not a number (the client prints
// NaN for a failed measurement) parses as NaN. Comment lines ("#...")
// and lines without "=" report ok false.
func ParseMetric(line string) (metric string, v float64, unit string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", 0, "", false
	}
	metric, rest, ok := strings.Cut(line, "=")
	if !ok || metric == "" {
		return "", 0, "", false
	}
	vs, unit, _ := strings.Cut(rest, " ")
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		v = math.NaN()
	}
	return metric, v, strings.TrimSpace(unit), true
}

// Add records one value. A second value for the same system, metric and
// round replaces the first.
func (t *Table) Add(system, round, metric string, v float64, unit string) {
	if t.series == nil {
		t.series = map[seriesKey]*series{}
	}
	k := seriesKey{system, metric}
	s := t.series[k]
	if s == nil {
		s = &series{unit: unit, byRound: map[string]float64{}}
		t.series[k] = s
		if !t.hasSystem(system) {
			t.systems = append(t.systems, system)
		}
		if !t.hasMetric(metric) {
			t.metrics = append(t.metrics, metric)
		}
	}
	if !t.hasRound(round) {
		t.rounds = append(t.rounds, round)
	}
	s.byRound[round] = v
}

func (t *Table) hasSystem(s string) bool { return contains(t.systems, s) }
func (t *Table) hasMetric(m string) bool { return contains(t.metrics, m) }
func (t *Table) hasRound(r string) bool  { return contains(t.rounds, r) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Systems returns the systems in the order they were first added.
func (t *Table) Systems() []string { return append([]string(nil), t.systems...) }

// ReadTSV adds the lines "system<TAB>round<TAB>metric=value unit" of r to
// t, skipping comments and lines of any other shape.
func (t *Table) ReadTSV(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			continue
		}
		metric, v, unit, ok := ParseMetric(parts[2])
		if !ok {
			continue
		}
		t.Add(parts[0], parts[1], metric, v, unit)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("agg: read measurements: %w", err)
	}
	return nil
}

// Summary is one system's figure for one metric over the rounds.
type Summary struct {
	N                int // rounds with a value (NaN included)
	Median, Min, Max float64
}

// Row is one metric of a report.
type Row struct {
	Metric, Unit string
	// Systems holds one summary per system of the report, in its order;
	// N is 0 where that system has no value.
	Systems []Summary
	// Ratio, for a report of two systems with values for both, is the
	// median of the per-round ratios second/first and their spread;
	// without a single paired round it is the ratio of the medians
	// (Ratio.N 0). HasRatio says whether there is one: not when the
	// first system's values are all zero (errors_setup, typically).
	Ratio    Summary
	HasRatio bool
}

// Rows summarises every metric, in the order first seen, for the given
// systems (nil: all, in the order first seen).
func (t *Table) Rows(systems []string) []Row {
	if systems == nil {
		systems = t.systems
	}
	var rows []Row
	for _, m := range t.metrics {
		row := Row{Metric: m, Systems: make([]Summary, len(systems))}
		present := 0
		for i, sys := range systems {
			s := t.series[seriesKey{sys, m}]
			if s == nil {
				continue
			}
			present++
			if row.Unit == "" {
				row.Unit = s.unit
			}
			vs := s.values(t.rounds)
			lo, hi := MinMax(vs)
			row.Systems[i] = Summary{N: len(vs), Median: Median(vs), Min: lo, Max: hi}
		}
		if present == 0 {
			continue
		}
		if len(systems) == 2 && present == 2 {
			row.Ratio, row.HasRatio = t.ratio(systems, m, row.Systems)
		}
		rows = append(rows, row)
	}
	return rows
}

// ratio computes the paired ratio of metric m between the two systems.
func (t *Table) ratio(systems []string, m string, sums []Summary) (Summary, bool) {
	a, b := t.series[seriesKey{systems[0], m}], t.series[seriesKey{systems[1], m}]
	ratios := PairedRatios(t.rounds, a.byRound, b.byRound)
	if len(ratios) == 0 {
		med := sums[1].Median / sums[0].Median
		if math.IsNaN(med) || math.IsInf(med, 0) {
			return Summary{}, false
		}
		return Summary{Median: med, Min: math.NaN(), Max: math.NaN()}, true
	}
	lo, hi := MinMax(ratios)
	return Summary{N: len(ratios), Median: Median(ratios), Min: lo, Max: hi}, true
}
