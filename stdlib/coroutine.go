package stdlib

// The coroutine library as Lua code sees it from inside a protected call.
// A body runs in a thread of its own (pcall.go), but to the code it runs
// the running coroutine is still its logical thread, the one that called
// pcall: coroutine.running returns it, coroutine.status calls it
// "running", and coroutine.resume refuses it, as they would in Lua 5.4,
// where pcall runs on the caller's own stack.

import lua "github.com/yuin/gopher-lua"

// Active reports whether th cannot be resumed from L because it is
// running: L itself, one of the threads that resumed L (the logical
// thread of a body among them), or the main thread.
func Active(L, th *lua.LState) bool {
	for p := L; p != nil; p = p.Parent {
		if p == th {
			return true
		}
	}
	return L.G.MainThread == th
}

// Wrap returns coroutine.wrap built on the given coroutine.create and
// coroutine.resume: the returned function resumes the new coroutine and
// returns what it yields or returns, or raises its error with the
// caller's position in front, as Lua 5.4 does.
func Wrap(create, resume lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		L.SetTop(0)
		L.Push(fn)
		create(L)
		th := L.Get(-1)
		L.Push(L.NewClosure(func(L *lua.LState) int {
			L.Insert(th, 1)
			n := resume(L)
			base := L.GetTop() - n + 1
			if !lua.LVAsBool(L.Get(base)) {
				L.Error(L.Get(base+1), 1)
			}
			return n - 1
		}))
		return 1
	}
}

// running is coroutine.running: the logical thread, and whether it is the
// main thread.
func (pc *ProtectedCalls) running(L *lua.LState) int {
	r := pc.Logical(L)
	L.Push(r)
	L.Push(lua.LBool(r == pc.main))
	return 2
}

// isYieldable is coroutine.isyieldable.
func (pc *ProtectedCalls) isYieldable(L *lua.LState) int {
	L.Push(lua.LBool(!pc.IsMain(L)))
	return 1
}

// status is coroutine.status: the logical thread is "running", the other
// active threads are "normal".
func (pc *ProtectedCalls) status(L *lua.LState) int {
	th := L.CheckThread(1)
	switch {
	case th == pc.Logical(L):
		L.Push(lua.LString("running"))
	case Active(L, th):
		L.Push(lua.LString("normal"))
	default:
		L.Push(lua.LString(L.Status(th)))
	}
	return 1
}

// resumer returns coroutine.resume on top of gopher-lua's, which would
// resume a logical thread whose body is running (it only knows the
// thread that runs) and corrupt it.
func resumer(resume lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if th := L.CheckThread(1); Active(L, th) && !th.Dead {
			L.SetTop(0)
			L.Push(lua.LFalse)
			L.Push(lua.LString("cannot resume non-suspended coroutine"))
			return 2
		}
		return resume(L)
	}
}
