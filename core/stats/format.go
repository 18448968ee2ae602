package stats

import (
	"math"
	"strconv"
	"time"
)

// FormatBytes renders a byte count the way /stats shows it: 0 is "0";
// otherwise the value is scaled by 1024 to B, KiB, MiB, … YiB, choosing the
// unit index (floor(log2|v|) - 1) / 10, so 1024..2047 still print in B.
// Above B the number has 2, 1 or 0 decimals for magnitudes below 10, below
// 100 and above; in B it is rounded to an integer. Negative values keep
// their sign ("-3.00MiB").
func FormatBytes(v float64) string {
	return string(AppendBytes(nil, v))
}

// AppendBytes appends FormatBytes(v) to dst.
func AppendBytes(dst []byte, v float64) []byte {
	const units = "KMGTPEZY"
	if v == 0 || math.IsNaN(v) {
		return append(dst, '0')
	}
	a := math.Abs(v)
	idx := 0
	if a >= 1 {
		idx = (int(math.Floor(math.Log2(a))) - 1) / 10
	}
	if idx > len(units) {
		idx = len(units)
	}
	if idx == 0 {
		dst = strconv.AppendFloat(dst, v, 'f', 0, 64)
		return append(dst, 'B')
	}
	s := v / math.Pow(1024, float64(idx))
	prec := 0
	switch a := math.Abs(s); {
	case a < 10:
		prec = 2
	case a < 100:
		prec = 1
	}
	dst = strconv.AppendFloat(dst, s, 'f', prec, 64)
	return append(dst, units[idx-1], 'i', 'B')
}

// FormatSI renders an object count with three significant digits and an
// SI prefix: 0 is "0", 999 is "999", 12345 is "12.3k".
func FormatSI(v float64) string {
	const prefixes = "kMGTPEZY"
	if v == 0 || math.IsNaN(v) {
		return "0"
	}
	idx := 0
	for idx < len(prefixes) {
		// Round first, so 999999 becomes "1M" rather than "1e+03k".
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		if math.Abs(r) < 1000 {
			break
		}
		v /= 1000
		idx++
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if idx == 0 {
		return s
	}
	return s + prefixes[idx-1:idx]
}

// FormatDuration renders a duration for humans, with the precision the
// original uses for each magnitude: "1d02:03:04", "2:03:04", "12:34",
// "3:20.5", "12.50s", "5200ms", "123.4ms", "12.34ms", "1.234ms",
// "123.4µs", "12.34µs", "1234ns", and "0".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	f := func(v float64, prec int, unit string) string {
		return sign + strconv.FormatFloat(v, 'f', prec, 64) + unit
	}
	two := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	secs := int64(d / time.Second)
	switch {
	case d >= 24*time.Hour:
		return sign + strconv.FormatInt(secs/86400, 10) + "d" + two(secs/3600%24) + ":" + two(secs/60%60) + ":" + two(secs%60)
	case d >= time.Hour:
		return sign + strconv.FormatInt(secs/3600, 10) + ":" + two(secs/60%60) + ":" + two(secs%60)
	case d >= 10*time.Minute:
		return sign + strconv.FormatInt(secs/60, 10) + ":" + two(secs%60)
	case d >= time.Minute:
		s := float64(d%time.Minute) / float64(time.Second)
		t := strconv.FormatFloat(s, 'f', 1, 64)
		if s < 9.95 {
			t = "0" + t
		}
		return sign + strconv.FormatInt(secs/60, 10) + ":" + t
	case d >= 10*time.Second:
		return f(d.Seconds(), 2, "s")
	case d >= time.Second:
		return sign + strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	case d >= 100*time.Millisecond:
		return f(float64(d)/1e6, 1, "ms")
	case d >= 10*time.Millisecond:
		return f(float64(d)/1e6, 2, "ms")
	case d >= time.Millisecond:
		return f(float64(d)/1e6, 3, "ms")
	case d >= 100*time.Microsecond:
		return f(float64(d)/1e3, 1, "µs")
	case d >= 10*time.Microsecond:
		return f(float64(d)/1e3, 2, "µs")
	}
	return sign + strconv.FormatInt(int64(d), 10) + "ns"
}

// FormatPercentiles renders "P50=<d> P90=<d> P99=<d> MAX=<d>", or
// "(never)" for an empty window.
func FormatPercentiles(p Percentiles) string {
	if p.N == 0 {
		return "(never)"
	}
	return "P50=" + FormatDuration(p.P50) + " P90=" + FormatDuration(p.P90) +
		" P99=" + FormatDuration(p.P99) + " MAX=" + FormatDuration(p.Max)
}
