package script

// The coroutine library overrides: epoch-sharing threads, routine-aware
// resume, and status that sees through protected calls (running,
// isyieldable and yield are stdlib's host layer's).

import lua "github.com/yuin/gopher-lua"

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

func (v *vm) luaCoStatus(L *lua.LState) int {
	th := L.CheckThread(1)
	switch {
	case th == v.pc.Logical(L):
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
