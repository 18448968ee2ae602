package server

import (
	"sync"
	"sync/atomic"
)

// maxIdleWorkers bounds the goroutines a server keeps parked for reuse.
// Each holds the stack it grew to (typically 8 KiB), so the bound is the
// memory traded for not growing a fresh goroutine's stack per task. With
// 16, a load of 32 concurrent clients still grew a stack on about half of
// its set-ups (15 % of the daemon's instructions); 64 covers that load for
// at most 512 KiB of parked stacks (cmd/nsbench/EXPERIMENTS.md, section 4).
const maxIdleWorkers = 64

// task is one unit of a connection's work: its handler (h set) or the
// end of its relay (h nil).
type task struct {
	c *conn
	h func(*conn)
}

// workers runs tasks on goroutines that are reused: a goroutine that
// finished a task parks, up to maxIdleWorkers of them, and takes the
// next task handed to it, keeping the stack it has already grown. A new
// goroutine starts only when none is parked. Growing a fresh 2 KiB stack
// to what a handshake needs costs a copy of the stack and a walk over its
// frames each time it doubles; callgrind put it at nearly half the
// instructions of a set-up (cmd/nsbench/EXPERIMENTS.md). The relay's two
// directions do not run here: they idle for the tunnel's lifetime, and a
// fresh goroutine's small stack is what an idle tunnel should hold.
// Parked workers exit when Shutdown cancels the server's context, and
// Shutdown waits for them.
type workers struct {
	tasks chan task       // unbuffered: a send succeeds only into a parked worker
	done  <-chan struct{} // closed when the server shuts down: parked workers exit
	idle  atomic.Int32
	wg    sync.WaitGroup // every worker goroutine
}

func newWorkers(done <-chan struct{}) *workers {
	return &workers{tasks: make(chan task), done: done}
}

// run starts t on a parked worker, or on a new goroutine.
func (w *workers) run(s *Server, t task) {
	select {
	case w.tasks <- t:
		return
	default:
	}
	w.wg.Add(1)
	go w.loop(s, t)
}

// loop runs t, then parks for the next task until the pool is full or
// the server shuts down.
func (w *workers) loop(s *Server, t task) {
	defer w.wg.Done()
	for {
		t.run(s)
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		select {
		case t = <-w.tasks:
			w.idle.Add(-1)
		case <-w.done:
			w.idle.Add(-1)
			return
		}
	}
}

// run carries out the task.
func (t task) run(s *Server) {
	if t.h != nil {
		s.serveConn(t.c, t.h)
		return
	}
	t.c.sess.end()
}
