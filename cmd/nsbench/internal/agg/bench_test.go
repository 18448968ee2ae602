package agg

import (
	"io"
	"strconv"
	"testing"
)

// BenchmarkReport summarises a full A/B run's worth of values (80
// metrics, two systems, five rounds) and renders both outputs.
func BenchmarkReport(b *testing.B) {
	var tab Table
	for m := range 80 {
		for r := range 5 {
			round := strconv.Itoa(r + 1)
			tab.Add("A", round, "metric"+strconv.Itoa(m), float64(100+m+r), "x")
			tab.Add("B", round, "metric"+strconv.Itoa(m), float64(110+m-r), "x")
		}
	}
	systems := []string{"A", "B"}
	b.ReportAllocs()
	for b.Loop() {
		rows := tab.Rows(systems)
		WriteText(io.Discard, systems, rows)
		WriteMarkdown(io.Discard, systems, rows)
	}
}
