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

// ltRoute is a tunnel's routing question while a router answers it: the
// request the router reads, the pending decision, the engine's Connect
// in flight and the connection it made, a decision waiting for a lookup.
// The loop lends one per routed request (routeFree), so that a tunnel
// that is not deciding does not carry it, and takes it back once the
// decision is released. An abandoned one is left to the collector
// instead: a routine the router still runs may read its request.
type ltRoute struct {
	req      route.Request
	pending  route.Pending // the decision the loop waits for; nil: none
	result   func(error)   // the engine's Connect in flight; nil: none
	engUp    bool          // t.up is connected, for the engine (its Connect)
	upConn   net.Conn      // the engine's connection dialed on a worker (a chain)
	hasLater bool          // later waits for t's lookup (lookedUp)
	later    asyncAnswer
}

// asyncAnswer is a decision kept for later.
type asyncAnswer struct {
	d   route.Decision
	err error
}

// putRoute takes a routed request's record back.
func (l *evloop) putRoute(rt *ltRoute) {
	*rt = ltRoute{}
	l.routeFree.Put(rt)
}

// endRoute takes back t's record once its decision was released and
// nothing of it is in use.
func (l *evloop) endRoute(t *ltun) {
	if rt := t.rt; rt != nil {
		t.rt = nil
		l.putRoute(rt)
	}
}

// engineDialing reports an engine's Connect in flight for t.
func (t *ltun) engineDialing() bool { return t.rt != nil && t.rt.result != nil }

// routeAsync asks ar about t's request (t.rt.req, which stays valid
// until the decision ends). It reports whether the decision was started;
// if not, nothing was done and the goroutine path is to ask Route.
func (l *evloop) routeAsync(t *ltun, ar route.AsyncRouter) bool {
	rt := t.rt
	rt.req.Dial = nil
	rt.req.Connect = t
	// The router is given t: its record is not reused (see retire), even
	// if the router declines, which by its contract leaves nothing behind.
	t.escaped = true
	p, ok := ar.RouteAsync(&rt.req, t)
	if !ok {
		return false
	}
	rt.pending = p
	t.state = ltRouting
	l.decisions++
	l.s.loopAsync.Add(1)
	return true
}

// Decided is route.Receiver: the router's answer, posted to the loop.
func (t *ltun) Decided(d route.Decision, err error) {
	if !t.ll.l.post(loopPost{t: t, kind: postDecided, d: d, err: err}) {
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
	if !t.ll.l.post(loopPost{t: t, kind: postConnect, target: target, chain: chain, result: result}) {
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
	rt := t.rt
	if rt == nil || rt.pending == nil {
		// An answer after the decision ended: the router broke the
		// contract. Nothing is done but closing what it carries.
		closeDecision(d, err)
		return
	}
	p := rt.pending
	rt.pending = nil
	l.decisions--
	switch {
	case t.state == ltGone:
		// The tunnel ended while the router was answering.
		closeDecision(d, err)
	case t.lookingUp:
		// Its Connect's lookup still runs on a worker, which reads what
		// a dial for this decision would change: the Connect ends, and
		// the decision waits for the lookup (lookedUp).
		if rt.result != nil {
			l.endConnect(t, errCancelled())
		}
		rt.hasLater, rt.later = true, asyncAnswer{d: d, err: err}
		p.Release()
		return
	default:
		if rt.result != nil {
			// Decided with its Connect in flight: that connect ends here.
			l.endConnect(t, errCancelled())
		}
		l.carryOutAsync(t, d, err)
	}
	p.Release()
	l.endRoute(t)
}

// lookedUp takes a worker's lookup for t: it connects, or, when a
// decision came meanwhile, carries that out instead.
func (l *evloop) lookedUp(t *ltun, ap netip.AddrPort, err error) {
	t.lookingUp = false
	if t.state == ltGone {
		// It ended (its deadline, Shutdown) while the worker looked up:
		// the record was kept for this post.
		l.retire(t)
		return
	}
	if rt := t.rt; rt != nil && rt.hasLater {
		a := rt.later
		rt.hasLater, rt.later = false, asyncAnswer{}
		l.carryOutAsync(t, a.d, a.err)
		l.endRoute(t)
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
	rt := t.rt
	if err == nil && d.Verdict == route.Committed && d.Conn == nil {
		switch {
		case rt.engUp:
			rt.engUp = false
			l.established(t)
			return
		case rt.upConn != nil:
			d.Conn, rt.upConn = rt.upConn, nil
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
	rt := t.rt
	switch {
	case t.state == ltGone || rt == nil || rt.pending == nil:
		// The request ended (its deadline, Shutdown) or was decided.
		result(l.endError(t))
		return
	case rt.result != nil:
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
	rt.result = result
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
	t.rt.engUp = true
	t.rt.answerConnect(nil)
}

// endConnect ends t's Connect in flight with err (the dialer's error,
// not counted: a failed dial is the engine's business; or why the
// request ended): the socket being connected is closed, a lookup or a
// worker's dial still running is ignored when it answers.
func (l *evloop) endConnect(t *ltun, err error) {
	l.release(&t.up, false)
	if t.state == ltResolving || t.state == ltConnecting {
		t.state = ltRouting
	}
	t.rt.answerConnect(err)
}

// answerConnect hands the Connect in flight its result, once.
func (rt *ltRoute) answerConnect(err error) {
	res := rt.result
	rt.result = nil
	res(err)
}

// engineDial is a Connect through a chain (or a dialer given a -x chain
// since the accept): dialHook on a worker, as Request.Dial on the
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
	if !j.t.ll.l.post(loopPost{t: j.t, kind: postDialed, conn: conn, err: err}) && conn != nil {
		conn.Close()
	}
}

// engineDialed takes a worker's dial for t's Connect.
func (l *evloop) engineDialed(t *ltun, conn net.Conn, err error) {
	if t.state == ltGone || !t.engineDialing() {
		// The request ended, or its Connect was ended, meanwhile.
		if conn != nil {
			conn.Close()
		}
		return
	}
	if err == nil {
		t.rt.upConn = conn
	}
	t.rt.answerConnect(err)
}

// stopEngine ends what an asynchronous router started for t, which is
// leaving the loop: a Connect in flight is told why (the deadline or
// Shutdown), the connection the engine made is closed, a decision that
// waited for a lookup is dropped, and the pending decision abandoned. If
// the router is answering already, the decision stays pending: decided
// takes it and releases it.
func (l *evloop) stopEngine(t *ltun) {
	rt := t.rt
	if rt == nil {
		return
	}
	if rt.result != nil {
		l.endConnect(t, l.endError(t))
	}
	l.dropEngineConn(t)
	if rt.hasLater {
		// Released already; nothing else holds the record.
		closeDecision(rt.later.d, rt.later.err)
		l.endRoute(t)
		return
	}
	if p := rt.pending; p != nil && p.Abandon() {
		rt.pending = nil
		l.decisions--
		t.rt = nil // to the collector, not to routeFree: see ltRoute
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
	rt := t.rt
	if rt == nil {
		return
	}
	if rt.engUp {
		rt.engUp = false
		l.release(&t.up, false)
	}
	if rt.upConn != nil {
		rt.upConn.Close()
		rt.upConn = nil
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
