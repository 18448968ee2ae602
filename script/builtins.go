package script

// Builtins the engine replaces: a capped string.rep (print is stdlib's
// host layer's, writing where host.go says).

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
