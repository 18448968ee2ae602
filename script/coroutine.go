package script

// The coroutine library overrides: epoch-sharing threads and routine-aware
// resume (and wrap on top of both). running, status, isyieldable and yield,
// which see through protected calls, are stdlib's host layer's.

import (
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

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
	if stdlib.Active(L, th) && !th.Dead {
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
