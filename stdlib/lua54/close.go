package lua54

import (
	lua "github.com/yuin/gopher-lua"
)

// closeHelpers returns the native helpers of the <close> lowering (see
// parser.closeRest), keyed by marker name. retmark and brkmark are fresh
// sentinel tables, private to one Load.
func closeHelpers(L *lua.LState) map[string]lua.LValue {
	retmark := L.NewTable()
	brkmark := L.NewTable()
	check := L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		if v == lua.LNil || v == lua.LFalse {
			return 0
		}
		if L.GetMetaField(v, "__close") == lua.LNil {
			L.RaiseError("variable '%s' got a non-closable value", L.CheckString(2))
		}
		return 0
	})
	run := L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		fn := L.CheckFunction(2)
		nargs := L.GetTop() - 2
		base := L.GetTop()
		L.Push(fn)
		for i := 3; i <= base; i++ {
			L.Push(L.Get(i))
		}
		if err := L.PCall(nargs, lua.MultRet, nil); err != nil {
			var errv lua.LValue = lua.LString(err.Error())
			if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
				errv = ae.Object
			}
			callClose(L, v, errv)
			L.Error(errv, 0)
			return 0
		}
		nres := L.GetTop() - base
		callClose(L, v, lua.LNil)
		if nres == 0 {
			L.Push(lua.LNil)
			return 1
		}
		switch L.Get(base + 1) {
		case brkmark:
			L.Push(brkmark)
			return 1
		case retmark:
			t := L.CreateTable(nres-1, 1)
			for i := 2; i <= nres; i++ {
				t.RawSetInt(i-1, L.Get(base+i))
			}
			t.RawSetString("n", lua.LNumber(nres-1))
			L.Push(t)
			return 1
		}
		L.Push(lua.LNil)
		return 1
	})
	ret := L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		n := int(lua.LVAsNumber(t.RawGetString("n")))
		for i := 1; i <= n; i++ {
			L.Push(t.RawGetInt(i))
		}
		return n
	})
	return map[string]lua.LValue{
		"closecheck": check, "closerun": run, "closeret": ret,
		"retmark": retmark, "brkmark": brkmark,
	}
}

// callClose calls v's __close metamethod with (v, err), if v is not false.
func callClose(L *lua.LState, v, errv lua.LValue) {
	if v == lua.LNil || v == lua.LFalse {
		return
	}
	mm := L.GetMetaField(v, "__close")
	if mm == lua.LNil {
		return
	}
	L.Push(mm)
	L.Push(v)
	L.Push(errv)
	L.Call(2, 0)
}
