package script

// coroutine.yield and the check that a yield does not cross a Go call.

import (
	"runtime"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// luaYield is coroutine.yield, refusing to yield across a Go call.
func (v *vm) luaYield(L *lua.LState) int {
	if L == v.L || L.Parent == nil && L == L.G.MainThread {
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if v.isMain(L) {
		// a protected call made by the main thread
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if !v.canYieldLevels(v.depthOf(L) + 1) {
		L.RaiseError("attempt to yield across a C-call boundary")
	}
	return -1
}

// canYieldLevels walks the Go stack: a yield is safe only when the
// running Lua code, and each of the n-1 pcall threads between it and its
// routine, was entered by a coroutine resume, not by a nested call from Go
// (metamethods, sort comparators, gsub callbacks, iterators, gopher-lua's
// own pcall), where gopher-lua would corrupt the coroutine.
//
// It runs for every await, so it is kept cheap: the walk starts with a
// buffer on the stack that usually reaches the routine's threadRun frame
// (it is redone with more room when not), and what each return address
// stands for is looked up in a per-VM cache rather than symbolized each
// time (symbolizing the whole stack was 5 % of the daemon's CPU under a
// libruleset set-up load).
func (v *vm) canYieldLevels(n int) bool {
	var small [16]uintptr
	pcs := small[:]
	for {
		k := runtime.Callers(3, pcs)
		seen := 0
		for _, pc := range pcs[:k] {
			for _, tag := range v.frameTags(pc) {
				if tag == tagCallR {
					return false
				}
				seen++
				if seen >= n {
					return true
				}
			}
		}
		if k < len(pcs) {
			return false // the whole stack was seen
		}
		pcs = make([]uintptr, 4*len(pcs))
	}
}

// Frame tags: what canYieldLevels looks for in a return address.
const (
	tagThreadRun byte = iota // gopher-lua.threadRun: Lua entered by a resume
	tagCallR                 // gopher-lua.(*LState).callR: Lua entered from Go
)

// frameTags returns the tags of the functions at return address pc,
// innermost first (one address covers several functions where the
// compiler inlined), from the cache or by symbolizing it once. Only the
// VM's owner goroutine calls it.
func (v *vm) frameTags(pc uintptr) []byte {
	if t, ok := v.pcTags[pc]; ok {
		return t
	}
	var t []byte
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		switch {
		case strings.HasSuffix(f.Function, "gopher-lua.threadRun"):
			t = append(t, tagThreadRun)
		case strings.HasSuffix(f.Function, "gopher-lua.(*LState).callR"):
			t = append(t, tagCallR)
		}
		if !more {
			break
		}
	}
	if v.pcTags == nil {
		v.pcTags = make(map[uintptr][]byte)
	}
	v.pcTags[pc] = t
	return t
}
