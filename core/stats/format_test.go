package stats

import (
	"testing"
	"time"
)

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1, "1B"}, {512, "512B"}, {1023, "1023B"}, {1024, "1024B"}, {1536, "1536B"}, {2047, "2047B"},
		{2048, "2.00KiB"}, {15.3 * 1024 * 1024, "15.3MiB"}, {150 * 1024 * 1024, "150MiB"},
		{-1.5 * 1024 * 1024, "-1536KiB"}, {-3 * 1024 * 1024, "-3.00MiB"}, {0.4, "0B"}, {3 * (1 << 60), "3.00EiB"},
		{1 << 90, "1024YiB"},
	}
	for _, tc := range tests {
		if got := FormatBytes(tc.in); got != tc.want {
			t.Errorf("FormatBytes(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatSI(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1k"}, {12345, "12.3k"}, {999999, "1M"}, {-2500, "-2.5k"}, {4.2e9, "4.2G"},
	}
	for _, tc := range tests {
		if got := FormatSI(tc.in); got != tc.want {
			t.Errorf("FormatSI(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "1d02:03:04"},
		{2*time.Hour + 3*time.Minute + 4*time.Second, "2:03:04"},
		{12*time.Minute + 34*time.Second, "12:34"},
		{3*time.Minute + 20500*time.Millisecond, "3:20.5"},
		{3*time.Minute + 5500*time.Millisecond, "3:05.5"},
		{12500 * time.Millisecond, "12.50s"},
		{5200 * time.Millisecond, "5200ms"},
		{123400 * time.Microsecond, "123.4ms"},
		{12340 * time.Microsecond, "12.34ms"},
		{1234 * time.Microsecond, "1.234ms"},
		{123400 * time.Nanosecond, "123.4µs"},
		{12340 * time.Nanosecond, "12.34µs"},
		{1234 * time.Nanosecond, "1234ns"},
		{-1234 * time.Microsecond, "-1.234ms"},
	}
	for _, tc := range tests {
		if got := FormatDuration(tc.in); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := FormatPercentiles(Percentiles{}); got != "(never)" {
		t.Error(got)
	}
	p := Percentiles{N: 1, P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond}
	if got := FormatPercentiles(p); got != "P50=1.000ms P90=2.000ms P99=3.000ms MAX=4.000ms" {
		t.Error(got)
	}
}
