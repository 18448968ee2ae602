package script

// Error values of routines and their tracebacks.

import (
	"fmt"

	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// errValueText is the text of a routine's error, naming a blown budget.
func (v *vm) errValueText(val lua.LValue) string {
	if v.budgetBlown() {
		return ErrBudget.Error()
	}
	return errorText(val)
}

// setLastError records the last error value for neosocksd.stats().
func (v *vm) setLastError(val lua.LValue) {
	v.lastError = val
}

// setTraceback builds the routine trampolines with or without the
// traceback message handler (--traceback, or traceback in a -c table).
func (v *vm) setTraceback(on bool) {
	L := v.L
	// without a traceback the settb lines are left empty, not tested at
	// run time: every Lua instruction of a request's routine polls the
	// execution budget, and the lines keep their numbers in errors
	tb := ""
	if on {
		tb = "settb()"
	}
	mk := compileHelper(L, `local deliver, settb = ...
return function(f, name, a, u, p)
	`+tb+`
	return deliver((f or ruleset[name])(a, u, p))
end, function(f, ...)
	`+tb+`
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
	L.Panic = stdlib.RawPanic
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
