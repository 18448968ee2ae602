package stdlib

// The check that a yield does not cross a Go call.

import (
	"runtime"
	"strings"
)

// canYieldLevels walks the Go stack: a yield is safe only when the
// running Lua code, and each of the n-1 protected-call bodies between it
// and its logical thread, was entered by a coroutine resume, not by a
// nested call from Go (metamethods, sort comparators, gsub callbacks,
// iterators, gopher-lua's own pcall), where gopher-lua would corrupt the
// coroutine.
//
// It runs for every await, so it is kept cheap: the walk starts with a
// buffer on the stack that usually reaches the logical thread's threadRun
// frame (it is redone with more room when not), and what each return
// address stands for is looked up in a per-state cache rather than
// symbolized each time (symbolizing the whole stack was 5 % of the
// daemon's CPU under a libruleset set-up load).
func (pc *ProtectedCalls) canYieldLevels(n int) bool {
	var small [16]uintptr
	pcs := small[:]
	for {
		// skip runtime.Callers, this function, CanYield and its caller
		k := runtime.Callers(4, pcs)
		seen := 0
		for _, ret := range pcs[:k] {
			for _, tag := range pc.frameTags(ret) {
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

// frameTags returns the tags of the functions at return address ret,
// innermost first (one address covers several functions where the
// compiler inlined), from the cache or by symbolizing it once. Only the
// goroutine running the state calls it.
func (pc *ProtectedCalls) frameTags(ret uintptr) []byte {
	if t, ok := pc.pcTags[ret]; ok {
		return t
	}
	var t []byte
	frames := runtime.CallersFrames([]uintptr{ret})
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
	if pc.pcTags == nil {
		pc.pcTags = make(map[uintptr][]byte)
	}
	pc.pcTags[ret] = t
	return t
}
