package stdlib

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/ere"
	lua "github.com/yuin/gopher-lua"
)

// The regex library: POSIX regular expressions with glibc's semantics, on
// top of core/ere (the same translator the DSL engine uses).
//
//	regex.compile(pattern [, cflags])  -> userdata "regex"
//	regex.find(reg, s [, init])        -> start, end | nothing
//	regex.match(reg, s [, init])       -> whole, group1, ... | nothing
//	regex.gmatch(reg, s [, init])      -> iterator of match results
//	regex.compat(s)                    -> s with \d \w \s ... rewritten
//
// cflags default to EXTENDED|NEWLINE; NOSUB is accepted and stripped.
// Positions are 1-based and inclusive; matching runs on the suffix of s
// starting at init, so '^' matches at init (and at every gmatch restart).

const regexTypeName = "regex"

const regexNulError = "string contains an embedded NUL byte"

// regexTimeoutError is raised when a back-reference pattern exceeds
// ere.MatchTimeout; glibc would keep searching, this port refuses to hang.
const regexTimeoutError = "regex match timeout"

// OpenRegex creates the regex library table, installs it as the global
// "regex" and as package.loaded.regex (when the package library is open),
// and returns it.
func OpenRegex(L *lua.LState) *lua.LTable {
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]lua.LGFunction{
		"compile": regexCompile,
		"find":    regexFind,
		"match":   regexMatch,
		"gmatch":  regexGmatch,
		"compat":  regexCompat,
	})
	mod.RawSetString("EXTENDED", lua.LNumber(ere.Extended))
	mod.RawSetString("ICASE", lua.LNumber(ere.ICase))
	mod.RawSetString("NEWLINE", lua.LNumber(ere.Newline))
	mod.RawSetString("NOSUB", lua.LNumber(ere.NoSub))
	mt := L.NewTypeMetatable(regexTypeName)
	mt.RawSetString("__name", lua.LString(regexTypeName))
	mt.RawSetString("__index", mod)
	mt.RawSetString("__tostring", L.NewFunction(regexToString))
	L.SetGlobal("regex", mod)
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		if loaded, ok := pkg.RawGetString("loaded").(*lua.LTable); ok {
			loaded.RawSetString("regex", mod)
		}
	}
	return mod
}

// regexRaise raises msg as a Lua error without position information, as the C
// library's lua_error does.
func regexRaise(L *lua.LState, msg string) {
	L.Error(lua.LString(msg), 0)
}

// regexStop is the channel that ends a long search: the end of the
// running thread's context, the host's execution budget. Searches are
// linear in the subject, but a 1 MB subject and a pattern such as
// "[ab]{0,1000}c" make a minute of work.
func regexStop(L *lua.LState) <-chan struct{} {
	if ctx := L.Context(); ctx != nil {
		return ctx.Done()
	}
	return nil
}

// regexFail raises the error of a search: the budget error when the
// context ended, else the backtracking engine's timeout.
func regexFail(L *lua.LState, err error) {
	if errors.Is(err, ere.ErrStopped) {
		raiseBudget(L)
	}
	regexRaise(L, regexTimeoutError)
}

// regexOptInteger reads an optional integer argument like luaL_optinteger.
func regexOptInteger(L *lua.LState, n int, def int64) int64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	f := float64(L.CheckNumber(n))
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		L.ArgError(n, "number has no integer representation")
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

func regexCheck(L *lua.LState, n int) *ere.Regexp {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if re, ok := ud.Value.(*ere.Regexp); ok {
			return re
		}
	}
	L.ArgError(n, fmt.Sprintf("%s expected, got %s", regexTypeName, regexArgType(L.Get(n))))
	return nil
}

func regexArgType(v lua.LValue) string {
	if v == lua.LNil {
		return "no value"
	}
	return v.Type().String()
}

// regexStartOffset converts init (1-based, negative from the end, 0 or nil for
// the start) into a 0-based offset in [0, n].
func regexStartOffset(init int64, n int) int {
	switch {
	case init > 0:
		if init-1 > int64(n) {
			return n
		}
		return int(init - 1)
	case init < 0:
		if -init > int64(n) {
			return 0
		}
		return n + int(init)
	}
	return 0
}

func regexCompile(L *lua.LState) int {
	pattern := L.CheckString(1)
	flags := regexOptInteger(L, 2, int64(ere.Extended|ere.Newline))
	if strings.IndexByte(pattern, 0) >= 0 {
		regexRaise(L, regexNulError)
	}
	f := ere.Flags(flags) & (ere.Extended | ere.ICase | ere.Newline)
	re, err := ere.Compile(pattern, f)
	if err != nil {
		regexRaise(L, err.Error())
	}
	ud := L.NewUserData()
	ud.Value = re
	L.SetMetatable(ud, L.GetTypeMetatable(regexTypeName))
	L.Push(ud)
	return 1
}

// regexSubject returns s, the offset where the search starts and the searched
// suffix, raising on an embedded NUL.
func regexSubject(L *lua.LState) (string, int, string) {
	s := L.CheckString(2)
	start := regexStartOffset(regexOptInteger(L, 3, 0), len(s))
	suffix := s[start:]
	if strings.IndexByte(suffix, 0) >= 0 {
		regexRaise(L, regexNulError)
	}
	return s, start, suffix
}

func regexFind(L *lua.LState) int {
	re := regexCheck(L, 1)
	_, start, suffix := regexSubject(L)
	idx, err := re.FindIndexStop(suffix, regexStop(L))
	if err != nil {
		regexFail(L, err)
	}
	if idx == nil {
		return 0
	}
	L.Push(lua.LNumber(start + idx[0] + 1))
	L.Push(lua.LNumber(start + idx[1]))
	return 2
}

// regexPushMatches pushes the whole match and every group (nil for groups that
// did not participate).
func regexPushMatches(L *lua.LState, s string, idx []int) int {
	n := len(idx) / 2
	for i := range n {
		if idx[2*i] < 0 {
			L.Push(lua.LNil)
			continue
		}
		L.Push(lua.LString(s[idx[2*i]:idx[2*i+1]]))
	}
	return n
}

func regexMatch(L *lua.LState) int {
	re := regexCheck(L, 1)
	_, _, suffix := regexSubject(L)
	idx, err := re.FindSubmatchIndexStop(suffix, regexStop(L))
	if err != nil {
		regexFail(L, err)
	}
	if idx == nil {
		return 0
	}
	return regexPushMatches(L, suffix, idx)
}

func regexGmatch(L *lua.LState) int {
	re := regexCheck(L, 1)
	s := L.CheckString(2)
	pos := regexStartOffset(regexOptInteger(L, 3, 0), len(s))
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if pos > len(s) {
			return 0
		}
		suffix := s[pos:]
		if strings.IndexByte(suffix, 0) >= 0 {
			regexRaise(L, regexNulError)
		}
		idx, err := re.FindSubmatchIndexStop(suffix, regexStop(L))
		if err != nil {
			regexFail(L, err)
		}
		if idx == nil {
			pos = len(s) + 1
			return 0
		}
		if idx[1] == idx[0] {
			pos += idx[1] + 1 // step over an empty match
		} else {
			pos += idx[1]
		}
		return regexPushMatches(L, suffix, idx)
	}))
	return 1
}

func regexCompat(L *lua.LState) int {
	L.Push(lua.LString(ere.Compat(L.CheckString(1))))
	return 1
}

func regexToString(L *lua.LState) int {
	L.Push(lua.LString(fmt.Sprintf("%s: %p", regexTypeName, L.CheckUserData(1))))
	return 1
}
