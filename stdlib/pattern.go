package stdlib

import (
	"errors"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/lpattern"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// string.find, match, gmatch and gsub on lpattern instead of gopher-lua's
// own matcher, for two reasons: gopher-lua's gsub copies the whole result
// once per match (quadratic: 625 KB with 40 000 matches took 26 s), and its
// backtracking cannot be interrupted, so one pathological pattern held the
// VM for good. Here the matcher polls the running thread's context (the
// script engine's execution budget) and raises the very error gopher-lua
// raises between instructions when that context ends; gsub builds its
// result once. The semantics, error texts included, are Lua 5.4's.

// openPattern installs the pattern functions into the string library.
func openPattern(L *lua.LState) {
	s, ok := L.G.Global.RawGetString("string").(*lua.LTable)
	if !ok {
		return
	}
	s.RawSetString("find", L.NewFunction(strFind))
	s.RawSetString("match", L.NewFunction(strMatch))
	s.RawSetString("gmatch", L.NewFunction(strGmatch))
	s.RawSetString("gsub", L.NewFunction(strGsub))
}

// newMatcher returns a matcher for pat against src that stops when L's
// context ends.
func newMatcher(L *lua.LState, src, pat string) *lpattern.Matcher {
	m := &lpattern.Matcher{}
	if ctx := L.Context(); ctx != nil {
		m.Stop = ctx.Done()
	}
	m.Reset(src, pat)
	return m
}

// patternRaise raises err as Lua 5.4 would: a pattern error without
// position, and a stop as the error of the context that stopped it.
func patternRaise(L *lua.LState, err error) {
	if errors.Is(err, lpattern.ErrStopped) {
		raiseBudget(L)
	}
	L.Error(lua.LString(err.Error()), 0)
}

// gmatchRaise is patternRaise for the gmatch iterator, whose errors carry
// the position of the loop that called it, as in Lua 5.4.
func gmatchRaise(L *lua.LState, err error) {
	if errors.Is(err, lpattern.ErrStopped) {
		patternRaise(L, err)
	}
	L.RaiseError("%s", err.Error())
}

// patString reads argument n as a string; numbers convert as Lua 5.4
// prints them.
func patString(L *lua.LState, n int) string {
	v := L.Get(n)
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	if s, ok := lua54.FormatValue(v); ok {
		return s
	}
	L.ArgError(n, "string expected, got "+patTypeName(L, n))
	return ""
}

// patTypeName names the type of argument n for an argument error.
func patTypeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return lua54.TypeName(L.Get(n))
}

// patOptInteger reads optional integer argument n like luaL_optinteger.
func patOptInteger(L *lua.LState, n int, def int64) int64 {
	v := L.Get(n)
	if v == lua.LNil {
		return def
	}
	if s, ok := v.(lua.LString); ok {
		x, ok := lua54.StringToValue(string(s))
		if !ok {
			L.ArgError(n, "number expected, got string")
		}
		v = x
	}
	if !lua54.IsNumber(v) {
		L.ArgError(n, "number expected, got "+patTypeName(L, n))
	}
	i, ok := lua54.IsInteger(v)
	if !ok {
		L.ArgError(n, "number has no integer representation")
	}
	return i
}

// patInit converts a 1-based, possibly negative start position into a
// 0-based offset, as Lua 5.4's posrelatI does; the result may exceed
// n by more than one, which callers treat as "past the end".
func patInit(pos int64, n int) int64 {
	switch {
	case pos > 0:
		return pos - 1
	case pos == 0, pos < -int64(n):
		return 0
	}
	return int64(n) + pos
}

func strFind(L *lua.LState) int  { return strFindAux(L, true) }
func strMatch(L *lua.LState) int { return strFindAux(L, false) }

// strFindAux is string.find (find) and string.match.
func strFindAux(L *lua.LState, find bool) int {
	s := patString(L, 1)
	p := patString(L, 2)
	init := patInit(patOptInteger(L, 3, 1), len(s))
	if init > int64(len(s)) {
		L.Push(lua.LNil)
		return 1
	}
	if find && (lua.LVAsBool(L.Get(4)) || !lpattern.HasSpecials(p)) {
		if i := strings.Index(s[init:], p); i >= 0 {
			start := int(init) + i
			L.Push(lua.LNumber(start + 1))
			L.Push(lua.LNumber(start + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	m := newMatcher(L, s, p)
	pi := 0
	anchor := len(p) > 0 && p[0] == '^'
	if anchor {
		pi = 1
	}
	start, e, err := m.Scan(int(init), pi, anchor)
	if err != nil {
		patternRaise(L, err)
	}
	if start < 0 {
		L.Push(lua.LNil)
		return 1
	}
	if find {
		L.Push(lua.LNumber(start + 1))
		L.Push(lua.LNumber(e))
		return 2 + mustPushCaptures(L, m, -1, 0)
	}
	return mustPushCaptures(L, m, start, e)
}

// pushCaptures pushes the captures of the match [s, e), or the whole match
// when the pattern has none and s >= 0 (find passes -1: no whole match).
func pushCaptures(L *lua.LState, m *lpattern.Matcher, s, e int) (int, error) {
	n := m.Captures()
	if n == 0 && s >= 0 {
		n = 1
	}
	for i := range n {
		v, err := captureValue(m, i, s, e)
		if err != nil {
			return 0, err
		}
		L.Push(v)
	}
	return n, nil
}

// captureValue is capture i of the match [s, e) as a Lua value.
func captureValue(m *lpattern.Matcher, i, s, e int) (lua.LValue, error) {
	text, pos, isPos, err := m.Capture(i, s, e)
	if err != nil {
		return nil, err
	}
	if isPos {
		return lua.LNumber(pos), nil
	}
	return lua.LString(text), nil
}

// mustPushCaptures is pushCaptures raising its error.
func mustPushCaptures(L *lua.LState, m *lpattern.Matcher, s, e int) int {
	n, err := pushCaptures(L, m, s, e)
	if err != nil {
		patternRaise(L, err)
	}
	return n
}

// strGmatch is string.gmatch(s, pattern [, init]). As in Lua 5.4 a
// leading '^' is an ordinary character here, and a match may not end
// where the previous one did (so "a*" yields no empty match right after
// a non-empty one).
func strGmatch(L *lua.LState) int {
	s := patString(L, 1)
	p := patString(L, 2)
	init := patInit(patOptInteger(L, 3, 1), len(s))
	if init > int64(len(s)) {
		init = int64(len(s)) + 1
	}
	src, last := int(init), -1
	m := newMatcher(L, s, p)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		m.Stop = nil // each call polls the context of its own caller
		if ctx := L.Context(); ctx != nil {
			m.Stop = ctx.Done()
		}
		for si := src; si <= len(s); si++ {
			start, e, err := m.Scan(si, 0, false)
			if err != nil {
				gmatchRaise(L, err)
			}
			if start < 0 {
				src = len(s) + 1
				return 0
			}
			if e == last {
				// empty, where the last match ended: try one byte on
				si = start
				continue
			}
			src, last = e, e
			n, err := pushCaptures(L, m, start, e)
			if err != nil {
				gmatchRaise(L, err)
			}
			return n
		}
		return 0
	}))
	return 1
}

// strGsub is string.gsub(s, pattern, repl [, n]): the result is built
// once, in time linear in its size.
func strGsub(L *lua.LState) int {
	src := patString(L, 1)
	p := patString(L, 2)
	repl := L.Get(3)
	var replStr string
	switch repl.Type() {
	case lua.LTFunction, lua.LTTable:
	default:
		if repl.Type() != lua.LTString && !lua54.IsNumber(repl) {
			L.ArgError(3, "string/function/table expected, got "+patTypeName(L, 3))
		}
		replStr = patString(L, 3)
	}
	maxN := patOptInteger(L, 4, int64(len(src))+1)
	m := newMatcher(L, src, p)
	out, n, err := m.Gsub(p, maxN, func(start, e int) (string, bool) {
		return gsubValue(L, m, repl, replStr, start, e)
	})
	if err != nil {
		patternRaise(L, err)
	}
	L.Push(lua.LString(out))
	L.Push(lua.LNumber(n))
	return 2
}

// gsubValue is the replacement of the match [s, e): ok is false when the
// match stays as it is (a table or function gave nil or false).
func gsubValue(L *lua.LState, m *lpattern.Matcher, repl lua.LValue, replStr string, s, e int) (string, bool) {
	var v lua.LValue
	switch r := repl.(type) {
	case *lua.LFunction:
		L.Push(r)
		L.Call(mustPushCaptures(L, m, s, e), 1)
		v = L.Get(-1)
		L.Pop(1)
	case *lua.LTable:
		k, err := captureValue(m, 0, s, e)
		if err != nil {
			patternRaise(L, err)
		}
		v = L.GetTable(r, k)
	default:
		return expandReplacement(L, m, replStr, s, e), true
	}
	if s, ok := v.(lua.LString); ok {
		return string(s), true
	}
	if s, ok := lua54.FormatValue(v); ok {
		return s, true
	}
	if !lua.LVAsBool(v) {
		return "", false
	}
	L.Error(lua.LString("invalid replacement value (a "+lua54.TypeName(v)+")"), 0)
	return "", false
}

// expandReplacement expands a gsub replacement string (see
// lpattern.Matcher.Expand), raising its errors.
func expandReplacement(L *lua.LState, m *lpattern.Matcher, repl string, s, e int) string {
	v, err := m.Expand(repl, s, e)
	if err != nil {
		patternRaise(L, err)
	}
	return v
}
