package script

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

// memInUse collects garbage and returns the heap bytes and the goroutine
// stack bytes in use.
func memInUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// parkedCost is what n requests parked in await.sleep hold, per request.
type parkedCost struct {
	all         float64 // heap and stacks, the callers' goroutines included
	engine      float64 // heap beyond what a caller blocked in any Router holds
	callerStack float64 // the stack of a caller blocked in Engine.Route
}

// measureParked parks n requests in await.sleep. The control is n callers
// blocked in a Router that only waits: what they hold is not the
// engine's.
func measureParked(tb testing.TB, n int) parkedCost {
	te := loadTestRuleset(&testing.T{}, Options{}, "testdata/sleep.lua")
	defer te.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	h0, _ := memInUse()
	release := make(chan struct{})
	var waiting sync.WaitGroup
	var wait route.Router = route.RouterFunc(func(ctx context.Context, _ *route.Request) (route.Decision, error) {
		waiting.Done()
		<-release
		return route.Decision{}, ctx.Err()
	})
	waiting.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "example.com:443"})
		}()
	}
	waiting.Wait()
	h1, _ := memInUse()
	controlHeap := h1 - h0
	close(release)
	wg.Wait()

	h0, s0 := memInUse()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "example.com:443"})
		}()
	}
	parked := func() int {
		var k int
		te.do(context.Background(), func(v *vm) { k = int(lua.LVAsNumber(v.L.GetGlobal("parked"))) })
		return k
	}
	for i := 0; parked() < n; i++ { // bounded: 10 s
		if i == 1000 {
			tb.Fatalf("only %d of %d requests parked", parked(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h1, s1 := memInUse()
	heap, stack := h1-h0, s1-min(s0, s1)
	return parkedCost{
		all:         float64(heap+stack) / float64(n),
		engine:      float64(heap-min(controlHeap, heap)) / float64(n),
		callerStack: float64(stack) / float64(n),
	}
}

// BenchmarkParkedSleep reports what a request parked in await.sleep
// holds: B/parked in all, B/parked-engine on the engine's side (the
// routine's thread, its value and call stacks, the pending operation and
// its timer, the Route call), B/parked-caller-stack the stack of the
// goroutine blocked in Route (in the daemon, the connection's own).
func BenchmarkParkedSleep(b *testing.B) {
	const n = 2000
	var sum parkedCost
	for range b.N {
		c := measureParked(b, n)
		sum.all += c.all
		sum.engine += c.engine
		sum.callerStack += c.callerStack
	}
	b.ReportMetric(sum.all/float64(b.N), "B/parked")
	b.ReportMetric(sum.engine/float64(b.N), "B/parked-engine")
	b.ReportMetric(sum.callerStack/float64(b.N), "B/parked-caller-stack")
}

// TestParkedRequestMemory holds the engine's share of a parked request to
// 4 KiB (it was about 21 KiB when every routine had a 1024-slot value
// stack).
func TestParkedRequestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("parks 2000 requests")
	}
	c := measureParked(t, 2000)
	t.Logf("per parked request: %.0f B in all, %.0f B engine, %.0f B caller stack", c.all, c.engine, c.callerStack)
	if c.engine > 4096 {
		t.Fatalf("the engine holds %.0f B per parked request, over 4096", c.engine)
	}
}
