package stdlib

// The coroutine library as Lua code sees it from inside a protected call.
// A body runs in a thread of its own (pcall.go), but to the code it runs
// the running coroutine is still its logical thread, the one that called
// pcall, as in Lua 5.4, where pcall runs on the caller's own stack.

import lua "github.com/yuin/gopher-lua"

// running is coroutine.running: the logical thread, and whether it is the
// main thread.
func (pc *ProtectedCalls) running(L *lua.LState) int {
	r := pc.Logical(L)
	L.Push(r)
	L.Push(lua.LBool(r == pc.main))
	return 2
}

// isYieldable is coroutine.isyieldable.
func (pc *ProtectedCalls) isYieldable(L *lua.LState) int {
	L.Push(lua.LBool(!pc.IsMain(L)))
	return 1
}
