package stdlib

// pcall and xpcall that a coroutine can yield across, for every embedder.
//
// gopher-lua's own pcall is a Go function calling Lua: a yield inside it
// would cross that Go call and corrupt the coroutine, and when it catches
// an error it closes every open upvalue of the whole thread, so closures
// stop sharing the locals of frames that are still running. Here a
// protected call runs its body in a thread of its own, taken from the
// host (Host.Acquire): an error unwinds only that thread, which is then
// dropped rather than reused, so a closure escaping an unwound frame keeps
// its value and the caller's frames keep theirs.
//
// The call itself is a small Lua loop (the helper chunk, named
// helperChunk): start runs the body until it ends or yields; a yield is
// passed outward by yielding the caller's thread with the same values,
// and what that thread is resumed with goes back into the body (step).
// So coroutine.yield inside pcall inside a coroutine works as in Lua 5.4,
// and the daemon's await.* suspend the request that made the pcall. A
// protected call made on behalf of the main thread has nothing to yield
// to: a body that yields anyway fails the call with "attempt to yield from
// outside a coroutine".
//
// xpcall's handler runs where the error is raised, before the stack
// unwinds (debug.traceback shows the erroring frame), and receives the
// error value; extra arguments are passed to the function (5.2+).

import (
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// maxFreeThreads bounds the idle body threads kept per state when the
// host has no pool of its own.
const maxFreeThreads = 8

// pinfo links a body thread to the thread it works for.
type pinfo struct {
	outer *lua.LState // the logical thread: the caller of the outermost protected call
	depth int         // protected-call nesting: 1 for a call made by the logical thread itself
}

// ProtectedCalls is the pcall and xpcall of one Lua state and the book of
// which thread each running body works for (coroutine.running, the
// daemon's await). Only the goroutine running the state may use it.
type ProtectedCalls struct {
	host    Host
	main    *lua.LState
	logical map[*lua.LState]pinfo // busy body thread -> the thread it works for
	free    []*lua.LState         // idle body threads, when the host has no Acquire
	pTramp  *lua.LFunction        // body of pcall: (f, ...) -> true, f(...)
	xpTramp *lua.LFunction        // body of xpcall: (h, f, ...) -> sethandler(h); true, f(...)
	pcall   *lua.LFunction
	xpcall  *lua.LFunction
	pcTags  map[uintptr][]byte // canYieldLevels' cache, see frameTags
}

// newProtectedCalls builds the protected calls of L's state for h.
func newProtectedCalls(L *lua.LState, h Host) *ProtectedCalls {
	pc := &ProtectedCalls{host: h, main: L.G.MainThread, logical: map[*lua.LState]pinfo{}}
	// The bodies: "true" first tells zero results from a single nil
	// (Resume reports both as one nil).
	L.Push(helper(L, `local sethandler = ...
return function(h, f, ...)
	sethandler(h)
	return true, f(...)
end, function(f, ...)
	return true, f(...)
end`))
	L.Push(L.NewFunction(pc.setHandler))
	L.Call(1, 2)
	pc.xpTramp = L.Get(-2).(*lua.LFunction)
	pc.pTramp = L.Get(-1).(*lua.LFunction)
	L.Pop(2)

	L.Push(helper(L, `local start, step, yield = ...
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
end`))
	L.Push(L.NewFunction(pc.start))
	L.Push(L.NewFunction(pc.step))
	L.Push(L.NewFunction(pc.yield))
	L.Call(3, 2)
	pc.pcall = L.Get(-2).(*lua.LFunction)
	pc.xpcall = L.Get(-1).(*lua.LFunction)
	L.Pop(2)
	return pc
}

// helper compiles a chunk of the protected calls. The sources are
// constants, so a failure is a bug in this file, which every test that
// opens a state finds.
func helper(L *lua.LState, src string) *lua.LFunction {
	fn, err := lua54.Load(L, []byte(src), "="+helperChunk)
	if err != nil {
		panic("stdlib: protected call helper: " + err.Error())
	}
	return fn
}

// Logical returns the thread L works for: the caller of the outermost
// protected call whose body L runs, or L itself.
func (pc *ProtectedCalls) Logical(L *lua.LState) *lua.LState {
	if p, ok := pc.logical[L]; ok {
		return p.outer
	}
	return L
}

// IsMain reports whether L runs on behalf of the main thread, which
// cannot yield.
func (pc *ProtectedCalls) IsMain(L *lua.LState) bool { return pc.Logical(L) == pc.main }

// CanYield reports whether L may yield to the thread that resumed its
// logical thread: whether the running Lua code, and each protected call
// between it and that thread, was entered by a resume rather than called
// from Go (see canYieldLevels). It does not check IsMain.
func (pc *ProtectedCalls) CanYield(L *lua.LState) bool {
	return pc.canYieldLevels(pc.logical[L].depth + 1)
}

// setHandler installs xpcall's message handler on the calling thread for
// its next error: it runs where the error is raised, before the stack
// unwinds.
func (pc *ProtectedCalls) setHandler(L *lua.LState) int {
	h := L.Get(1)
	L.Panic = func(L *lua.LState) {
		msg := L.Get(-1)
		L.Panic = RawPanic
		if pc.host.Aborted == nil || !pc.host.Aborted() {
			msg = callHandler(L, h, msg)
		}
		panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: msg})
	}
	return 0
}

// callHandler runs xpcall's message handler h on msg and returns what it
// returns; a handler that raises gives "error in error handling", as in
// Lua 5.4.
func callHandler(L *lua.LState, h, msg lua.LValue) lua.LValue {
	top := L.GetTop()
	defer L.SetTop(top)
	L.Push(h)
	L.Push(msg)
	if err := L.PCall(1, 1, nil); err != nil {
		return lua.LString("error in error handling")
	}
	return L.Get(-1)
}

// start is the Go half of pcall/xpcall: start(h, f, ...) runs f in a body
// thread and returns (co, yielded...) when it yields, or (false, ok,
// results...) when it ends. h is false for pcall.
func (pc *ProtectedCalls) start(L *lua.LState) int {
	h := L.Get(1)
	f := L.Get(2)
	nargs := L.GetTop() - 2
	if !callable(L, f) {
		var msg lua.LValue = callError(f)
		if h != lua.LFalse {
			// xpcall: as in Lua 5.4, the handler sees the call error too
			msg = callHandler(L, h, msg)
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(lua.LFalse)
		L.Push(msg)
		return 3
	}
	args := make([]lua.LValue, 0, nargs+2)
	fn := pc.pTramp
	if h != lua.LFalse {
		args = append(args, h)
		fn = pc.xpTramp
	}
	args = append(args, f)
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	co := pc.acquire(L)
	pc.logical[co] = pinfo{outer: pc.Logical(L), depth: pc.logical[L].depth + 1}
	inherit(co, L)
	st, err, rets := L.Resume(co, fn, args...)
	return pc.result(L, co, st, err, rets)
}

// step resumes a body thread with the values its caller's thread was
// resumed with: step(co, ...).
func (pc *ProtectedCalls) step(L *lua.LState) int {
	co := L.CheckThread(1)
	args := make([]lua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	inherit(co, L)
	st, err, rets := L.Resume(co, nil, args...)
	return pc.result(L, co, st, err, rets)
}

// inherit gives the body thread co the context of its caller L (the
// daemon's execution budget), which may have been replaced since co last
// ran. A running caller's context is never a cancelled one (gopher-lua
// checks it before every instruction), so in the daemon this is the
// current budget epoch, which the routine pool gives its threads too.
func inherit(co, L *lua.LState) {
	if ctx := L.Context(); ctx != nil {
		if co.Context() != ctx {
			co.SetContext(ctx)
		}
	} else if co.Context() != nil {
		co.RemoveContext()
	}
}

// result turns the outcome of one resume of the body thread co into
// start's and step's results.
func (pc *ProtectedCalls) result(L, co *lua.LState, st lua.ResumeState, err error, rets []lua.LValue) int {
	L.SetTop(0)
	switch st {
	case lua.ResumeYield:
		if pc.IsMain(L) {
			// nothing outside can be suspended: the protected call fails
			pc.done(co, false)
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
		pc.done(co, true)
		L.Push(lua.LFalse)
		L.Push(lua.LTrue)
		// rets[0] is the trampoline's "true"
		for _, r := range rets[1:] {
			L.Push(r)
		}
		return L.GetTop()
	default:
		val := trimHelperPosition(ErrorValue(err))
		pc.done(co, false)
		L.Push(lua.LFalse)
		L.Push(lua.LFalse)
		L.Push(val)
		return 3
	}
}

// acquire takes a thread for a body: the host's, or an idle one of ours.
func (pc *ProtectedCalls) acquire(L *lua.LState) *lua.LState {
	if pc.host.Acquire != nil {
		return pc.host.Acquire()
	}
	if n := len(pc.free); n > 0 {
		co := pc.free[n-1]
		pc.free[n-1] = nil
		pc.free = pc.free[:n-1]
		co.Dead = false
		return co
	}
	return newBodyThread(L)
}

// Stacks of a body thread made by newBodyThread: it starts with 64 value
// slots (1 KiB) and a segment of call frames, and grows to the state's
// limits in steps of 4096 slots (a step is a copy, so a small one would
// make deep bodies slow). A body that raises is dropped with its thread,
// so each caught error costs a new thread: at the sizes of lua.NewState's
// defaults (5120 slots and 256 frames, allocated at once) that was about
// 110 KiB per error, and is about 11 KiB with these.
const (
	bodyRegistrySize = 64
	bodyRegistryGrow = 4096
)

// newBodyThread makes a thread of L's state for bodies, with small stacks
// that grow (see bodyRegistrySize).
func newBodyThread(L *lua.LState) *lua.LState {
	saved := L.Options
	o := &L.Options
	o.RegistryMaxSize = max(o.RegistryMaxSize, o.RegistrySize)
	o.RegistrySize = min(o.RegistrySize, bodyRegistrySize)
	o.RegistryGrowStep = max(o.RegistryGrowStep, bodyRegistryGrow)
	o.MinimizeStackMemory = true
	co, cancel := L.NewThread()
	L.Options = saved
	if cancel != nil {
		// the child context would end with the first body; inherit
		// sets the caller's instead
		cancel()
	}
	return co
}

// done forgets the body thread co and hands it back to the host;
// reusable says its body returned (a thread that raised or is left
// suspended must not run another body).
func (pc *ProtectedCalls) done(co *lua.LState, reusable bool) {
	delete(pc.logical, co)
	if pc.host.Release != nil {
		pc.host.Release(co, reusable)
		return
	}
	if reusable && len(pc.free) < maxFreeThreads {
		pc.free = append(pc.free, co)
	}
}

// yield is coroutine.yield, refusing to yield where Lua 5.4 would: on
// behalf of the main thread, or across a Go call.
func (pc *ProtectedCalls) yield(L *lua.LState) int {
	if pc.IsMain(L) {
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if !pc.CanYield(L) {
		L.RaiseError("attempt to yield across a C-call boundary")
	}
	return -1
}
