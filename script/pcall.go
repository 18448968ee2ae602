package script

// Yieldable protected calls: pcall and xpcall run the protected function
// in a pooled thread and pass its yields outward.

import (
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// pinfo links a pcall thread to the routine it serves.
type pinfo struct {
	outer *lua.LState
	depth int // pcall nesting: 1 for a pcall called by the routine itself
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

// luaSetHandler installs xpcall's message handler on the calling thread:
// it runs where the error is raised, before the stack unwinds.
func (v *vm) luaSetHandler(L *lua.LState) int {
	h := L.Get(1)
	L.Panic = func(L *lua.LState) {
		msg := L.Get(-1)
		L.Panic = stdlib.RawPanic
		if !v.budgetBlown() {
			msg = callHandler(L, h, msg)
		}
		panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: msg})
	}
	return 0
}

// callHandler runs xpcall's message handler h on msg and returns what it
// returns; a handler that raises gives "error in error handling", as in
// Lua 5.4 and the synchronous host.
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

// luaPCallStart is the Go half of pcall/xpcall: start(h, f, ...) runs f
// in a pooled thread and returns (co, yielded...) when it yields, or
// (false, ok, results...) when it ends.
func (v *vm) luaPCallStart(L *lua.LState) int {
	h := L.Get(1)
	f := L.Get(2)
	nargs := L.GetTop() - 2
	if !stdlib.Callable(L, f) {
		var msg lua.LValue = stdlib.CallError(f)
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
		val := stdlib.TrimHelperPosition(stdlib.ErrorValue(err))
		delete(v.logical, co)
		v.e.routineEnded()
		L.Push(lua.LFalse)
		L.Push(lua.LFalse)
		L.Push(val)
		return 3
	}
}
