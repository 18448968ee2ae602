package stdlib

import (
	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// OpenAddr returns a new table with the address helpers of neosocksd.*,
// backed by core/addr so that Lua and Go agree on every address:
//
//	splithostport(s) -> host, port   raises "invalid address: `s'" or
//	                                 "address too long: N bytes"
//	parse_ipv4(s)    -> n            one exact non-negative 32-bit value
//	parse_ipv6(s)    -> hi, lo       two 64-bit integers, as the original
//	                                 on standard Lua 5.4 ("fe80::" gives
//	                                 0xfe80000000000000, a negative integer)
//
// Invalid input to the parsers gives no value. The script package copies
// these functions into neosocksd.*.
func OpenAddr(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"splithostport": luaSplitHostPort,
		"parse_ipv4":    luaParseIPv4,
		"parse_ipv6":    luaParseIPv6,
	})
	return t
}

// checkSplit splits the string argument n or raises the original's error.
func checkSplit(L *lua.LState, n int) (host, port string) {
	s := L.CheckString(n)
	h, p, err := addr.Split(s)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return h, p
}

func luaSplitHostPort(L *lua.LState) int {
	h, p := checkSplit(L, 1)
	L.Push(lua.LString(h))
	L.Push(lua.LString(p))
	return 2
}

// optString returns argument n as a string when it is a string or number.
func optString(L *lua.LState, n int) (string, bool) {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return v.String(), true
	}
	return "", false
}

func luaParseIPv4(L *lua.LState) int {
	s, ok := optString(L, 1)
	if !ok {
		return 0
	}
	v, ok := addr.ParseIPv4(s)
	if !ok {
		return 0
	}
	L.Push(lua.LNumber(v))
	return 1
}

func luaParseIPv6(L *lua.LState) int {
	s, ok := optString(L, 1)
	if !ok {
		return 0
	}
	a, ok := addr.ParseIPv6(s)
	if !ok {
		return 0
	}
	hi, lo := ipv6Halves(a)
	L.Push(lua54.Integer(int64(hi)))
	L.Push(lua54.Integer(int64(lo)))
	return 2
}
