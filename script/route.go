package script

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

// Limits of a decision, as in the original.
const (
	maxReturnValues = 255
	maxReturnLen    = 1024
)

// routeCall is one Route or RouteAsync request travelling to the owner
// and back.
type routeCall struct {
	ctx context.Context
	req *route.Request
	// done carries no value (so that the channel is one allocation, not
	// two): d and err are written before the send and read after the
	// receive
	done  chan struct{}
	d     route.Decision
	err   error        // set by the owner before answering: could not start
	state atomic.Int32 // 0 waiting, 1 answered, 2 abandoned by the caller
	// rcv takes the answer instead of done when the call came through
	// RouteAsync; nil for Route
	rcv route.Receiver
	// r is the request's routine, allocated with the call: the routine
	// refers to its call for as long as it runs, so they live together
	r routine
	// refs counts the two holders, the caller and the owner; the last to
	// let go returns the call to callPool (see release)
	refs atomic.Int32
}

// callPool holds routeCalls that neither side refers to any more, with
// their channel: the allocations of a call and its channel are most of
// what a decision allocates besides the Lua work.
var callPool = sync.Pool{New: func() any { return &routeCall{done: make(chan struct{}, 1)} }}

// newRouteCall returns a call of req held by its caller and the owner.
// A call that is never posted goes back with recycle.
func newRouteCall(ctx context.Context, req *route.Request) *routeCall {
	c := callPool.Get().(*routeCall)
	c.ctx, c.req = ctx, req
	c.refs.Store(2)
	return c
}

// release lets go of c, once by the caller (when Route returns) and once
// by the owner (when it will not look at c again: the request's routine
// has ended, or it never started). The owner's release is skipped when
// the VM is rebuilt or closed with the routine in flight; the call is then
// left to the collector. Its channel is empty: a caller reads every
// answer sent (answer sends only to a caller that has not abandoned).
func (c *routeCall) release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	c.recycle()
}

// recycle returns c to the pool: a call neither side holds, or one that
// never left its caller.
func (c *routeCall) recycle() {
	*c = routeCall{done: c.done}
	callPool.Put(c)
}

func (c *routeCall) run(e *Engine) { e.v.startRequest(c) }

// answer delivers d once, with no error (a decision was made). A
// decision nobody waits for any more has its connection closed.
func (c *routeCall) answer(d route.Decision) { c.answerErr(d, nil) }

// answerErr delivers d and err once: to the Receiver of an asynchronous
// call, on the owner (Decided must not block), or through done to the
// caller blocked in Route. err is written only once the call is known to
// be waiting, so that a caller that abandoned it never races with it.
func (c *routeCall) answerErr(d route.Decision, err error) {
	if c.state.CompareAndSwap(0, 1) {
		c.err = err
		if c.rcv != nil {
			c.rcv.Decided(d, err)
			return
		}
		c.d = d
		c.done <- struct{}{}
		return
	}
	if d.Conn != nil {
		_ = d.Conn.Close()
	}
}

// Abandon implements route.Pending for a call started by RouteAsync: true
// when the caller stopped waiting before the answer (Decided will not be
// called, and forwardable is false from now on: the routine, if it runs,
// can no longer forward), with the caller's reference dropped; false
// when the answer has been or is being handed to Decided, and the caller
// still holds its reference until Release.
func (c *routeCall) Abandon() bool {
	if c.state.CompareAndSwap(0, 2) {
		c.release()
		return true
	}
	return false
}

// Release implements route.Pending: the caller has handled Decided and
// lets go of the call.
func (c *routeCall) Release() { c.release() }

// forwardable reports whether await.forward may still dial for c.
func (c *routeCall) forwardable() bool {
	return c.state.Load() == 0 && c.ctx.Err() == nil
}

// Route implements route.Router: it runs ruleset.resolve, route or route6
// (by req.Callback) in a pooled routine and waits for the decision.
//
// The error is non-nil only when the callback could not be started
// (_G.ruleset is not a table, the engine is closed), or when ctx ended
// before a decision: then it is ctx.Err() and the routine keeps running,
// its result ignored (a connection it commits later is closed).
func (e *Engine) Route(ctx context.Context, req *route.Request) (route.Decision, error) {
	c := newRouteCall(ctx, req)
	select {
	case e.inbox <- c: // the usual case, without a blocking select
	default:
		select {
		case e.inbox <- c:
		case <-e.quit:
			return errDecision(ErrClosed.Error()), ErrClosed // c is left to the collector
		case <-ctx.Done():
			return errDecision("request cancelled"), ctx.Err()
		}
	}
	defer c.release()
	select {
	case <-c.done:
		return c.d, c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(0, 2) {
			return errDecision("request cancelled"), ctx.Err()
		}
	case <-e.done:
		if c.state.CompareAndSwap(0, 2) {
			return errDecision(ErrClosed.Error()), ErrClosed
		}
	}
	<-c.done // answered meanwhile
	return c.d, c.err
}

// RouteAsync implements route.AsyncRouter: it posts req to the owner
// without blocking and returns the call as the Pending; the owner hands
// the decision to rcv.Decided, on its own goroutine, where Route's caller
// would have received it. ok is false, and nothing was started, when the
// inbox is full or the engine is closing. await.forward connects through
// req.Connect (see luaForward).
//
// What Route's caller sees when the engine closes is what Decided gets:
// a call still in the inbox, or whose routine is in flight, is answered
// with an Error decision and ErrClosed (closeInbox, vm.shutdown).
func (e *Engine) RouteAsync(req *route.Request, rcv route.Receiver) (route.Pending, bool) {
	c := newRouteCall(context.Background(), req)
	c.rcv = rcv
	// the read lock orders the post with closeInbox: once the owner has
	// taken the write lock, every RouteAsync that follows sees quit closed
	e.asyncMu.RLock()
	select {
	case <-e.quit:
	default:
		select {
		case e.inbox <- c:
			e.asyncMu.RUnlock()
			return c, true
		default:
		}
	}
	e.asyncMu.RUnlock()
	c.recycle()
	return nil, false
}

// startRequest runs on the owner: it starts the callback's routine.
//
// The routine's body is a trampoline (see setTraceback) that calls the
// callback and hands its results to deliver. The trampoline's frame must
// stay under the callback's: a callback that ends in a tail call of a
// yielding function (return await.forward(...), as libruleset's do) would
// otherwise replace the routine's base frame, and gopher-lua ends the
// routine at that yield. When _G.ruleset holds the callback as a plain
// field it is looked up here and passed in; otherwise (a field that comes
// through __index, or not a function) the trampoline looks it up by name
// in Lua, raising as ruleset[name](...) does. Measured in
// cmd/nsbench/EXPERIMENTS.md (the Lua path, per-request coroutine
// set-up).
func (v *vm) startRequest(c *routeCall) {
	global := v.L.G.Global.RawGetString("ruleset")
	rs, ok := global.(*lua.LTable)
	if !ok {
		name := c.req.Callback.String()
		msg := fmt.Sprintf("ruleset.%s: attempt to index a %s value (global 'ruleset')", name, global.Type())
		v.e.log.Warn(msg)
		c.answerErr(errDecision(msg), fmt.Errorf("%s", msg))
		c.release()
		return
	}
	if c.state.Load() != 0 {
		c.release()
		return // the caller gave up before the routine could start
	}
	user, pass := lua.LValue(lua.LNil), lua.LValue(lua.LNil)
	if c.req.Cred.HasUsername {
		user = lua.LString(c.req.Cred.Username)
	}
	if c.req.Cred.HasPassword {
		pass = lua.LString(c.req.Cred.Password)
	}
	r := &c.r
	*r = routine{kind: kRequest, call: c}
	name := cbNames[c.req.Callback%3]
	var fn lua.LValue = lua.LNil
	if f, ok := rs.RawGet(name).(*lua.LFunction); ok {
		fn = f
	}
	v.start(v.L, r, v.reqTramp, fn, name, lua.LString(c.req.Addr), user, pass)
}

// cbNames are the callbacks' names, by route.Callback.
var cbNames = [3]lua.LValue{
	route.Resolve: lua.LString("resolve"),
	route.Route:   lua.LString("route"),
	route.Route6:  lua.LString("route6"),
}

// errDecision refuses a request because the ruleset failed.
func errDecision(reason string) route.Decision {
	return route.Decision{Verdict: route.Error, Reason: reason}
}

// decide maps a request callback's return values to a decision:
// addr, proxyN, ..., proxy1 (the last value is the first hop). The common
// result, one string, is mapped without allocating.
func decide(vals []lua.LValue) route.Decision {
	if len(vals) == 0 {
		return route.Decision{Verdict: route.Reject}
	}
	switch vals[0].(type) {
	case lua.LString, lua.LNumber:
	default:
		return route.Decision{Verdict: route.Reject}
	}
	if len(vals) > maxReturnValues {
		return errDecision(fmt.Sprintf("too many return values: %d", len(vals)))
	}
	var first string
	var hops []string
	if n := len(vals) - 1; n > 0 {
		hops = make([]string, n)
	}
	for i, x := range vals {
		var s string
		switch x := x.(type) {
		case lua.LString:
			s = string(x)
		case lua.LNumber:
			s = x.String()
		default:
			return errDecision(fmt.Sprintf("invalid return value #%d: %s", i+1, x.Type()))
		}
		if len(s) > maxReturnLen {
			return errDecision(fmt.Sprintf("return value #%d too long: %d bytes", i+1, len(s)))
		}
		if i == 0 {
			first = s
		} else {
			hops[len(vals)-1-i] = s
		}
	}
	if _, err := addr.ParseTarget(first); err != nil {
		return errDecision("invalid address: " + first)
	}
	// the first hop is checked first, as the chain is read
	for _, h := range hops {
		if _, err := addr.ParseProxy(h); err != nil {
			return errDecision("invalid proxy: " + h)
		}
	}
	return route.Decision{Verdict: route.Forward, Target: first, Chain: route.MakeChain(hops...)}
}

var (
	_ route.AsyncRouter = (*Engine)(nil)
	_ route.Pending     = (*routeCall)(nil)
)
