package workers

import (
	"sync"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestReuse runs tasks one after another: after the first, each runs on
// the goroutine the previous one parked, so the pool starts one goroutine
// in all.
func TestReuse(t *testing.T) {
	done := make(chan struct{})
	ran := make(chan int)
	p := New(4, done, func(i int) { ran <- i })
	before := testkit.GoroutinesCreated(t)
	for i := range 20 {
		p.Go(i)
		if got := <-ran; got != i {
			t.Fatalf("task %d ran as %d", i, got)
		}
		testkit.WaitFor(t, "the goroutine to park", func() bool { return p.Idle() == 1 })
	}
	// A task handed over just before its goroutine waits on the channel
	// starts one of its own; a goroutine per task would be 20.
	if started := testkit.GoroutinesCreated(t) - before; started > 5 {
		t.Errorf("20 sequential tasks started %d goroutines", started)
	}
	close(done)
	p.Wait()
	if p.Idle() != 0 {
		t.Errorf("%d goroutines still parked after done", p.Idle())
	}
}

// TestBound runs more concurrent tasks than the bound: every task runs,
// and no more than the bound stay parked afterwards.
func TestBound(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	var wg sync.WaitGroup
	release := make(chan struct{})
	p := New(3, done, func(func()) { <-release; wg.Done() })
	const n = 10
	wg.Add(n)
	for range n {
		p.Go(nil)
	}
	close(release)
	wg.Wait()
	// without the bound all 10 would park
	testkit.WaitFor(t, "the bound's 3 goroutines to park", func() bool { return p.Idle() == 3 })
}
