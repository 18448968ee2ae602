package script

// Routines: pooled coroutines that run request callbacks, async bodies
// and rpcalls for the owner, and how their outcome is delivered.

import (
	"fmt"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
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

// op is a pending await operation of a routine.
type op struct {
	id     uint64
	cancel func()
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
		v.setLastError(stdlib.ErrorValue(err))
		v.e.log.Warn("ruleset routine: " + errorText(stdlib.ErrorValue(err)))
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
			v.fail(r, stdlib.ErrorValue(err))
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
	if r.kind == kRequest {
		r.call.release() // last: r lives in the call
	}
}

// luaDeliver ends a routine's body: deliver(results...).
func (v *vm) luaDeliver(L *lua.LState) int {
	r := v.routines[L]
	if r == nil || r.delivered {
		return 0
	}
	r.delivered = true
	n := L.GetTop()
	// the usual few results are copied to the stack: succeed keeps none
	var small [4]lua.LValue
	vals := small[:0]
	if n > len(small) {
		vals = make([]lua.LValue, n)
	}
	vals = vals[:n]
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
		v.setLastError(stdlib.ErrorValue(err))
		v.e.log.Warn("async finish: " + errorText(stdlib.ErrorValue(err)))
	}
	L.SetTop(top)
}

// commit answers r's request with d, the connection await.forward made,
// if the request can still take it: r has not committed before and its
// caller still waits. It reports whether d was taken; a refused d's
// connection is the caller's to close.
func (r *routine) commit(d route.Decision) bool {
	if r.committed || !r.call.forwardable() {
		return false
	}
	r.committed = true
	r.call.answer(d)
	return true
}
