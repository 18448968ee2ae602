package script

// The scheduler's side of stdlib's host layer: stdlib.OpenHost installs
// these as pcall, xpcall, print and coroutine.running, isyieldable and
// yield (pcall.go and yield.go hold the machinery).

import (
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// host is the VM as a stdlib.Host: protected calls run in pooled threads
// and pass yields out to their routine, coroutine.running sees through
// them, and print writes to Options.Stdout.
type host struct{ v *vm }

var _ stdlib.Host = host{}

// ProtectedCalls builds the yieldable pcall and xpcall: a Lua loop over
// Go steps, so that yields pass through.
func (h host) ProtectedCalls(L *lua.LState) (pcall, xpcall *lua.LFunction) {
	v := h.v
	// The bodies of protected calls: "true" first tells zero results
	// from a single nil (Resume reports both as one nil).
	tramp := compileHelper(L, `local sethandler = ...
return function(h, f, ...)
	sethandler(h)
	return true, f(...)
end, function(f, ...)
	return true, f(...)
end`, stdlib.HelperChunk)
	L.Push(tramp)
	L.Push(L.NewFunction(v.luaSetHandler))
	L.Call(1, 2)
	v.xpTramp = L.Get(-2).(*lua.LFunction)
	v.pTramp = L.Get(-1).(*lua.LFunction)
	L.Pop(2)

	loop := compileHelper(L, `local start, step, yield = ...
local function loop(co, ...)
	if co then
		return loop(step(co, yield(...)))
	end
	return ...
end
return function(f, ...)
	return loop(start(false, f, ...))
end, function(f, h, ...)
	return loop(start(h, f, ...))
end`, stdlib.HelperChunk)
	L.Push(loop)
	L.Push(L.NewFunction(v.luaPCallStart))
	L.Push(L.NewFunction(v.luaPCallStep))
	L.Push(L.NewFunction(v.luaYield))
	L.Call(3, 2)
	pcall = L.Get(-2).(*lua.LFunction)
	xpcall = L.Get(-1).(*lua.LFunction)
	L.Pop(2)
	return pcall, xpcall
}

func (h host) Running(L *lua.LState) int     { return h.v.luaCoRunning(L) }
func (h host) IsYieldable(L *lua.LState) int { return h.v.luaCoIsYieldable(L) }
func (h host) Yield(L *lua.LState) int       { return h.v.luaYield(L) }
func (h host) Print(L *lua.LState) int       { return stdlib.PrintTo(L, h.v.e.stdout) }
