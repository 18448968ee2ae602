package rtdefaults

import (
	"os"
	"runtime"
	"testing"
)

func TestProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	t.Setenv("GOMAXPROCS", "3") // restored by the test framework
	runtime.GOMAXPROCS(3)
	Procs()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("with GOMAXPROCS=3 in the environment: %d processors, want 3", got)
	}

	os.Unsetenv("GOMAXPROCS")
	Procs()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("without GOMAXPROCS in the environment: %d processors, want 1", got)
	}
}
