// Package agg turns the harness's per-round measurements into what the
// README quotes: the median of each metric per system over the rounds,
// its spread, and for an A/B run the median of the per-round ratios B/A.
// It also holds the small statistics the load client reports with
// (percentiles) and the one number format every output shares. It does
// no I/O beyond the reader and writers it is given.
package agg

import (
	"math"
	"slices"
	"strconv"
)

// Median returns the median of the values that are not NaN (the mean of
// the middle two for an even count), or NaN when there are none. vs is
// not modified.
func Median(vs []float64) float64 {
	xs := make([]float64, 0, len(vs))
	for _, v := range vs {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// MinMax returns the smallest and largest values that are not NaN, or
// two NaNs when there are none.
func MinMax(vs []float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	for _, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(lo) || v < lo {
			lo = v
		}
		if math.IsNaN(hi) || v > hi {
			hi = v
		}
	}
	return lo, hi
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value with at
// least p % of the values at or below it. It is NaN for an empty slice.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// PairedRatios returns b[r]/a[r] for every round r present in both, in
// the order of rounds, skipping rounds where either value is NaN or a is
// zero. Pairing by round cancels what a round shares between the two
// systems (the machine's load at that time).
func PairedRatios(rounds []string, a, b map[string]float64) []float64 {
	var out []float64
	for _, r := range rounds {
		av, okA := a[r]
		bv, okB := b[r]
		if !okA || !okB || av == 0 || math.IsNaN(av) || math.IsNaN(bv) {
			continue
		}
		out = append(out, bv/av)
	}
	return out
}

// FormatValue prints v with as many digits as a figure of its size
// deserves: integers as integers, then 0, 1, 2 or 4 decimals for values
// from 1000, 100, 1 and below 1; NaN and infinities as "NaN".
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NaN"
	}
	a := math.Abs(v)
	if v == math.Trunc(v) && a < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	prec := 4
	switch {
	case a >= 1000:
		prec = 0
	case a >= 100:
		prec = 1
	case a >= 1:
		prec = 2
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// FormatRatio prints a ratio with three decimals.
func FormatRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
