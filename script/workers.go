package script

// Reused goroutines for the Go side of await.* operations.

// maxIdleOpWorkers bounds the goroutines the engine keeps parked for
// await work. Each holds the stack it grew to (a dial grows one to 8 KiB
// or more), the memory traded for not growing a fresh stack per request.
// It matches core/server's bound, which measured 16 as too few for the
// harness's 32 concurrent clients (as many dials can be in flight).
const maxIdleOpWorkers = 64

// goWork runs f on a parked op worker, or on a new goroutine when none is
// parked. A fresh goroutine's 2 KiB stack grows twice during a dial (a
// copy of the stack and a walk over its frames each time), which callgrind
// put at about 47 000 instructions of every set-up that a libruleset
// ruleset forwards with await.forward (cmd/nsbench/EXPERIMENTS.md, the Lua
// path); core/server reuses its handler goroutines for the same reason.
// Workers are counted in e.wg, so Close waits for work in progress as it
// did for a goroutine per operation; parked ones exit when Close is
// called.
func (e *Engine) goWork(f func()) {
	select {
	case e.work <- f: // unbuffered: only a parked worker takes it
		return
	default:
	}
	e.wg.Add(1)
	go e.opWorker(f)
}

// opWorker runs f, then parks for the next piece of work until enough are
// parked or the engine closes.
func (e *Engine) opWorker(f func()) {
	defer e.wg.Done()
	for {
		f()
		f = nil // the finished work's values are not kept while parked
		if e.idleWorkers.Add(1) > maxIdleOpWorkers {
			e.idleWorkers.Add(-1)
			return
		}
		select {
		case f = <-e.work:
			e.idleWorkers.Add(-1)
		case <-e.quit:
			e.idleWorkers.Add(-1)
			return
		}
	}
}
