package script

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// completion is the result of an await operation, posted to the owner.
type completion struct {
	th   *lua.LState
	id   uint64
	vals func(v *vm) []lua.LValue // built on the owner, only if still awaited
	drop func()                   // called instead when nobody awaits it
}

func (c *completion) run(e *Engine) { e.v.complete(c) }

// complete resumes the routine that awaits c.
func (v *vm) complete(c *completion) {
	op := v.pending[c.th]
	if op == nil || op.id != c.id || c.th.Dead {
		if c.drop != nil {
			c.drop()
		}
		return
	}
	delete(v.pending, c.th)
	var vals []lua.LValue
	if c.vals != nil {
		vals = c.vals(v)
	}
	v.resumeOwner(c.th, vals...)
}

// await prepares an await operation by L: it returns the routine to
// resume and a fresh operation id, or raises.
func (v *vm) await(L *lua.LState) (*lua.LState, *op) {
	R := v.pc.Logical(L)
	if R == v.L || L == v.L {
		L.RaiseError("not in asynchronous routine")
	}
	if !v.pc.CanYield(L) {
		L.RaiseError("attempt to yield across a C-call boundary")
	}
	v.opSeq++
	o := &op{id: v.opSeq, cancel: func() {}}
	if old := v.pending[R]; old != nil {
		old.cancel()
	}
	v.pending[R] = o
	return R, o
}

// finishOp posts a completion from a goroutine other than the owner (the
// owner appends to v.idle instead: its own inbox may be full).
func (v *vm) finishOp(R *lua.LState, o *op, vals func(v *vm) []lua.LValue, drop func()) {
	v.e.post(&completion{th: R, id: o.id, vals: vals, drop: drop})
}

func values(vs ...lua.LValue) func(*vm) []lua.LValue {
	return func(*vm) []lua.LValue { return vs }
}

// openNeosocksd registers the neosocksd module.
func (v *vm) openNeosocksd() {
	L := v.L
	t := L.NewTable()
	addrs := stdlib.OpenAddr(L)
	addrs.ForEach(func(k, val lua.LValue) { t.RawSet(k, val) })
	L.SetFuncs(t, map[string]lua.LGFunction{
		"config":      v.luaConfig,
		"stats":       v.luaStats,
		"now":         v.luaNow,
		"setinterval": v.luaSetInterval,
		"async":       v.luaAsync,
		"invoke":      v.luaInvoke,
		"resolve":     v.luaResolveSync,
		"traceback":   v.luaTraceback,
	})
	v.register("neosocksd", t)
}

// openAwait registers the await module.
func (v *vm) openAwait() {
	L := v.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"sleep":   v.luaSleep,
		"idle":    v.luaIdle,
		"resolve": v.luaResolve,
		"execute": v.luaExecute,
		"invoke":  v.luaAwaitInvoke,
		"forward": v.luaForward,
	})
	v.register("await", t)
}

// config returns the configuration neosocksd.config() reflects.
func (v *vm) config() *config.Config {
	if v.cfg != nil {
		return v.cfg
	}
	return v.e.o.Config
}

func (v *vm) luaConfig(L *lua.LState) int {
	c := v.config()
	t := L.NewTable()
	for _, f := range config.Fields {
		switch f.Kind {
		case config.String:
			if s := *f.Str(c); s != "" {
				t.RawSetString(f.Name, lua.LString(s))
			}
		case config.Integer:
			t.RawSetString(f.Name, lua.LNumber(*f.Int(c)))
		case config.Number:
			t.RawSetString(f.Name, lua.LNumber(*f.Num(c)))
		case config.Boolean:
			t.RawSetString(f.Name, lua.LBool(*f.Bool(c)))
		}
	}
	if c.Ruleset != "" {
		t.RawSetString("ruleset", lua.LString(c.Ruleset))
	}
	L.Push(t)
	return 1
}

func (v *vm) luaStats(L *lua.LState) int {
	e := v.e
	s := e.o.Stats
	t := L.NewTable()
	if v.lastError != nil {
		t.RawSetString("lasterror", v.lastError)
	}
	up := 0.0
	if !e.o.Started.IsZero() {
		up = float64(time.Since(e.o.Started).Nanoseconds())
	}
	t.RawSetString("uptime", lua.LNumber(up))
	set := func(k string, n float64) { t.RawSetString(k, lua.LNumber(n)) }
	set("num_halfopen", float64(s.HalfOpen.Load()))
	set("num_sessions", float64(s.Sessions.Load()))
	set("num_sessions_peak", float64(s.SessionsPeak.Load()))
	set("num_request", float64(s.Request.Load()))
	set("num_success", float64(s.Success.Load()))
	set("num_reject_ruleset", float64(s.RejectRuleset.Load()))
	set("num_reject_timeout", float64(s.RejectTimeout.Load()))
	set("num_reject_upstream", float64(s.RejectUpstream.Load()))
	set("byt_up", float64(s.BytesUp.Load()))
	set("byt_down", float64(s.BytesDown.Load()))
	set("num_accept", float64(s.Accept.Load()))
	set("num_serve", float64(s.Serve.Load()))
	set("num_api_request", float64(s.APIRequest.Load()))
	set("num_api_success", float64(s.APISuccess.Load()))
	set("num_dns_query", float64(s.DNSQuery.Load()))
	set("num_dns_success", float64(s.DNSSuccess.Load()))
	set("bytes_allocated", float64(e.allocated.Load()))
	set("num_object", float64(e.objects.Load()))
	set("num_thread_active", float64(e.active.Load()))
	set("num_thread_peak", float64(e.peak.Load()))
	L.Push(t)
	return 1
}

func (v *vm) luaNow(L *lua.LState) int {
	L.Push(lua.LNumber(float64(v.now.UnixNano()) / 1e9))
	return 1
}

func (v *vm) luaSetInterval(L *lua.LState) int {
	n := float64(L.CheckNumber(1))
	if v.ticker != nil {
		v.ticker.Stop()
		v.ticker = nil
	}
	v.idleTick = false
	if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) < 0x1p-1022 {
		return 0
	}
	if n < 0 {
		v.idleTick = true
		return 0
	}
	d := time.Duration(n * float64(time.Second))
	if d <= 0 {
		d = time.Nanosecond
	}
	v.ticker = time.NewTicker(d)
	return 0
}

// tick calls ruleset.tick() on the main thread.
func (v *vm) tick() {
	fn, err := v.hook("tick")
	if err != nil {
		v.e.log.Warn("ruleset.tick: " + errorText(err))
		return
	}
	if fn.Type() != lua.LTFunction {
		return
	}
	if _, err := v.callMain(fn, 0); err != nil {
		v.e.log.Warn("ruleset.tick: " + errorText(err))
	}
}

func (v *vm) luaAsync(L *lua.LState) int {
	finish := L.CheckFunction(1)
	L.CheckAny(2)
	f := L.Get(2)
	args := []lua.LValue{f}
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	r := &routine{kind: kAsync, finish: finish}
	v.start(L, r, v.runTramp, args...)
	L.Push(r.th)
	return 1
}

// checkTarget reads addr, proxyN, ..., proxy1 from the stack at i and
// returns the target and the hops, first hop first; it raises "invalid
// address" when any does not parse.
func checkTarget(L *lua.LState, i int) (string, []string) {
	top := L.GetTop()
	if top < i {
		L.RaiseError("invalid address")
	}
	target, ok := luaString(L.Get(i))
	if !ok {
		L.RaiseError("invalid address")
	}
	if _, err := addr.ParseTarget(target); err != nil {
		L.RaiseError("invalid address")
	}
	var hops []string
	for j := top; j > i; j-- {
		h, ok := luaString(L.Get(j))
		if !ok {
			L.RaiseError("invalid address")
		}
		if _, err := addr.ParseProxy(h); err != nil {
			L.RaiseError("invalid address")
		}
		hops = append(hops, h)
	}
	return target, hops
}

func luaString(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return v.String(), true
	}
	return "", false
}

func (v *vm) luaInvoke(L *lua.LState) int {
	code := L.CheckString(1)
	target, hops := checkTarget(L, 2)
	e := v.e
	timeout := v.config().TimeoutDuration()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		go func() {
			select {
			case <-e.quit:
				cancel()
			case <-ctx.Done():
			}
		}()
		res := e.call(ctx, "/ruleset/invoke", []byte(code), target, hops)
		if res.err != "" {
			e.log.Warn("api invoke: " + res.err)
		} else if res.status/100 != 2 || len(res.body) > 0 {
			e.log.Warn("api invoke: " + res.statusLine)
		}
	}()
	return 0
}

func (v *vm) resolve(ctx context.Context, host string) (string, bool) {
	res := v.e.o.Resolve
	if res == nil {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return "", false
		}
		return ips[0].Unmap().String(), true
	}
	a, err := res(ctx, host)
	if err != nil || !a.IsValid() {
		return "", false
	}
	return a.Unmap().String(), true
}

func (v *vm) luaResolveSync(L *lua.LState) int {
	host := L.CheckString(1)
	ctx, cancel := context.WithTimeout(context.Background(), v.config().TimeoutDuration())
	defer cancel()
	if s, ok := v.resolve(ctx, host); ok {
		L.Push(lua.LString(s))
		return 1
	}
	return 0
}

func (v *vm) luaTraceback(L *lua.LState) int {
	msg := L.Get(1)
	tb := tracebackOf(L, msg, 2)
	v.e.log.Log(context.Background(), -8, "traceback: "+errorText(tb))
	L.Push(tb)
	return 1
}

// ---- await.* ----

func (v *vm) luaSleep(L *lua.LState) int {
	n := float64(L.CheckNumber(1))
	if !(n >= 0 && n <= 1e9) {
		L.ArgError(1, "n must be finite and in [0, 1e9]")
	}
	R, o := v.await(L)
	if n == 0 {
		v.idle = append(v.idle, &completion{th: R, id: o.id})
		return L.Yield()
	}
	t := time.AfterFunc(time.Duration(n*float64(time.Second)), func() { v.finishOp(R, o, nil, nil) })
	o.cancel = func() { t.Stop() }
	return L.Yield()
}

// luaIdle is await.idle(): yield until the loop is idle.
func (v *vm) luaIdle(L *lua.LState) int {
	R, o := v.await(L)
	v.idle = append(v.idle, &completion{th: R, id: o.id})
	return L.Yield()
}

func (v *vm) luaResolve(L *lua.LState) int {
	host := L.CheckString(1)
	R, o := v.await(L)
	v.goOp(o, func(ctx context.Context) {
		s, ok := v.resolve(ctx, host)
		if ok {
			v.finishOp(R, o, values(lua.LString(s)), nil)
		} else {
			v.finishOp(R, o, nil, nil)
		}
	})
	return L.Yield()
}

// goOp runs work for the pending op o on an op worker (e.ops), which the
// engine waits for when it closes; work's context ends after the configured timeout or
// when o is cancelled.
func (v *vm) goOp(o *op, work func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), v.config().TimeoutDuration())
	o.cancel = cancel
	v.e.ops.Go(func() {
		defer cancel()
		work(ctx)
	})
}

func (v *vm) luaExecute(L *lua.LState) int {
	cmdline := L.CheckString(1)
	R, o := v.await(L)
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		delete(v.pending, R)
		var pe *os.PathError
		if errors.As(err, &pe) {
			L.RaiseError("%s", pe.Err.Error())
		}
		L.RaiseError("%s", err.Error())
	}
	pid := cmd.Process.Pid
	kill := func() { _ = cmd.Process.Kill() }
	v.children[pid] = kill
	o.cancel = kill
	e := v.e
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = cmd.Wait()
		st := cmd.ProcessState
		var vals []lua.LValue
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			vals = []lua.LValue{lua.LNil, lua.LString("signal"), lua.LNumber(ws.Signal())}
		} else if code := st.ExitCode(); code == 0 {
			vals = []lua.LValue{lua.LTrue, lua.LString("exit"), lua.LNumber(0)}
		} else {
			vals = []lua.LValue{lua.LNil, lua.LString("exit"), lua.LNumber(code)}
		}
		e.post(funcTask(func(e *Engine) { delete(e.v.children, pid) }))
		v.finishOp(R, o, values(vals...), nil)
	}()
	return L.Yield()
}

func (v *vm) luaAwaitInvoke(L *lua.LState) int {
	code := L.CheckString(1)
	target, hops := checkTarget(L, 2)
	R, o := v.await(L)
	v.goOp(o, func(ctx context.Context) {
		res := v.e.call(ctx, "/ruleset/rpcall", []byte(code), target, hops)
		v.finishOp(R, o, func(v *vm) []lua.LValue { return v.rpcResult(res) }, nil)
	})
	return L.Yield()
}

// rpcResult turns an rpcall response into await.invoke's results.
func (v *vm) rpcResult(res callResult) []lua.LValue {
	if res.err != "" {
		return []lua.LValue{lua.LFalse, lua.LString(res.err)}
	}
	fn, err := compile(v.L, res.body, "=(rpc)")
	if err != nil {
		return []lua.LValue{lua.LFalse, lua.LString(err.Error())}
	}
	fn.Env = v.sandbox()
	return []lua.LValue{lua.LTrue, fn}
}

func (v *vm) luaForward(L *lua.LState) int {
	R := v.pc.Logical(L)
	r := v.routines[R]
	if r == nil || r.kind != kRequest {
		L.RaiseError("await.forward must be called from a ruleset request handler")
	}
	if r.committed || !r.call.forwardable() {
		L.RaiseError("await.forward: the request is not forwardable")
	}
	if L.GetTop() < 1 || L.Get(1) == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	target, hops := checkTarget(L, 1)
	req := r.call.req
	if req.Dial == nil && req.Connect != nil {
		// the event loop dials (RouteAsync)
		_, o := v.await(L)
		v.connect(R, o, r, target, route.MakeChain(hops...))
		return L.Yield()
	}
	if req.Dial == nil {
		// the server dials itself: commit to a plain decision
		r.committed = true
		r.call.answer(route.Decision{Verdict: route.Forward, Target: target, Chain: route.MakeChain(hops...)})
		L.Push(lua.LTrue)
		return 1
	}
	_, o := v.await(L)
	call := r.call
	dial := call.req.Dial
	v.goOp(o, func(ctx context.Context) {
		conn, err := dial(ctx, target, route.MakeChain(hops...))
		if err != nil {
			msg := err.Error()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				msg = "timeout"
			}
			v.finishOp(R, o, values(lua.LFalse, lua.LString(msg)), nil)
			return
		}
		v.finishOp(R, o, func(v *vm) []lua.LValue {
			if !r.commit(route.Decision{Verdict: route.Committed, Target: target, Chain: route.MakeChain(hops...), Conn: conn}) {
				_ = conn.Close()
				return []lua.LValue{lua.LFalse, lua.LString("request cancelled")}
			}
			return []lua.LValue{lua.LTrue}
		}, func() { _ = conn.Close() })
	})
	return L.Yield()
}

// connect is await.forward through the event loop's Connector: the
// counterpart of the op worker's dial, started from the owner. The
// result comes back on the loop's goroutine and is posted to the owner
// as the worker's completion would be (see connecting), so the routine
// resumes with the same values. The loop's dial cannot be cancelled from
// here, so o.cancel stays a no-op; a result that comes after the routine
// ended, or after the VM was rebuilt or closed, finds no pending op with
// its id and is dropped (the loop closes a connection nobody committed).
func (v *vm) connect(R *lua.LState, o *op, r *routine, target string, chain route.Chain) {
	c := &connecting{e: v.e, th: R, id: o.id, r: r, target: target, chain: chain}
	r.call.req.Connect.Connect(target, chain, c.result)
}

// connecting is one await.forward through Request.Connect: what its
// result needs, and then the task that hands the result to the owner.
// One allocation serves both, where an op worker's dial costs a
// completion and its closures.
type connecting struct {
	e      *Engine
	th     *lua.LState
	id     uint64
	r      *routine
	target string
	chain  route.Chain
	err    error // the Connector's result, set before the post
}

// result is the Connector's callback, on the loop's goroutine.
func (c *connecting) result(err error) {
	c.err = err
	c.e.postNow(c)
}

// forwarded is await.forward's result once committed; read only. It holds
// the constant lua.LBool(true), which is lua.LTrue, so that the linker
// lays it out and the package needs no initializer.
var forwarded = []lua.LValue{lua.LBool(true)}

// run resumes the routine that awaits c, as complete does for an op
// worker's completion: false and "timeout" for a deadline, false and the
// error's text for another failure, false and "request cancelled" when
// the call can no longer take the connection (abandoned, or answered);
// otherwise the decision is Committed with Conn nil (the connection the
// loop made) and await.forward returns true.
func (c *connecting) run(e *Engine) {
	v := e.v
	if op := v.pending[c.th]; op == nil || op.id != c.id || c.th.Dead {
		return
	}
	delete(v.pending, c.th)
	if c.err != nil {
		msg := c.err.Error()
		if errors.Is(c.err, context.DeadlineExceeded) {
			msg = "timeout"
		}
		v.resumeOwner(c.th, lua.LFalse, lua.LString(msg))
		return
	}
	if !c.r.commit(route.Decision{Verdict: route.Committed, Target: c.target, Chain: c.chain}) {
		v.resumeOwner(c.th, lua.LFalse, lua.LString("request cancelled"))
		return
	}
	v.resumeOwner(c.th, forwarded...)
}
