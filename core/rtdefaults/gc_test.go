package rtdefaults

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	for _, tc := range []struct {
		name string
		env  map[string]string
		want int
	}{
		{"nothing set", nil, GCPercent},
		{"GOGC set", map[string]string{"GOGC": "200"}, 100},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "64MiB"}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
				t.Setenv(k, "") // restored by the test framework
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			debug.SetGCPercent(100)
			GC()
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GOGC after GC: %d, want %d", got, tc.want)
			}
		})
	}
}
