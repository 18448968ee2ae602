package stdlib

// pcall and xpcall that keep upvalues shared across a caught error.
//
// gopher-lua's pcall closes every open upvalue of the whole thread when it
// catches an error, so closures stop sharing the locals of frames that are
// still running; its xpcall closes none, so a closure escaping an unwound
// frame reads a reused register. Here the protected function runs in a
// separate thread (a small free list of them per state): the error can only
// unwind that thread, and closing every upvalue of that thread is exactly
// closing those of the unwound frames. Inside the thread gopher-lua's own
// pcall catches the error, so the thread ends normally and is reused.
//
// xpcall's handler runs where the error is raised, before the stack
// unwinds (debug.traceback shows the erroring frame), and receives the
// error value; extra arguments are passed to the function (5.2+).
//
// Without a scheduler a protected call cannot be suspended: coroutine.yield
// inside one raises "attempt to yield from outside a coroutine" when the
// pcall was made by the main thread and "attempt to yield across a C-call
// boundary" otherwise (the error is catchable inside, as in Lua 5.4).

import (
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// maxFreePCall bounds the idle protected-call threads kept per state.
const maxFreePCall = 8

// ProtectedCalls runs pcall/xpcall bodies in threads of their own. One
// value serves one Lua state (and its coroutines); it is not safe for
// concurrent use, like the state itself.
type ProtectedCalls struct {
	free   []*lua.LState
	outer  map[*lua.LState]*lua.LState // busy protected thread -> the thread it works for
	opcall lua.LGFunction
	body   *lua.LFunction // (pcall, f, ...) -> pcall(f, ...)
	xbody  *lua.LFunction // (pcall, h, f, ...) -> pcall(sethandler-then-f)
	args   []lua.LValue   // scratch: Resume copies the arguments at once
}

// NewProtectedCalls prepares protected calls for L.
func NewProtectedCalls(L *lua.LState) *ProtectedCalls {
	pc := &ProtectedCalls{outer: map[*lua.LState]*lua.LState{}, opcall: basePCall}
	fn, err := lua54.Load(L, []byte(`local pcall, sethandler = ...
local function xp(h, f, ...)
	sethandler(h)
	return f(...)
end
return function(f, ...)
	return pcall(f, ...)
end, function(h, f, ...)
	return pcall(xp, h, f, ...)
end`), "="+HelperChunk)
	if err != nil {
		panic("stdlib: protected call helper: " + err.Error())
	}
	L.Push(fn)
	L.Push(L.NewFunction(pc.opcall))
	L.Push(L.NewFunction(setHandler))
	L.Call(2, 2)
	pc.body = L.Get(-2).(*lua.LFunction)
	pc.xbody = L.Get(-1).(*lua.LFunction)
	L.Pop(2)
	return pc
}

// basePCall is gopher-lua's plain pcall, used inside the protected thread
// (there, closing every upvalue of the thread on an error is exact).
func basePCall(L *lua.LState) int {
	top := L.GetTop()
	if err := L.PCall(top-1, lua.MultRet, nil); err != nil {
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(ErrorValue(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// setHandler installs xpcall's message handler on the running thread for
// the next error only; it runs before the stack unwinds.
func setHandler(L *lua.LState) int {
	h := L.Get(1)
	L.Panic = func(L *lua.LState) {
		msg := L.Get(-1)
		L.Panic = RawPanic
		top := L.GetTop()
		L.Push(h)
		L.Push(msg)
		if err := L.PCall(1, 1, nil); err != nil {
			msg = lua.LString("error in error handling")
		} else {
			msg = L.Get(-1)
		}
		L.SetTop(top)
		panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: msg})
	}
	return 0
}

// Logical returns the thread L works for: the caller of the outermost
// pending protected call that L runs, or L itself.
func (pc *ProtectedCalls) Logical(L *lua.LState) *lua.LState {
	for {
		o, ok := pc.outer[L]
		if !ok {
			return L
		}
		L = o
	}
}

// InProtected reports whether L is a thread running a protected call.
func (pc *ProtectedCalls) InProtected(L *lua.LState) bool {
	_, ok := pc.outer[L]
	return ok
}

func (pc *ProtectedCalls) acquire(L *lua.LState) *lua.LState {
	var co *lua.LState
	if n := len(pc.free); n > 0 {
		co = pc.free[n-1]
		pc.free[n-1] = nil
		pc.free = pc.free[:n-1]
		co.Dead = false
	} else {
		var cancel func()
		co, cancel = L.NewThread()
		if cancel != nil {
			cancel()
		}
	}
	if ctx := L.Context(); ctx != nil {
		if co.Context() != ctx {
			co.SetContext(ctx)
		}
	} else if co.Context() != nil {
		co.RemoveContext()
	}
	pc.outer[co] = L
	return co
}

// run calls body(args...) in a protected thread and pushes the results of
// the inner pcall onto L (status first). It returns their count.
func (pc *ProtectedCalls) run(L *lua.LState, body *lua.LFunction, args []lua.LValue) int {
	co := pc.acquire(L)
	st, err, rets := L.Resume(co, body, args...)
	delete(pc.outer, co)
	switch st {
	case lua.ResumeOK:
		if len(pc.free) < maxFreePCall {
			pc.free = append(pc.free, co)
		}
		for _, r := range rets {
			L.Push(r)
		}
		return len(rets)
	case lua.ResumeYield:
		// only a yield function captured before this package replaced
		// coroutine.yield gets here; the thread cannot be resumed
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to yield across a C-call boundary"))
		return 2
	default:
		L.Push(lua.LFalse)
		L.Push(ErrorValue(err))
		return 2
	}
}

// PCall is pcall(f, ...).
func (pc *ProtectedCalls) PCall(L *lua.LState) int {
	f := L.CheckAny(1)
	if !Callable(L, f) {
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(CallError(f))
		return 2
	}
	top := L.GetTop()
	args := pc.args[:0]
	for i := 1; i <= top; i++ {
		args = append(args, L.Get(i))
	}
	L.SetTop(0)
	n := pc.run(L, pc.body, args)
	clear(args)
	pc.args = args[:0]
	pc.trimGoPosition(L, n)
	return n
}

// XPCall is xpcall(f, h, ...).
func (pc *ProtectedCalls) XPCall(L *lua.LState) int {
	f := L.CheckAny(1)
	h := L.CheckAny(2)
	top := L.GetTop()
	args := append(pc.args[:0], h, f)
	for i := 3; i <= top; i++ {
		args = append(args, L.Get(i))
	}
	L.SetTop(0)
	if !Callable(L, f) {
		// Lua calls the handler with the call error
		L.Push(h)
		L.Push(CallError(f))
		var msg lua.LValue
		if err := L.PCall(1, 1, nil); err != nil {
			msg = lua.LString("error in error handling")
		} else {
			msg = L.Get(-1)
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(msg)
		return 2
	}
	n := pc.run(L, pc.xbody, args)
	clear(args)
	pc.args = args[:0]
	pc.trimGoPosition(L, n)
	return n
}

// trimGoPosition drops a position pointing into the helper chunk from
// the error of a failed protected call (see TrimHelperPosition).
func (pc *ProtectedCalls) trimGoPosition(L *lua.LState, n int) {
	if n == 2 && L.Get(1) == lua.LFalse {
		L.Replace(2, TrimHelperPosition(L.Get(2)))
	}
}

// Yield wraps a coroutine.yield implementation: inside a protected call it
// raises instead of yielding (see the file comment).
func (pc *ProtectedCalls) Yield(yield lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if pc.InProtected(L) {
			if pc.Logical(L).Parent == nil {
				L.RaiseError("attempt to yield from outside a coroutine")
			}
			L.RaiseError("attempt to yield across a C-call boundary")
		}
		return yield(L)
	}
}
