package agg

import (
	"math"
	"strings"
	"testing"
)

// A parsed line printed back the way the load client prints it parses to
// the same metric, value (to the printed precision) and unit.
func FuzzParseMetric(f *testing.F) {
	for _, s := range []string{
		"setup_rate.http=8123.4 conn/s", "bulk_up_1=NaN MB/s", "idle_tunnels=3000",
		"# skipped http", "=1 x", "a==b c d", "x=1e308 y", "x=-0.0001 z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, v, unit, ok := ParseMetric(line)
		if !ok {
			return
		}
		if m == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			t.Fatalf("ParseMetric(%q) accepted metric %q", line, m)
		}
		if strings.ContainsAny(m, "\n") || strings.ContainsAny(unit, "\n") {
			return // not a line the client writes
		}
		m2, v2, unit2, ok2 := ParseMetric(m + "=" + FormatValue(v) + " " + unit)
		if !ok2 || m2 != m || unit2 != unit {
			t.Fatalf("round trip of %q: %q %v %q %v", line, m2, v2, unit2, ok2)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e15 {
			return
		}
		if tol := math.Max(1, math.Abs(v)) * 1e-2; math.Abs(v2-v) > tol {
			t.Fatalf("round trip of %q: value %v became %v", line, v, v2)
		}
	})
}
