package stdlib

// The host layer: the few base functions whose meaning depends on who
// runs the Lua state. pcall, xpcall (pcall.go) and the coroutine
// functions that see through them (coroutine.go, yield.go) have one
// implementation for every embedder: the daemon's scheduler (package
// script) and the synchronous embedders (package conformance, the tests of
// this package) run the same protected-call code, so an error caught by
// pcall reads the same, and a yield inside pcall behaves the same,
// whichever runs the ruleset. What differs between them is Host: where
// body threads come from, whether the running entry was aborted, and where
// print writes.

import (
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Host is how an embedder runs a Lua state: the few things the host
// layer needs that differ between a daemon with a scheduler and a
// synchronous embedder. The zero value is the synchronous host: body
// threads come from a small free list of the state's own, xpcall's
// handler always runs, and print writes to standard output.
type Host struct {
	// Stdout is where print writes; nil means standard output.
	Stdout io.Writer
	// Acquire returns an idle thread of the state, not Dead, to run the
	// body of a protected call, and Release takes it back when the body is done:
	// reusable is false when the body raised or was left suspended, and
	// the thread must then not run anything again. Set both or neither;
	// neither means a free list of the state's own. The daemon counts
	// bodies as running routines and pools them with its routines.
	Acquire func() *lua.LState
	Release func(th *lua.LState, reusable bool)
	// Aborted reports whether the running entry was aborted (the
	// daemon's execution budget ran out): xpcall's handler is then not
	// run, since it would only fail the same way. Nil means never.
	Aborted func() bool
}

// InstallHost sets pcall, xpcall, print and coroutine.running,
// isyieldable, yield, status, resume and wrap of L to the host layer's,
// configured by h (resume and wrap are built on the create and resume of
// L's coroutine library, gopher-lua's). It returns the protected calls,
// which the embedder asks which thread a body works for. It is the one
// place that sets these functions; OpenHost calls it.
func InstallHost(L *lua.LState, h Host) *ProtectedCalls {
	g := L.G.Global
	pc := newProtectedCalls(L, h)
	g.RawSetString("pcall", pc.pcall)
	g.RawSetString("xpcall", pc.xpcall)
	out := h.Stdout
	g.RawSetString("print", L.NewFunction(func(L *lua.LState) int {
		if out == nil {
			return printTo(L, stdout())
		}
		return printTo(L, out)
	}))
	if c, ok := g.RawGetString("coroutine").(*lua.LTable); ok {
		c.RawSetString("running", L.NewFunction(pc.running))
		c.RawSetString("isyieldable", L.NewFunction(pc.isYieldable))
		c.RawSetString("yield", L.NewFunction(pc.yield))
		c.RawSetString("status", L.NewFunction(pc.status))
		create, cok := c.RawGetString("create").(*lua.LFunction)
		resume, rok := c.RawGetString("resume").(*lua.LFunction)
		if cok && rok && create.IsG && resume.IsG {
			r := resumer(resume.GFunction)
			c.RawSetString("resume", L.NewFunction(r))
			c.RawSetString("wrap", L.NewFunction(Wrap(create.GFunction, r)))
		}
	}
	return pc
}

// helperChunk names the chunk of the protected-call helpers (the Lua
// half of pcall and xpcall); trimHelperPosition hides it.
const helperChunk = "(pcall)"

// trimHelperPosition drops a position that points into the protected-call
// helpers from an error value: an error raised with level 1 by a Go
// function that pcall called directly, or with level 2 by a function
// pcall called directly, where Lua names no position (the caller is a C
// function). Other values are returned as they are.
func trimHelperPosition(v lua.LValue) lua.LValue {
	s, ok := v.(lua.LString)
	if !ok {
		return v
	}
	// the Lua 5.4 front end prints "=(pcall)" as "(pcall)", as Lua does
	rest, ok := strings.CutPrefix(string(s), helperChunk+":")
	if !ok {
		return v
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i > 0 && strings.HasPrefix(rest[i:], ": ") {
		return lua.LString(rest[i+2:])
	}
	return v
}

// callable reports whether pcall can call v: a function, or a value
// with a __call metamethod.
func callable(L *lua.LState, v lua.LValue) bool {
	return v.Type() == lua.LTFunction || L.GetMetaField(v, "__call").Type() == lua.LTFunction
}

// callError is the message of a protected call of a value callable
// refuses.
func callError(v lua.LValue) lua.LString {
	return lua.LString("attempt to call a " + v.Type().String() + " value")
}

// ErrorValue is the Lua value an error carries: the raised value of a
// *lua.ApiError, else the error's text; nil for no error.
func ErrorValue(err error) lua.LValue {
	if err == nil {
		return lua.LNil
	}
	if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
		return ae.Object
	}
	return lua.LString(err.Error())
}

// RawPanic raises the value on top of L's stack as it is: gopher-lua's
// panic function for coroutines, which a message handler set on a thread
// for one error puts back.
func RawPanic(L *lua.LState) {
	panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: L.Get(-1)})
}

// printTo is Lua 5.4's print writing to w: its arguments converted as
// tostring converts them (a __tostring or __name metafield, not a
// replaced global tostring), separated by tabs, ending with a newline, in
// one write.
func printTo(L *lua.LState, w io.Writer) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(tostringValue(L, L.Get(i)))
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(w, b.String())
	return 0
}
