package script

import "github.com/neosocksd-go/neosocksd/core/workers"

// Reused goroutines for the Go side of await.* operations.

// newOpWorkers returns the engine's pool for await work. A fresh
// goroutine's 2 KiB stack grows twice during a dial, which callgrind put
// at about 47 000 instructions of every set-up that a libruleset ruleset
// forwards with await.forward (cmd/nsbench/EXPERIMENTS.md, the Lua path);
// core/server reuses its handler goroutines with the same pool for the
// same reason. Parked goroutines exit once quit is closed, and Close
// waits for the work in progress as it did for a goroutine per operation.
func newOpWorkers(quit <-chan struct{}) *workers.Pool[func()] {
	return workers.New(workers.DefaultMaxIdle, quit, func(f func()) { f() })
}
