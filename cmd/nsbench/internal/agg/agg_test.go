package agg

import (
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "odd", in: []float64{3, 1, 2}, want: 2},
		{name: "even takes the mean of the middle two", in: []float64{4, 1, 2, 3}, want: 2.5},
		{name: "NaN ignored", in: []float64{3, 1, nan, 2}, want: 2},
		{name: "one", in: []float64{7}, want: 7},
		{name: "empty", in: nil, want: nan},
		{name: "only NaN", in: []float64{nan, nan}, want: nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			got := Median(in)
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] && !math.IsNaN(in[i]) {
					t.Fatalf("Median reordered its input: %v", in)
				}
			}
		})
	}
}

func TestMinMax(t *testing.T) {
	lo, hi := MinMax([]float64{math.NaN(), 5, -1, 3})
	if lo != -1 || hi != 5 {
		t.Errorf("MinMax = %v, %v; want -1, 5", lo, hi)
	}
	lo, hi = MinMax(nil)
	if !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("MinMax(nil) = %v, %v; want NaN, NaN", lo, hi)
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1) // 1..100
	}
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99},
		{name: "p100 is the maximum", sorted: hundred, p: 100, want: 100},
		{name: "tiny p is the minimum", sorted: hundred, p: 0.001, want: 1},
		{name: "p50 of four is the second", sorted: []float64{10, 20, 30, 40}, p: 50, want: 20},
		{name: "p99 of four is the last", sorted: []float64{10, 20, 30, 40}, p: 99, want: 40},
		{name: "p75 of four", sorted: []float64{10, 20, 30, 40}, p: 75, want: 30},
		{name: "one value", sorted: []float64{7}, p: 99, want: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %v, want NaN", got)
	}
}

func TestPairedRatios(t *testing.T) {
	rounds := []string{"1", "2", "3", "4", "5"}
	a := map[string]float64{"1": 100, "2": 200, "3": 0, "4": 50, "5": math.NaN()}
	b := map[string]float64{"1": 110, "2": 180, "3": 10, "5": 70}
	got := PairedRatios(rounds, a, b)
	want := []float64{1.1, 0.9} // round 3: a is 0; 4: no b; 5: a is NaN
	if len(got) != len(want) {
		t.Fatalf("PairedRatios = %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("PairedRatios = %v, want %v", got, want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := map[float64]string{
		0: "0", 12.345: "12.35", 1234.5: "1234", 0.01234: "0.0123", 150.26: "150.3",
		-2.5: "-2.50", 3000: "3000", math.NaN(): "NaN", math.Inf(1): "NaN",
	}
	for v, want := range tests {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
	if got := FormatRatio(0.98765); got != "0.988" {
		t.Errorf("FormatRatio = %q", got)
	}
}

func TestParseMetric(t *testing.T) {
	tests := []struct {
		line, metric, unit string
		v                  float64
		ok                 bool
	}{
		{line: "setup_rate.http=8123.4 conn/s", metric: "setup_rate.http", v: 8123.4, unit: "conn/s", ok: true},
		{line: "bulk_up_1=NaN MB/s", metric: "bulk_up_1", v: math.NaN(), unit: "MB/s", ok: true},
		{line: "idle_tunnels=3000", metric: "idle_tunnels", v: 3000, ok: true},
		{line: "# skipped http: refused"},
		{line: "no equals sign"},
		{line: ""},
	}
	for _, tc := range tests {
		m, v, u, ok := ParseMetric(tc.line)
		if ok != tc.ok || m != tc.metric || u != tc.unit || (v != tc.v && !(math.IsNaN(v) && math.IsNaN(tc.v))) {
			t.Errorf("ParseMetric(%q) = %q %v %q %v", tc.line, m, v, u, ok)
		}
	}
}

// An A/B table: medians per system, the ratio as the median of per-round
// ratios (not the ratio of medians), a metric only one side has, and the
// text and Markdown renderings.
func TestTableAB(t *testing.T) {
	raw := strings.Join([]string{
		"A\t1\tsetup_rate.http=100 conn/s",
		"B\t1\tsetup_rate.http=120 conn/s",
		"A\t2\tsetup_rate.http=200 conn/s",
		"B\t2\tsetup_rate.http=180 conn/s",
		"A\t3\tsetup_rate.http=150 conn/s",
		"B\t3\tsetup_rate.http=160 conn/s",
		"A\t1\t# a comment",
		"B\t1\tonly_b=5 count",
		"garbage line",
	}, "\n")
	var tab Table
	if err := tab.ReadTSV(strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	rows := tab.Rows([]string{"A", "B"})
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	r := rows[0]
	if r.Systems[0].Median != 150 || r.Systems[1].Median != 160 {
		t.Errorf("medians %v / %v, want 150 / 160", r.Systems[0].Median, r.Systems[1].Median)
	}
	// per-round ratios 1.2, 0.9 and 1.0667: median 1.0667, range 0.9–1.2
	if !r.HasRatio || r.Ratio.N != 3 || math.Abs(r.Ratio.Median-160.0/150) > 1e-9 || r.Ratio.Min != 0.9 || r.Ratio.Max != 1.2 {
		t.Errorf("ratio %+v", r.Ratio)
	}
	if rows[1].HasRatio || rows[1].Systems[0].N != 0 || rows[1].Systems[1].Median != 5 {
		t.Errorf("one-sided row %+v", rows[1])
	}
	var text, md strings.Builder
	if err := WriteText(&text, []string{"A", "B"}, rows); err != nil {
		t.Fatal(err)
	}
	wantText := "A.setup_rate.http=150 conn/s\nB.setup_rate.http=160 conn/s\nratio.setup_rate.http=1.067 x\nB.only_b=5 count\n"
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	if err := WriteMarkdown(&md, []string{"A", "B"}, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| B/A paired median [min–max] |", "| setup_rate.http | conn/s | 150 [100–200] | 160 [120–180] | 1.067 [0.900–1.200] |", "| only_b | count | – | 5 [5–5] | – |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// The ratio is the median of the per-round ratios: with rounds where A
// and B move together it differs from the ratio of the medians.
func TestRatioIsPaired(t *testing.T) {
	var tab Table
	for i, p := range [][2]float64{{100, 110}, {300, 330}, {200, 150}} {
		round := string(rune('1' + i))
		tab.Add("A", round, "m", p[0], "x")
		tab.Add("B", round, "m", p[1], "x")
	}
	r := tab.Rows(nil)[0]
	// per round 1.1, 1.1, 0.75 → 1.1; medians 200 and 150 → 0.75
	if math.Abs(r.Ratio.Median-1.1) > 1e-9 {
		t.Errorf("paired ratio %v, want 1.1", r.Ratio.Median)
	}
}

func TestTableOneSystem(t *testing.T) {
	var tab Table
	tab.Add("direct", "1", "setup_rate.raw", 9000, "conn/s")
	tab.Add("direct", "2", "setup_rate.raw", 9400, "conn/s")
	tab.Add("direct", "2", "setup_rate.raw", 9200, "conn/s") // replaces round 2
	rows := tab.Rows(nil)
	var text, md strings.Builder
	WriteText(&text, tab.Systems(), rows)
	WriteMarkdown(&md, tab.Systems(), rows)
	if text.String() != "setup_rate.raw=9100 conn/s\n" {
		t.Errorf("text %q", text.String())
	}
	if !strings.Contains(md.String(), "| setup_rate.raw | conn/s | 9100 | 9000 | 9200 | 2 |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

// A metric that is zero in every round of A has no ratio (0/0 is not a
// figure); one present in rounds that do not pair falls back to the
// ratio of the medians.
func TestRatioUndefinedAndUnpaired(t *testing.T) {
	var tab Table
	tab.Add("A", "1", "errors", 0, "count")
	tab.Add("B", "1", "errors", 0, "count")
	tab.Add("A", "1", "late", 10, "x")
	tab.Add("B", "2", "late", 15, "x")
	rows := tab.Rows([]string{"A", "B"})
	if rows[0].HasRatio {
		t.Errorf("errors: ratio %+v, want none", rows[0].Ratio)
	}
	if r := rows[1]; !r.HasRatio || r.Ratio.N != 0 || r.Ratio.Median != 1.5 {
		t.Errorf("unpaired: %+v, want the ratio of the medians 1.5", r.Ratio)
	}
	var text strings.Builder
	WriteText(&text, []string{"A", "B"}, rows)
	if strings.Contains(text.String(), "ratio.errors") {
		t.Errorf("printed a ratio for errors:\n%s", text.String())
	}
}
