package script

import (
	"context"
	"fmt"
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

// routeCall is one Route request travelling to the owner and back.
type routeCall struct {
	ctx   context.Context
	req   *route.Request
	ch    chan route.Decision
	err   error        // set by the owner before answering: could not start
	state atomic.Int32 // 0 waiting, 1 answered, 2 abandoned by the caller
}

func (c *routeCall) run(e *Engine) { e.v.startRequest(c) }

// answer delivers d once. A decision nobody waits for any more has its
// connection closed.
func (c *routeCall) answer(d route.Decision) {
	if c.state.CompareAndSwap(0, 1) {
		c.ch <- d
		return
	}
	if d.Conn != nil {
		_ = d.Conn.Close()
	}
}

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
	c := &routeCall{ctx: ctx, req: req, ch: make(chan route.Decision, 1)}
	select {
	case e.inbox <- c:
	case <-e.quit:
		return errDecision(ErrClosed.Error()), ErrClosed
	case <-ctx.Done():
		return errDecision("request cancelled"), ctx.Err()
	}
	select {
	case d := <-c.ch:
		return d, c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(0, 2) {
			return errDecision("request cancelled"), ctx.Err()
		}
		d := <-c.ch
		return d, c.err
	case <-e.done:
		if c.state.CompareAndSwap(0, 2) {
			return errDecision(ErrClosed.Error()), ErrClosed
		}
		d := <-c.ch
		return d, c.err
	}
}

// startRequest runs on the owner: it starts the callback's routine.
func (v *vm) startRequest(c *routeCall) {
	name := c.req.Callback.String()
	rs := v.L.G.Global.RawGetString("ruleset")
	if rs.Type() != lua.LTTable {
		msg := fmt.Sprintf("ruleset.%s: attempt to index a %s value (global 'ruleset')", name, rs.Type())
		v.e.log.Warn(msg)
		c.err = fmt.Errorf("%s", msg)
		c.answer(errDecision(msg))
		return
	}
	if c.state.Load() != 0 {
		return // the caller gave up before the routine could start
	}
	user, pass := lua.LValue(lua.LNil), lua.LValue(lua.LNil)
	if c.req.Cred.HasUsername {
		user = lua.LString(c.req.Cred.Username)
	}
	if c.req.Cred.HasPassword {
		pass = lua.LString(c.req.Cred.Password)
	}
	r := &routine{kind: kRequest, call: c}
	v.start(v.L, r, v.reqTramp, cbNames[c.req.Callback], lua.LString(c.req.Addr), user, pass)
}

var cbNames = map[route.Callback]lua.LValue{
	route.Resolve: lua.LString("resolve"),
	route.Route:   lua.LString("route"),
	route.Route6:  lua.LString("route6"),
}

// errDecision refuses a request because the ruleset failed.
func errDecision(reason string) route.Decision {
	return route.Decision{Verdict: route.Error, Reason: reason}
}

// decide maps a request callback's return values to a decision:
// addr, proxyN, ..., proxy1 (the last value is the first hop).
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
	strs := make([]string, len(vals))
	for i, x := range vals {
		switch x := x.(type) {
		case lua.LString:
			strs[i] = string(x)
		case lua.LNumber:
			strs[i] = x.String()
		default:
			return errDecision(fmt.Sprintf("invalid return value #%d: %s", i+1, x.Type()))
		}
		if len(strs[i]) > maxReturnLen {
			return errDecision(fmt.Sprintf("return value #%d too long: %d bytes", i+1, len(strs[i])))
		}
	}
	if _, err := addr.ParseTarget(strs[0]); err != nil {
		return errDecision("invalid address: " + strs[0])
	}
	var hops []string
	if n := len(strs) - 1; n > 0 {
		hops = make([]string, n)
		for i := range hops {
			h := strs[len(strs)-1-i]
			if _, err := addr.ParseProxy(h); err != nil {
				return errDecision("invalid proxy: " + h)
			}
			hops[i] = h
		}
	}
	return route.Decision{Verdict: route.Forward, Target: strs[0], Chain: route.MakeChain(hops...)}
}

var _ route.Router = (*Engine)(nil)
