package server

import "github.com/neosocksd-go/neosocksd/core/workers"

// task is one unit of a connection's work: its handler (h set) or the
// end of its relay (h nil). Handlers and session ends run on the server's
// pool of reused goroutines (core/workers), so a set-up does not grow a
// fresh stack. The relay's two directions do not run there: they idle for
// the tunnel's lifetime, and a fresh goroutine's small stack is what an
// idle tunnel should hold. Parked workers exit when Shutdown cancels the
// server's context, and Shutdown waits for them.
type task struct {
	c   *conn
	h   func(*conn)
	job job // work of the event loop (a lookup), when set
}

// job is work the event loop gives a worker.
type job interface{ run(s *Server) }

// newWorkers returns the server's pool, whose parked goroutines exit once
// done is closed.
func newWorkers(s *Server, done <-chan struct{}) *workers.Pool[task] {
	return workers.New(workers.DefaultMaxIdle, done, func(t task) { t.run(s) })
}

// run carries out the task.
func (t task) run(s *Server) {
	if t.job != nil {
		t.job.run(s)
		return
	}
	if t.h != nil {
		s.serveConn(t.c, t.h)
		return
	}
	t.c.sess.end()
}
