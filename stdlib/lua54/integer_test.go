package lua54

import (
	"math"
	"runtime"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestIntegerRepresentation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		i     int64
		boxed bool
	}{
		{"zero", 0, false},
		{"2^53", 1 << 53, false},
		{"-2^53", -(1 << 53), false},
		{"2^53+1", 1<<53 + 1, true},
		{"-2^53-1", -(1 << 53) - 1, true},
		{"maxinteger", math.MaxInt64, true},
		{"mininteger", math.MinInt64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Integer(tc.i)
			got, isBox := BigInteger(v)
			if isBox != tc.boxed {
				t.Fatalf("Integer(%d) = %T, boxed %v", tc.i, v, isBox)
			}
			if n, ok := IsInteger(v); !ok || n != tc.i {
				t.Fatalf("IsInteger(Integer(%d)) = %d, %v", tc.i, n, ok)
			}
			if isBox && (got != tc.i || Integer(tc.i) != v) {
				t.Fatalf("box of %d: value %d, interned %v", tc.i, got, Integer(tc.i) == v)
			}
			if TypeName(v) != "number" || MathType(v) != "integer" {
				t.Fatalf("type %q, math.type %q", TypeName(v), MathType(v))
			}
		})
	}
}

// TestIntegersAcrossStates: boxes and their metatable are shared by
// LStates on different goroutines (run with -race).
func TestIntegersAcrossStates(t *testing.T) {
	const workers, rounds = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			L := lua.NewState()
			defer L.Close()
			fn, err := Load(L, []byte(`
				local t, n = {}, ...
				for i = 1, n do
					local k = (1 << 60) + i
					t[k] = (t[k] or 0) + 1
					assert(k > 1 << 60 and k - i == 1 << 60 and tostring(k - 1) == tostring((1 << 60) + i - 1))
				end
				for i = 1, n do assert(t[(1 << 60) + i] == 1) end
			`), "=shared")
			if err != nil {
				errs <- err
				return
			}
			for r := 0; r < rounds; r++ {
				if err := L.CallByParam(lua.P{Fn: fn, Protect: true}, lua.LNumber(100)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestIntegersAreCollected: the intern table holds boxes weakly, and a
// sweep drops the entries of collected ones.
func TestIntegersAreCollected(t *testing.T) {
	size := func() int {
		interned.Lock()
		defer interned.Unlock()
		return len(interned.m)
	}
	const n = 4 * minSweep
	// held until counted: a collection during the loop (the machine's
	// other tests allocate too) may otherwise sweep them already
	boxes := make([]lua.LValue, 0, n)
	for i := int64(0); i < n; i++ {
		boxes = append(boxes, Integer(math.MinInt64+12345+i))
	}
	if got := size(); got < n {
		t.Fatalf("%d boxes interned after creating %d", got, n)
	}
	runtime.KeepAlive(boxes)
	keep := Integer(math.MinInt64 + 1)
	runtime.GC()
	interned.Lock()
	sweepInterned()
	interned.Unlock()
	if got := size(); got >= minSweep {
		t.Fatalf("intern table still holds %d entries after a collection", got)
	}
	if Integer(math.MinInt64+1) != keep {
		t.Fatal("a live box was dropped")
	}
	runtime.KeepAlive(keep)
}
