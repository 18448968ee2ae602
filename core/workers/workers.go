// Package workers runs tasks on goroutines that are reused. A goroutine
// that finished a task parks, up to a bound, and takes the next task handed
// to it, keeping the stack it has already grown; a new goroutine starts
// only when none is parked.
//
// Why: growing a fresh goroutine's 2 KiB stack to what a handshake or a
// dial needs copies the stack and walks its frames each time it doubles.
// callgrind put it at nearly half the instructions of a proxy set-up
// (core/server's handlers) and at about 47 000 instructions of a set-up a
// Lua ruleset forwards with await.forward (script's await work); see
// cmd/nsbench/EXPERIMENTS.md, sections 4 and 11. Both use this pool, so
// the trade-off lives in one place.
package workers

import (
	"sync"
	"sync/atomic"
)

// DefaultMaxIdle is the bound both users choose. Each parked goroutine
// holds the stack it grew to (typically 8 KiB), so the bound is the memory
// traded for not growing a fresh stack per task. With 16, a load of 32
// concurrent clients still grew a stack on about half of its set-ups (15 %
// of the daemon's instructions); 64 covers that load for at most 512 KiB
// of parked stacks (cmd/nsbench/EXPERIMENTS.md, section 4).
const DefaultMaxIdle = 64

// Pool runs tasks of type T with its run function. The zero Pool is not
// usable; make one with New.
type Pool[T any] struct {
	run     func(T)
	tasks   chan T          // unbuffered: a send succeeds only into a parked goroutine
	done    <-chan struct{} // closed when the owner shuts down: parked goroutines exit
	maxIdle int32
	idle    atomic.Int32
	wg      sync.WaitGroup // every goroutine of the pool
}

// New returns a pool that runs each task with run, keeps at most maxIdle
// goroutines parked, and lets them exit once done is closed.
func New[T any](maxIdle int, done <-chan struct{}, run func(T)) *Pool[T] {
	return &Pool[T]{run: run, tasks: make(chan T), done: done, maxIdle: int32(maxIdle)}
}

// Go starts t on a parked goroutine, or on a new one.
func (p *Pool[T]) Go(t T) {
	select {
	case p.tasks <- t:
		return
	default:
	}
	p.wg.Add(1)
	go p.loop(t)
}

// loop runs t, then parks for the next task until enough are parked or
// done is closed.
func (p *Pool[T]) loop(t T) {
	defer p.wg.Done()
	var zero T
	for {
		p.run(t)
		t = zero // the finished task's values are not kept while parked
		// A goroutine counts itself idle just before it waits on the
		// channel; a task handed over in between starts a goroutine of its
		// own, which is correct, only not reused.
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		select {
		case t = <-p.tasks:
			p.idle.Add(-1)
		case <-p.done:
			p.idle.Add(-1)
			return
		}
	}
}

// Idle reports how many goroutines are parked (or about to park).
func (p *Pool[T]) Idle() int { return int(p.idle.Load()) }

// Wait waits until every goroutine of the pool has ended: the tasks in
// progress, and, once done is closed, the parked ones.
func (p *Pool[T]) Wait() { p.wg.Wait() }
