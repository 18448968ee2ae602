package script

// Builtins the engine replaces: a capped string.rep and print.

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

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
