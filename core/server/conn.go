package server

import (
	"context"
	"net"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// conn is one accepted proxy connection (SOCKS, HTTP, forward or TPROXY).
// Only the goroutine serving it touches its fields, except those guarded
// by s.mu (active, up), which Shutdown reads.
type conn struct {
	net.Conn // the client connection, a *net.TCPConn for TCP listeners
	s        *Server

	// ctx is the half-open context: done at the -t deadline or when
	// Shutdown begins. Pass it to the router and the dialer.
	ctx      context.Context
	cancel   context.CancelFunc
	start    time.Time
	deadline time.Time

	halfOpen bool      // counted in HalfOpen
	active   bool      // a session started (guarded by s.mu)
	up       net.Conn  // the upstream while active (guarded by s.mu)
	parsed   bool      // a request was completely parsed (Request counted)
	detached bool      // relay took over: the dispatcher must not finish c
	dst      addr.Addr // the requested target, for logs
	target   string    // the requested target as text when dst cannot say it
	sess     session   // the relay, once relay has started one
	pre      *decided  // a decision taken before the hand-off (connect uses it once)
}

// newConn registers an admitted connection and starts its half-open
// phase. It returns nil when the server is shutting down.
func (s *Server) newConn(nc net.Conn) *conn {
	now := time.Now()
	cur := s.cur.Load()
	c := &conn{Conn: nc, s: s, start: now, deadline: now.Add(cur.timeout)}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.conns[c] = struct{}{}
	s.connAdded()
	s.conndone.Add(1)
	s.mu.Unlock()
	c.halfOpen = true
	s.stats.HalfOpen.Add(1)
	c.ctx, c.cancel = context.WithDeadline(s.ctx, c.deadline)
	if tc, ok := nc.(*net.TCPConn); ok && !cur.conf.TCPNoDelay {
		_ = tc.SetNoDelay(false) // Go turns it on; failing only costs latency
	}
	_ = nc.SetDeadline(c.deadline)
	return c
}

// finish is the dispatcher's epilogue: account for a connection that never
// became a session, close it and forget it.
func (c *conn) finish() {
	s := c.s
	if c.halfOpen {
		c.halfOpen = false
		s.stats.HalfOpen.Add(-1)
		if c.timedOut() {
			s.stats.RejectTimeout.Add(1)
		}
	}
	c.cancel()
	c.Conn.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.connRemoved()
	up := c.up
	c.up = nil
	s.mu.Unlock()
	if up != nil {
		up.Close()
	}
}

// timedOut reports whether the half-open deadline has passed (and the
// server is not shutting down, which is not a timeout).
func (c *conn) timedOut() bool {
	return c.s.ctx.Err() == nil && !time.Now().Before(c.deadline)
}

// abort unblocks a half-open connection's I/O; s.mu is held.
func (c *conn) abort() { _ = c.Conn.SetDeadline(time.Unix(1, 0)) }

// forceClose closes both ends; s.mu is held.
func (c *conn) forceClose() {
	c.Conn.Close()
	if c.up != nil {
		c.up.Close()
	}
}

// read reads handshake bytes from the client, counting them in ServerRx.
func (c *conn) read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.s.stats.ServerRx.Add(uint64(n))
	return n, err
}

// write writes handshake bytes to the client, counting them in ServerTx.
func (c *conn) write(b []byte) error {
	n, err := c.Conn.Write(b)
	c.s.stats.ServerTx.Add(uint64(n))
	return err
}

// writeLate writes a last reply after the deadline passed (SOCKS5 REP 06)
// with a short deadline of its own.
func (c *conn) writeLate(b []byte) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.write(b)
}

// requestParsed counts a completely parsed request.
func (c *conn) requestParsed() {
	if !c.parsed {
		c.parsed = true
		c.s.stats.Request.Add(1)
	}
}

// setUpstream registers up so that Shutdown can force it closed; finish
// closes it.
func (c *conn) setUpstream(up net.Conn) {
	c.s.mu.Lock()
	c.up = up
	c.s.mu.Unlock()
}

// endHalfOpen stops the half-open timer: the context is released and the
// socket deadline cleared. It returns false if the server is shutting
// down (the caller must then give up).
func (c *conn) endHalfOpen() bool {
	c.cancel()
	if err := c.Conn.SetDeadline(time.Time{}); err != nil {
		return false
	}
	c.s.mu.Lock()
	closing := c.s.closing
	c.s.mu.Unlock()
	return !closing
}

// startSession turns the connection into an active session: HalfOpen−1,
// Success+1, Sessions+1 (and the peak).
func (c *conn) startSession() {
	s := c.s
	s.mu.Lock()
	c.active = true
	s.mu.Unlock()
	if c.halfOpen {
		c.halfOpen = false
		s.stats.HalfOpen.Add(-1)
	}
	s.stats.SessionStarted()
}

// endSession records the end of a session started with startSession.
func (c *conn) endSession() { c.s.stats.SessionEnded() }

// targetString renders the requested target for logs.
func (c *conn) targetString() string {
	if c.target != "" || !c.dst.IsValid() {
		return c.target
	}
	return c.dst.String()
}
