//go:build linux

package server

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Decisions an asynchronous router (route.AsyncRouter: the Lua engine)
// takes for the loop's tunnels. The loop asks with RouteAsync and goes
// on; the router answers on its own goroutine through the tunnel, which
// is the request's route.Receiver and route.Connector, and both answers
// come back as posts (loopPost), so that everything the loop owns is
// still touched only by the loop. While it waits, a tunnel is ltRouting:
// still half-open, under its deadline, its client not read.
//
// An engine that forwards actively asks the loop to dial (Connect): the
// loop dials as it dials for itself (an address or a hosts-file name
// here, other names on a worker, a non-blocking connect), or, for a chain
// of proxies, runs the goroutine path's dialHook on a worker. The
// connection stays the tunnel's: a Committed decision then starts the
// session on the loop (or, for a chain's net.Conn, on the goroutine path,
// with the decision in conn.pre), and any other decision closes it.
//
// A tunnel that ends while a decision is pending (its deadline, Shutdown)
// first ends its Connect in flight, then abandons the decision
// (Pending.Abandon). If the router is already answering, the tunnel,
// closed, waits for the answer, closes what it carries and releases it;
// the loop does not exit before (evloop.decisions).

// routeAsync asks ar about t's request (t.req, which t keeps until the
// decision ends). It reports whether the decision was started; if not,
// nothing was done and the goroutine path is to ask Route.
func (l *evloop) routeAsync(t *ltun, ar route.AsyncRouter) bool {
	t.l = l
	t.req.Dial = nil
	t.req.Connect = t
	p, ok := ar.RouteAsync(&t.req, t)
	if !ok {
		return false
	}
	t.pending = p
	t.state = ltRouting
	l.decisions++
	l.s.loopAsync.Add(1)
	return true
}

// Decided is route.Receiver: the router's answer, posted to the loop.
func (t *ltun) Decided(d route.Decision, err error) {
	if !t.l.post(loopPost{t: t, kind: postDecided, d: d, err: err}) {
		// The loop has exited, which it does only with no decision
		// pending: a stray answer. What it carries is closed.
		closeDecision(d, err)
	}
}

// Connect is route.Connector: the engine's dial, posted to the loop,
// which calls result. Should the loop have exited (the engine connects
// after its request was abandoned), result is told so on a goroutine of
// its own, never inside Connect.
func (t *ltun) Connect(target string, chain route.Chain, result func(error)) {
	if !t.l.post(loopPost{t: t, kind: postConnect, target: target, chain: chain, result: result}) {
		go result(errCancelled())
	}
}

// errCancelled and errDeadline are the errors of a Connect the request's
// end stopped, as the dialer returns them for a context canceled or past
// its deadline (an engine reads "operation cancelled" or "timeout").
func errCancelled() error { return &dial.Error{Kind: dial.Cancelled, Err: context.Canceled} }
func errDeadline() error  { return &dial.Error{Kind: dial.Timeout, Err: context.DeadlineExceeded} }

// errConnectBusy answers a Connect made while another is in flight for
// the same request (the contract allows one at a time).
var errConnectBusy = errors.New("server: a connect is already in progress for this request")

// decided takes the router's answer for t: it ends the pending decision
// and carries the answer out as an inline decision is carried out, except
// for a connection the engine made through Connect.
func (l *evloop) decided(t *ltun, d route.Decision, err error) {
	p := t.pending
	if p == nil {
		// An answer after the decision ended: the router broke the
		// contract. Nothing is done but closing what it carries.
		closeDecision(d, err)
		return
	}
	// t.req stays as it is: the router may read it until Release, and a
	// routine the router still runs after Abandon may too; the tunnel is
	// never reused.
	t.pending = nil
	l.decisions--
	if t.state == ltGone {
		// The tunnel ended while the router was answering.
		closeDecision(d, err)
		p.Release()
		return
	}
	if t.result != nil {
		// Decided with its Connect in flight: that connect ends here.
		l.endConnect(t, errCancelled())
	}
	if t.lookingUp {
		// Its lookup is still running on a worker, which reads what a
		// dial for this decision would change: the decision waits for it
		// (lookedUp).
		t.later = &asyncAnswer{d: d, err: err}
		p.Release()
		return
	}
	l.carryOutAsync(t, d, err)
	p.Release()
}

// asyncAnswer is a decision kept for later.
type asyncAnswer struct {
	d   route.Decision
	err error
}

// lookedUp takes a worker's lookup for t: it connects, or, when t's
// Connect ended meanwhile, carries out the decision that waited for the
// lookup to come back.
func (l *evloop) lookedUp(t *ltun, ap netip.AddrPort, err error) {
	t.lookingUp = false
	if a := t.later; a != nil {
		t.later = nil
		l.carryOutAsync(t, a.d, a.err)
		return
	}
	l.resolved(t, ap, err)
}

// carryOutAsync acts on an asynchronous decision for t, which is still
// half-open. A Committed decision whose Conn is nil refers to the
// connection t's Connect made: the session starts over it, on the loop
// when the loop dialed it, on the goroutine path when a worker did (a
// chain). Any other decision closes that connection first.
func (l *evloop) carryOutAsync(t *ltun, d route.Decision, err error) {
	if err == nil && d.Verdict == route.Committed && d.Conn == nil {
		switch {
		case t.engUp:
			t.engUp = false
			l.established(t)
			return
		case t.upConn != nil:
			d.Conn, t.upConn = t.upConn, nil
			t.pre = &decided{d: d}
			l.resume(t)
			return
		}
	}
	l.dropEngineConn(t)
	dial, handoff := l.carryOut(t, d, err)
	if handoff {
		l.resume(t)
	}
	if dial {
		l.dial(t)
	}
}

// engineConnect starts the engine's dial of target through chain for t:
// parsed as dialHook parses it, dialed by the loop when there is no chain
// and the current dialer connects directly, by dialHook on a worker
// otherwise. result is called once, on the loop.
func (l *evloop) engineConnect(t *ltun, target string, chain route.Chain, result func(error)) {
	switch {
	case t.state == ltGone || t.pending == nil:
		// The request ended (its deadline, Shutdown) or was decided.
		result(l.endError(t))
		return
	case t.result != nil:
		result(errConnectBusy)
		return
	}
	a, err := addr.ParseTarget(target)
	if err != nil {
		result(&dial.Error{Kind: dial.InvalidAddr, Err: err})
		return
	}
	// A connection an earlier Connect made is replaced.
	l.dropEngineConn(t)
	t.result = result
	if ld, ok := l.s.loopDialerOf(l.s.cur.Load()); ok && chain == (route.Chain{}) {
		t.dialer, t.via = ld, a
		l.dial(t)
		return
	}
	l.lookups++
	l.s.workers.Go(task{job: &engineDial{t: t, target: target, chain: chain}})
}

// engineConnected ends t's Connect with success: t.up is connected.
func (l *evloop) engineConnected(t *ltun) {
	t.state = ltRouting
	t.engUp = true
	res := t.result
	t.result = nil
	res(nil)
}

// engineConnectFailed ends t's Connect with err, the dialer's error (no
// count: a failed dial is the engine's business).
func (l *evloop) engineConnectFailed(t *ltun, err error) {
	l.release(&t.up, false)
	t.state = ltRouting
	res := t.result
	t.result = nil
	res(err)
}

// endConnect ends t's Connect in flight with err: the socket being
// connected is closed, a lookup or a worker's dial still running is
// ignored when it answers.
func (l *evloop) endConnect(t *ltun, err error) {
	l.release(&t.up, false)
	if t.state == ltResolving || t.state == ltConnecting {
		t.state = ltRouting
	}
	res := t.result
	t.result = nil
	res(err)
}

// engineDial is a Connect through a chain (or a dialer with a -x chain
// set since the accept): dialHook on a worker, as Request.Dial on the
// goroutine path, under the tunnel's deadline and the server's context.
type engineDial struct {
	t      *ltun
	target string
	chain  route.Chain
}

func (j *engineDial) run(s *Server) {
	ctx, cancel := context.WithDeadline(s.ctx, j.t.expires)
	conn, err := s.hook(ctx, j.target, j.chain)
	cancel()
	if !j.t.l.post(loopPost{t: j.t, kind: postDialed, conn: conn, err: err}) && conn != nil {
		conn.Close()
	}
}

// engineDialed takes a worker's dial for t's Connect.
func (l *evloop) engineDialed(t *ltun, conn net.Conn, err error) {
	if t.state == ltGone || t.result == nil {
		// The request ended, or its Connect was ended, meanwhile.
		if conn != nil {
			conn.Close()
		}
		return
	}
	res := t.result
	t.result = nil
	if err == nil {
		t.upConn = conn
	}
	res(err)
}

// stopEngine ends what an asynchronous router started for t, which is
// leaving the loop: a Connect in flight is told why (the deadline or
// Shutdown), the connection the engine made is closed, and the pending
// decision abandoned. If the router is answering already, the decision
// stays pending: decided takes it and releases it.
func (l *evloop) stopEngine(t *ltun) {
	if t.result != nil {
		l.endConnect(t, l.endError(t))
	}
	l.dropEngineConn(t)
	if a := t.later; a != nil {
		t.later = nil
		closeDecision(a.d, a.err)
	}
	if p := t.pending; p != nil && p.Abandon() {
		t.pending = nil
		l.decisions--
	}
}

// endError is why a request on the loop ended before its decision: the
// deadline passed, or the server (or the loop) stopped.
func (l *evloop) endError(t *ltun) error {
	if l.s.ctx.Err() == nil && l.now() >= t.deadline {
		return errDeadline()
	}
	return errCancelled()
}

// dropEngineConn closes the connection t's Connect made, if any.
func (l *evloop) dropEngineConn(t *ltun) {
	if t.engUp {
		t.engUp = false
		l.release(&t.up, false)
	}
	if t.upConn != nil {
		t.upConn.Close()
		t.upConn = nil
	}
}

// drainPosts answers what was posted as the loop exited: a Connect is
// told the request was cancelled, a connection is closed.
func (l *evloop) drainPosts() {
	l.mu.Lock()
	posts := l.posts
	l.posts = nil
	l.mu.Unlock()
	for _, p := range posts {
		switch p.kind {
		case postConnect:
			go p.result(errCancelled())
		case postDialed:
			if p.conn != nil {
				p.conn.Close()
			}
		case postDecided:
			closeDecision(p.d, p.err)
		}
	}
}

var (
	_ route.Receiver  = (*ltun)(nil)
	_ route.Connector = (*ltun)(nil)
)
