package stats

import (
	"testing"
	"time"
)

// TestWindowCountsEverySample checks that the percentiles come from the
// last size samples while Count and Sum cover all of them.
func TestWindowCountsEverySample(t *testing.T) {
	w := NewWindow(2)
	if p := w.Percentiles(); p != (Percentiles{}) {
		t.Fatalf("empty window: %+v", p)
	}
	for _, d := range []time.Duration{5 * time.Second, time.Second, 3 * time.Second} {
		w.Add(d)
	}
	want := Percentiles{N: 2, P50: 3 * time.Second, P90: 3 * time.Second, P99: 3 * time.Second, Max: 3 * time.Second, Count: 3, Sum: 9 * time.Second}
	if p := w.Percentiles(); p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}
