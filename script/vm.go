package script

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/stdlib"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// Limits of every Lua state.
const (
	callStackSize = 256     // nested Lua calls (gopher-lua's default)
	registrySize  = 1024    // initial value-stack slots of the main state
	registryMax   = 1 << 20 // value-stack slots per thread
	registryGrow  = 64 << 10
	// threadRegistrySize and threadRegistryGrow size the value stack of
	// each coroutine (request routines, pcall threads): they are set on
	// the main state's Options after NewState, because NewThread copies
	// them without NewState's floor of 128 slots. 64 slots (1 KiB) hold
	// the routing callbacks seen so far, so that a request parked in an
	// await costs a few KiB instead of 16 KiB. gopher-lua grows a
	// registry by a fixed step, and copies it each time: 4096 slots
	// (64 KiB) keep deep vararg recursion to a few milliseconds (1024
	// took tens, near a tight budget under load) while a thread that
	// outgrows its first size does not jump by the main state's 1 MiB.
	// A routine that pushes hundreds of thousands of values (unpack of a
	// huge table) is still slower than on the main state.
	threadRegistrySize = 64
	threadRegistryGrow = 4096
	maxPooled          = 1024     // idle threads kept for reuse
	maxStringResult    = 64 << 20 // string.rep result cap
)

// rkind is what an owner-managed routine is for.
type rkind uint8

const (
	kRequest rkind = iota
	kAsync
	kRPC
)

// routine is an owner-managed asynchronous routine: a pooled thread whose
// body ends by calling deliver.
type routine struct {
	kind      rkind
	th        *lua.LState
	delivered bool
	// kRequest
	call      *routeCall
	committed bool
	// kAsync
	finish lua.LValue
	// kRPC
	rpcDone func(body []byte, err error)
}

// pinfo links a pcall thread to the routine it serves.
type pinfo struct {
	outer *lua.LState
	depth int // pcall nesting: 1 for a pcall called by the routine itself
}

// op is a pending await operation of a routine.
type op struct {
	id     uint64
	cancel func()
}

// vm is the owner-side state. Only the owner goroutine touches it.
type vm struct {
	e     *Engine
	L     *lua.LState
	epoch *epochCtx

	pool     []*lua.LState
	routines map[*lua.LState]*routine
	logical  map[*lua.LState]pinfo // pcall thread -> the routine it serves
	pending  map[*lua.LState]*op
	opSeq    uint64

	lastError lua.LValue
	ticker    *time.Ticker
	idleTick  bool

	reqTramp *lua.LFunction
	runTramp *lua.LFunction
	xpTramp  *lua.LFunction
	pTramp   *lua.LFunction
	pcallFn  *lua.LFunction
	getHook  *lua.LFunction

	traceback bool // error values carry a traceback
	xpcallFn  *lua.LFunction

	origCreate lua.LGFunction
	origResume lua.LGFunction
	origStatus lua.LGFunction

	cfg      *config.Config // the configuration a running -c script sees
	now      time.Time      // start of the current loop iteration
	lastGC   time.Time      // last collection forced by --memlimit
	idle     []task         // owner-posted work for the next idle moment
	boot     loadRecord     // the -r or -c load, for Reload
	replay   []loadRecord
	children map[int]func()     // running await.execute children by pid
	pcTags   map[uintptr][]byte // canYieldLevels' cache, see frameTags
}

// newVM builds a fresh Lua state with every library the engine offers.
func newVM(e *Engine) (*vm, error) {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       callStackSize,
		RegistrySize:        registrySize,
		RegistryMaxSize:     registryMax,
		RegistryGrowStep:    registryGrow,
		MinimizeStackMemory: true,
	})
	L.Options.RegistrySize = threadRegistrySize
	L.Options.RegistryGrowStep = threadRegistryGrow
	v := &vm{
		e:        e,
		L:        L,
		routines: make(map[*lua.LState]*routine),
		logical:  make(map[*lua.LState]pinfo),
		pending:  make(map[*lua.LState]*op),
		children: make(map[int]func()),
	}
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.IoLibName, lua.OpenIo},
		{lua.OsLibName, lua.OpenOs},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.DebugLibName, lua.OpenDebug},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("path", lua.LString("?.lua"))
		pkg.RawSetString("cpath", lua.LString("?.so"))
	}
	stdlib.Open(L)
	if err := v.install(); err != nil {
		L.Close()
		return nil, err
	}
	if e.budget > 0 || e.loadBudget > 0 {
		v.newEpoch()
	}
	return v, nil
}

// compile turns source into a function of L. Every chunk the engine loads
// goes through here.
func compile(L *lua.LState, src []byte, chunkname string) (*lua.LFunction, error) {
	if len(src) > 0 && src[0] == 0x1b {
		return nil, fmt.Errorf("%s: attempt to load a binary chunk (mode is 't')", lua54.ChunkID(chunkname))
	}
	return lua54.Load(L, src, chunkname)
}

// compileHelper compiles engine-internal Lua, through the same front end
// as every other chunk. The sources are constants, so a failure is a bug
// in this package (tests build a VM), not a run-time condition.
func compileHelper(L *lua.LState, src, name string) *lua.LFunction {
	fn, err := lua54.Load(L, []byte(src), "="+name)
	if err != nil {
		panic("script: internal helper " + name + ": " + err.Error())
	}
	return fn
}

// install registers neosocksd, await, the yieldable pcall/xpcall, the
// coroutine overrides, the capped builtins and print.
func (v *vm) install() error {
	L := v.L
	g := L.G.Global
	set := func(t *lua.LTable, name string, fn lua.LGFunction) {
		t.RawSetString(name, L.NewFunction(fn))
	}

	v.setTraceback(v.e.o.Config.Traceback)

	// The bodies of protected calls: "true" first tells zero results
	// from a single nil (Resume reports both as one nil).
	tramp := compileHelper(L, `local sethandler = ...
return function(h, f, ...)
	sethandler(h)
	return true, f(...)
end, function(f, ...)
	return true, f(...)
end`, helperChunk)
	L.Push(tramp)
	L.Push(L.NewFunction(v.luaSetHandler))
	L.Call(1, 2)
	v.xpTramp = L.Get(-2).(*lua.LFunction)
	v.pTramp = L.Get(-1).(*lua.LFunction)
	L.Pop(2)

	co := g.RawGetString("coroutine").(*lua.LTable)
	getG := func(t *lua.LTable, name string) lua.LGFunction {
		if fn, ok := t.RawGetString(name).(*lua.LFunction); ok && fn.IsG {
			return fn.GFunction
		}
		return nil
	}
	v.origCreate = getG(co, "create")
	v.origResume = getG(co, "resume")
	v.origStatus = getG(co, "status")

	// pcall/xpcall: a Lua loop over Go steps, so that yields pass through.
	loop := compileHelper(L, `local start, step, yield = ...
local function loop(co, ...)
	if co then
		return loop(step(co, yield(...)))
	end
	return ...
end
return function(f, ...)
	return loop(start(false, f, ...))
end, function(f, h, ...)
	return loop(start(h, f, ...))
end`, "(pcall)")
	L.Push(loop)
	L.Push(L.NewFunction(v.luaPCallStart))
	L.Push(L.NewFunction(v.luaPCallStep))
	L.Push(L.NewFunction(v.luaYield))
	L.Call(3, 2)
	v.pcallFn = L.Get(-2).(*lua.LFunction)
	v.xpcallFn = L.Get(-1).(*lua.LFunction)
	L.Pop(2)
	g.RawSetString("pcall", v.pcallFn)
	g.RawSetString("xpcall", v.xpcallFn)

	set(co, "create", v.luaCoCreate)
	set(co, "resume", v.luaCoResume)
	set(co, "wrap", v.luaCoWrap)
	set(co, "yield", v.luaYield)
	set(co, "running", v.luaCoRunning)
	set(co, "isyieldable", v.luaCoIsYieldable)
	set(co, "status", v.luaCoStatus)

	if s, ok := g.RawGetString("string").(*lua.LTable); ok {
		set(s, "rep", luaStringRep)
	}
	set(g, "print", v.luaPrint)

	v.openNeosocksd()
	v.openAwait()
	return nil
}

// register sets _G[name] and package.loaded[name].
func (v *vm) register(name string, val lua.LValue) {
	L := v.L
	L.G.Global.RawSetString(name, val)
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString(name, val)
	}
}

// epochCtx is the shared execution-budget context. Its Done channel is a
// plain field: gopher-lua polls it before every instruction, and a
// context.WithCancel context would add an atomic load and a type assertion
// to each poll.
type epochCtx struct {
	done chan struct{}
	once sync.Once
}

func (c *epochCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *epochCtx) Done() <-chan struct{}       { return c.done }
func (c *epochCtx) Value(any) any               { return nil }
func (c *epochCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}
func (c *epochCtx) cancel() { c.once.Do(func() { close(c.done) }) }

// newEpoch replaces the shared execution-budget context.
func (v *vm) newEpoch() {
	e := v.e
	ctx := &epochCtx{done: make(chan struct{})}
	e.epochMu.Lock()
	old := e.epochCancel
	e.epochCancel = ctx.cancel
	e.epochMu.Unlock()
	if old != nil {
		old()
	}
	v.epoch = ctx
	v.L.SetContext(ctx)
}

// budgetBlown reports whether the running entry was aborted by the
// watchdog.
func (v *vm) budgetBlown() bool { return v.epoch != nil && v.epoch.Err() != nil }

// refresh gives th the current epoch.
func (v *vm) refresh(th *lua.LState) {
	if v.epoch != nil && th.Context() != context.Context(v.epoch) {
		th.SetContext(v.epoch)
	}
}

// newThread creates a thread that shares the current epoch instead of a
// child context (a child would be cancelled when the thread first ends,
// making it unusable for the pool).
func (v *vm) newThread(from *lua.LState) *lua.LState {
	saved := from.RemoveContext()
	th, cancel := from.NewThread()
	if saved != nil {
		from.SetContext(saved)
	}
	if cancel != nil {
		cancel()
	}
	if v.epoch != nil {
		th.SetContext(v.epoch)
	} else if th.Context() != nil {
		th.RemoveContext()
	}
	return th
}

// acquire takes an idle thread from the pool.
func (v *vm) acquire() *lua.LState {
	if n := len(v.pool); n > 0 {
		th := v.pool[n-1]
		v.pool[n-1] = nil
		v.pool = v.pool[:n-1]
		th.Dead = false
		v.refresh(th)
		return th
	}
	return v.newThread(v.L)
}

// release returns a thread that finished normally to the pool.
func (v *vm) release(th *lua.LState) {
	if len(v.pool) < maxPooled {
		v.pool = append(v.pool, th)
	}
}

// logicalOf returns the routine a thread works for: a pcall thread serves
// the routine that called pcall.
func (v *vm) logicalOf(L *lua.LState) *lua.LState {
	if p, ok := v.logical[L]; ok {
		return p.outer
	}
	return L
}

// depthOf returns the pcall nesting of L (0 for a routine's own thread).
func (v *vm) depthOf(L *lua.LState) int { return v.logical[L].depth }

// isMain reports whether L runs on behalf of the main thread.
func (v *vm) isMain(L *lua.LState) bool { return v.logicalOf(L) == v.L }

// start begins an owner-managed routine with fn(args...) and handles the
// outcome of its first run. from is the state doing the resume.
func (v *vm) start(from *lua.LState, r *routine, fn *lua.LFunction, args ...lua.LValue) {
	th := v.acquire()
	r.th = th
	v.routines[th] = r
	v.e.routineStarted()
	st, err, _ := from.Resume(th, fn, args...)
	v.after(th, st, err)
}

// resumeOwner resumes the routine th from the owner's main thread.
func (v *vm) resumeOwner(th *lua.LState, args ...lua.LValue) {
	if th.Dead {
		return
	}
	v.refresh(th)
	st, err, rets := v.L.Resume(th, nil, args...)
	if _, ok := v.routines[th]; !ok && st == lua.ResumeError {
		v.setLastError(apiErrValue(err))
		v.e.log.Warn("ruleset routine: " + errorText(apiErrValue(err)))
	}
	_ = rets
	v.after(th, st, err)
}

// after handles the outcome of one resume of th.
func (v *vm) after(th *lua.LState, st lua.ResumeState, err error) {
	r := v.routines[th]
	if r == nil {
		return
	}
	switch st {
	case lua.ResumeYield:
		return
	case lua.ResumeOK:
		v.end(r, true)
	default:
		if !r.delivered {
			r.delivered = true
			v.fail(r, apiErrValue(err))
		}
		v.end(r, false)
	}
}

// end forgets a finished routine; a cleanly finished thread is reused.
func (v *vm) end(r *routine, clean bool) {
	delete(v.routines, r.th)
	if op := v.pending[r.th]; op != nil {
		delete(v.pending, r.th)
		op.cancel()
	}
	v.e.routineEnded()
	if clean && r.th.Dead {
		v.release(r.th)
	}
}

// apiErrValue extracts the Lua error value of err.
func apiErrValue(err error) lua.LValue {
	if err == nil {
		return lua.LNil
	}
	if ae, ok := err.(*lua.ApiError); ok {
		if ae.Object != nil {
			return ae.Object
		}
		return lua.LString(ae.Error())
	}
	return lua.LString(err.Error())
}

// errValueText is the text of a routine's error, naming a blown budget.
func (v *vm) errValueText(val lua.LValue) string {
	if v.budgetBlown() {
		return ErrBudget.Error()
	}
	return errorText(val)
}

// luaDeliver ends a routine's body: deliver(results...).
func (v *vm) luaDeliver(L *lua.LState) int {
	r := v.routines[L]
	if r == nil || r.delivered {
		return 0
	}
	r.delivered = true
	n := L.GetTop()
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = L.Get(i + 1)
	}
	v.succeed(L, r, vals)
	return 0
}

// succeed handles a routine's normal results, running on its own thread.
func (v *vm) succeed(L *lua.LState, r *routine, vals []lua.LValue) {
	switch r.kind {
	case kRequest:
		if r.committed {
			return
		}
		d := decide(vals)
		switch {
		case d.Verdict == route.Error:
			v.setLastError(lua.LString(d.Reason))
			v.e.log.Warn("ruleset." + r.call.req.Callback.String() + ": " + d.Reason)
		case d.Verdict == route.Reject && len(vals) > 0 && lua.LVAsBool(vals[0]):
			v.setLastError(lua.LString("invalid return value #1: " + vals[0].Type().String()))
		}
		r.call.answer(d)
	case kAsync:
		args := append([]lua.LValue{lua.LTrue}, vals...)
		v.callFinish(L, r.finish, args)
	case kRPC:
		s, err := stdlib.Marshal(L, append([]lua.LValue{lua.LTrue}, vals...)...)
		if err != nil {
			v.e.log.Warn("rpcall: " + err.Error())
			r.rpcDone(nil, err)
			return
		}
		r.rpcDone([]byte("return "+s), nil)
	}
}

// fail handles a routine that raised.
func (v *vm) fail(r *routine, val lua.LValue) {
	msg := v.errValueText(val)
	switch r.kind {
	case kRequest:
		v.setLastError(lua.LString(msg))
		if v.budgetBlown() {
			v.e.runaways.Add(1)
			v.e.log.Error("ruleset error: "+msg, "budget", v.e.budget)
		} else {
			v.e.log.Error("ruleset error: " + msg)
		}
		if !r.committed {
			r.call.answer(errDecision(msg))
		}
	case kAsync:
		if v.budgetBlown() {
			v.e.runaways.Add(1)
			val = lua.LString(msg)
		}
		v.setLastError(val)
		// the failed thread is unusable: finish runs on the thread that
		// observed the failure (the main thread when the owner resumed)
		v.callFinish(v.L.G.CurrentThread, r.finish, []lua.LValue{lua.LFalse, val})
	case kRPC:
		if v.budgetBlown() {
			v.e.runaways.Add(1)
		}
		v.setLastError(lua.LString(msg))
		v.e.log.Warn("rpcall: " + msg)
		r.rpcDone(nil, fmt.Errorf("%s", msg))
	}
}

// callFinish calls an async routine's finish function on L, protected.
func (v *vm) callFinish(L *lua.LState, finish lua.LValue, args []lua.LValue) {
	if finish == nil || finish == lua.LNil {
		return
	}
	top := L.GetTop()
	L.Push(finish)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), 0, nil); err != nil {
		v.setLastError(apiErrValue(err))
		v.e.log.Warn("async finish: " + errorText(apiErrValue(err)))
	}
	L.SetTop(top)
}

// setLastError records the last error value for neosocksd.stats().
func (v *vm) setLastError(val lua.LValue) {
	v.lastError = val
}

// setTraceback builds the routine trampolines with or without the
// traceback message handler (--traceback, or traceback in a -c table).
func (v *vm) setTraceback(on bool) {
	L := v.L
	mk := compileHelper(L, `local deliver, settb = ...
return function(name, a, u, p)
	if settb then settb() end
	return deliver(ruleset[name](a, u, p))
end, function(f, ...)
	if settb then settb() end
	return deliver(f(...))
end`, "(routine)")
	L.Push(mk)
	L.Push(L.NewFunction(v.luaDeliver))
	if on {
		L.Push(L.NewFunction(v.luaSetTraceback))
	} else {
		L.Push(lua.LNil)
	}
	L.Call(2, 2)
	v.reqTramp = L.Get(-2).(*lua.LFunction)
	v.runTramp = L.Get(-1).(*lua.LFunction)
	L.Pop(2)
	v.traceback = on
}

// luaSetTraceback makes errors of the calling thread carry a traceback.
func (v *vm) luaSetTraceback(L *lua.LState) int {
	L.Panic = func(L *lua.LState) {
		msg := L.Get(-1)
		if !v.budgetBlown() {
			msg = tracebackOf(L, msg, 1)
		}
		panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: msg})
	}
	return 0
}

// tracebackOf renders msg followed by L's stack traceback.
func tracebackOf(L *lua.LState, msg lua.LValue, level int) lua.LValue {
	dbg, ok := L.GetGlobal("debug").(*lua.LTable)
	if !ok {
		return msg
	}
	tb := dbg.RawGetString("traceback")
	if tb == lua.LNil {
		return msg
	}
	top := L.GetTop()
	L.Panic = plainPanic
	L.Push(tb)
	L.Push(lua.LString(tracebackMsg(msg)))
	L.Push(lua.LNumber(level))
	if err := L.PCall(2, 1, nil); err != nil {
		L.SetTop(top)
		return msg
	}
	out := L.Get(-1)
	L.SetTop(top)
	return out
}

// tracebackMsg renders the message part of neosocksd.traceback.
func tracebackMsg(v lua.LValue) string {
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	case *lua.LNilType:
		return "(nil)"
	}
	return fmt.Sprintf("(%s: %p)", v.Type().String(), v)
}

// plainPanic is gopher-lua's coroutine panic function.
func plainPanic(L *lua.LState) {
	panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: L.Get(-1)})
}

// luaSetHandler installs xpcall's message handler on the calling thread:
// it runs where the error is raised, before the stack unwinds.
func (v *vm) luaSetHandler(L *lua.LState) int {
	h := L.Get(1)
	L.Panic = func(L *lua.LState) {
		msg := L.Get(-1)
		L.Panic = plainPanic
		if !v.budgetBlown() {
			top := L.GetTop()
			L.Push(h)
			L.Push(msg)
			if err := L.PCall(1, 1, nil); err != nil {
				msg = apiErrValue(err)
			} else {
				msg = L.Get(-1)
			}
			L.SetTop(top)
		}
		panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: msg})
	}
	return 0
}

// luaPCallStart is the Go half of pcall/xpcall: start(h, f, ...) runs f
// in a pooled thread and returns (co, yielded...) when it yields, or
// (false, ok, results...) when it ends.
func (v *vm) luaPCallStart(L *lua.LState) int {
	h := L.Get(1)
	f := L.Get(2)
	nargs := L.GetTop() - 2
	if f.Type() != lua.LTFunction && L.GetMetaField(f, "__call").Type() != lua.LTFunction {
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + f.Type().String() + " value"))
		return 3
	}
	// Every protected call, the main thread's too, runs in a pooled
	// thread: an error unwinds only that thread, so gopher-lua closing
	// all of its upvalues closes exactly those of the unwound frames.
	args := make([]lua.LValue, 0, nargs+2)
	fn := v.pTramp
	if h != lua.LFalse {
		args = append(args, h)
		fn = v.xpTramp
	}
	args = append(args, f)
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	co := v.acquire()
	v.logical[co] = pinfo{outer: v.logicalOf(L), depth: v.depthOf(L) + 1}
	v.e.routineStarted()
	st, err, rets := L.Resume(co, fn, args...)
	return v.pcallResult(L, co, st, err, rets)
}

// luaPCallStep resumes a pcall thread with the values the outer routine
// was resumed with.
func (v *vm) luaPCallStep(L *lua.LState) int {
	co := L.CheckThread(1)
	args := make([]lua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	v.refresh(co)
	st, err, rets := L.Resume(co, nil, args...)
	return v.pcallResult(L, co, st, err, rets)
}

func (v *vm) pcallResult(L, co *lua.LState, st lua.ResumeState, err error, rets []lua.LValue) int {
	L.SetTop(0)
	switch st {
	case lua.ResumeYield:
		if v.isMain(L) {
			// nothing outside can be suspended: the protected call fails
			delete(v.logical, co)
			v.e.routineEnded()
			L.Push(lua.LFalse)
			L.Push(lua.LFalse)
			L.Push(lua.LString("attempt to yield from outside a coroutine"))
			return 3
		}
		L.Push(co)
		if !(len(rets) == 1 && rets[0] == lua.LNil) {
			for _, r := range rets {
				L.Push(r)
			}
		}
		return L.GetTop()
	case lua.ResumeOK:
		delete(v.logical, co)
		v.e.routineEnded()
		v.release(co)
		L.Push(lua.LFalse)
		L.Push(lua.LTrue)
		// rets[0] is the trampoline's "true"
		for _, r := range rets[1:] {
			L.Push(r)
		}
		return L.GetTop()
	default:
		val := apiErrValue(err)
		if s, ok := val.(lua.LString); ok {
			val = trimHelperPosition(s)
		}
		delete(v.logical, co)
		v.e.routineEnded()
		L.Push(lua.LFalse)
		L.Push(lua.LFalse)
		L.Push(val)
		return 3
	}
}

// luaYield is coroutine.yield, refusing to yield across a Go call.
func (v *vm) luaYield(L *lua.LState) int {
	if L == v.L || L.Parent == nil && L == L.G.MainThread {
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if v.isMain(L) {
		// a protected call made by the main thread
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if !v.canYieldLevels(v.depthOf(L) + 1) {
		L.RaiseError("attempt to yield across a C-call boundary")
	}
	return -1
}

// canYieldLevels walks the Go stack: a yield is safe only when the
// running Lua code, and each of the n-1 pcall threads between it and its
// routine, was entered by a coroutine resume, not by a nested call from Go
// (metamethods, sort comparators, gsub callbacks, iterators, gopher-lua's
// own pcall), where gopher-lua would corrupt the coroutine.
//
// It runs for every await, so it is kept cheap: the walk starts with a
// buffer on the stack that usually reaches the routine's threadRun frame
// (it is redone with more room when not), and what each return address
// stands for is looked up in a per-VM cache rather than symbolized each
// time (symbolizing the whole stack was 5 % of the daemon's CPU under a
// libruleset set-up load).
func (v *vm) canYieldLevels(n int) bool {
	var small [16]uintptr
	pcs := small[:]
	for {
		k := runtime.Callers(3, pcs)
		seen := 0
		for _, pc := range pcs[:k] {
			for _, tag := range v.frameTags(pc) {
				if tag == tagCallR {
					return false
				}
				seen++
				if seen >= n {
					return true
				}
			}
		}
		if k < len(pcs) {
			return false // the whole stack was seen
		}
		pcs = make([]uintptr, 4*len(pcs))
	}
}

// Frame tags: what canYieldLevels looks for in a return address.
const (
	tagThreadRun byte = iota // gopher-lua.threadRun: Lua entered by a resume
	tagCallR                 // gopher-lua.(*LState).callR: Lua entered from Go
)

// frameTags returns the tags of the functions at return address pc,
// innermost first (one address covers several functions where the
// compiler inlined), from the cache or by symbolizing it once. Only the
// VM's owner goroutine calls it.
func (v *vm) frameTags(pc uintptr) []byte {
	if t, ok := v.pcTags[pc]; ok {
		return t
	}
	var t []byte
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		switch {
		case strings.HasSuffix(f.Function, "gopher-lua.threadRun"):
			t = append(t, tagThreadRun)
		case strings.HasSuffix(f.Function, "gopher-lua.(*LState).callR"):
			t = append(t, tagCallR)
		}
		if !more {
			break
		}
	}
	if v.pcTags == nil {
		v.pcTags = make(map[uintptr][]byte)
	}
	v.pcTags[pc] = t
	return t
}

// luaCoCreate is coroutine.create without a per-thread child context.
func (v *vm) luaCoCreate(L *lua.LState) int {
	saved := L.RemoveContext()
	n := v.origCreate(L)
	if saved != nil {
		L.SetContext(saved)
	}
	if th, ok := L.Get(-1).(*lua.LState); ok {
		v.refresh(th)
	}
	return n
}

// luaCoResume is coroutine.resume: it refreshes the epoch, drops a pending
// await the thread is resumed out of, and notices owner-managed routines
// that end inside it.
func (v *vm) luaCoResume(L *lua.LState) int {
	th := L.CheckThread(1)
	if active(L, th) && !th.Dead {
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(lua.LString("cannot resume non-suspended coroutine"))
		return 2
	}
	v.refresh(th)
	if op := v.pending[th]; op != nil {
		delete(v.pending, th)
		op.cancel()
	}
	top := L.GetTop()
	n := v.origResume(L)
	if r := v.routines[th]; r != nil && th.Dead {
		ok := L.Get(L.GetTop() - n + 1)
		if lua.LVAsBool(ok) {
			v.end(r, true)
		} else {
			if !r.delivered {
				r.delivered = true
				var val lua.LValue = lua.LNil
				if n >= 2 {
					val = L.Get(L.GetTop() - n + 2)
				}
				v.fail(r, val)
			}
			v.end(r, false)
		}
	}
	_ = top
	return n
}

// luaCoWrap is coroutine.wrap on top of luaCoCreate and luaCoResume.
func (v *vm) luaCoWrap(L *lua.LState) int {
	fn := L.CheckFunction(1)
	L.SetTop(0)
	L.Push(fn)
	v.luaCoCreate(L)
	th := L.Get(-1)
	L.Push(L.NewClosure(func(L *lua.LState) int {
		L.Insert(th, 1)
		n := v.luaCoResume(L)
		base := L.GetTop() - n + 1
		if !lua.LVAsBool(L.Get(base)) {
			L.Error(L.Get(base+1), 1)
		}
		return n - 1
	}))
	return 1
}

// luaCoRunning returns the running routine (the outer one inside pcall)
// and whether it is the main thread.
func (v *vm) luaCoRunning(L *lua.LState) int {
	r := v.logicalOf(L)
	L.Push(r)
	L.Push(lua.LBool(r == v.L))
	return 2
}

func (v *vm) luaCoIsYieldable(L *lua.LState) int {
	L.Push(lua.LBool(!v.isMain(L)))
	return 1
}

func (v *vm) luaCoStatus(L *lua.LState) int {
	th := L.CheckThread(1)
	switch {
	case th == v.logicalOf(L):
		L.Push(lua.LString("running"))
		return 1
	case active(L, th):
		L.Push(lua.LString("normal"))
		return 1
	}
	return v.origStatus(L)
}

// active reports whether th is L or one of the threads that resumed it
// (running or "normal"), which cannot be resumed.
func active(L, th *lua.LState) bool {
	for p := L; p != nil; p = p.Parent {
		if p == th {
			return true
		}
	}
	return L.G.MainThread == th
}

// luaStringRep is string.rep(s, n [, sep]) with a cap on the result.
func luaStringRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckNumber(2)
	sep := L.OptString(3, "")
	if n <= 0 || n != n {
		L.Push(lua.LString(""))
		return 1
	}
	total := float64(len(s))*float64(n) + float64(len(sep))*(float64(n)-1)
	if total > maxStringResult {
		L.RaiseError("resulting string too large")
	}
	k := int(n)
	var b strings.Builder
	b.Grow(int(total))
	for i := 0; i < k; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// luaPrint writes its arguments, converted with the global tostring,
// separated by tabs, to Options.Stdout.
func (v *vm) luaPrint(L *lua.LState) int {
	var b strings.Builder
	tostring := L.GetGlobal("tostring")
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		L.Push(tostring)
		L.Push(L.Get(i))
		L.Call(1, 1)
		b.WriteString(L.ToStringMeta(L.Get(-1)).String())
		L.Pop(1)
	}
	b.WriteByte('\n')
	_, _ = v.e.stdout.Write([]byte(b.String()))
	return 0
}

// crashed handles a Go panic that escaped the VM: the state may be
// inconsistent, so it is replaced by a new one built from the last good
// ruleset.
func (v *vm) crashed(r any) {
	e := v.e
	e.rebuilds.Add(1)
	e.log.Error(fmt.Sprintf("ruleset: VM panic, rebuilding: %v", r))
	for th, rt := range v.routines {
		if !rt.delivered {
			rt.delivered = true
			switch rt.kind {
			case kRequest:
				if !rt.committed {
					rt.call.answer(errDecision("ruleset engine restarted"))
				}
			case kRPC:
				rt.rpcDone(nil, fmt.Errorf("ruleset engine restarted"))
			}
		}
		delete(v.routines, th)
		e.routineEnded()
	}
	for _, op := range v.pending {
		op.cancel()
	}
	nv, err := newVM(e)
	if err != nil {
		e.log.Error("ruleset: rebuild failed: " + err.Error())
		return
	}
	nv.children = v.children
	if v.ticker != nil {
		v.ticker.Stop()
	}
	e.v = nv
	for _, rec := range v.replay {
		if err := nv.apply(rec); err != nil {
			e.log.Warn("ruleset: replay: " + err.Error())
		}
	}
	nv.replay = v.replay
	func() {
		defer func() { _ = recover() }()
		v.L.Close()
	}()
}

// shutdown stops timers and children when the engine closes.
func (v *vm) shutdown() {
	if v.ticker != nil {
		v.ticker.Stop()
	}
	for _, op := range v.pending {
		op.cancel()
	}
	for _, kill := range v.children {
		kill()
	}
	for _, r := range v.routines {
		if !r.delivered {
			r.delivered = true
			switch r.kind {
			case kRequest:
				r.call.answer(errDecision(ErrClosed.Error()))
			case kRPC:
				r.rpcDone(nil, ErrClosed)
			}
		}
	}
	v.e.epochMu.Lock()
	if v.e.epochCancel != nil {
		v.e.epochCancel()
	}
	v.e.epochMu.Unlock()
}

// helperChunk names the chunk of the protected-call trampolines.
const helperChunk = "(pcall)"

// trimHelperPosition drops a position pointing into the trampolines: an
// error raised with level 1 by a Go function called directly by pcall,
// where C Lua names no position.
func trimHelperPosition(s lua.LString) lua.LString {
	// the Lua 5.4 front end prints "=(pcall)" as "(pcall)", as Lua does
	rest, ok := strings.CutPrefix(string(s), helperChunk+":")
	if !ok {
		return s
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i > 0 && strings.HasPrefix(rest[i:], ": ") {
		return lua.LString(rest[i+2:])
	}
	return s
}
