package stdlib

// The host layer: the few base functions whose meaning depends on who
// runs the Lua state. A daemon with a scheduler (package script) lets
// protected calls yield across to the routine that made them; a
// synchronous embedder (package conformance, the tests of this package)
// has no routine to yield to. Both install them here, through Host, and
// share the protected-call pieces below, so an error caught by pcall reads
// the same whichever runs the ruleset.

import (
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Host is what an embedder of a Lua state provides for the functions
// whose behaviour depends on how the state is run.
type Host interface {
	// ProtectedCalls returns the pcall and xpcall of L (Lua or Go
	// functions), built once when the host is installed.
	ProtectedCalls(L *lua.LState) (pcall, xpcall *lua.LFunction)
	// Running is coroutine.running: the thread the caller works for (the
	// caller of a protected call, not the thread running its body) and
	// whether that is the main thread.
	Running(L *lua.LState) int
	// IsYieldable is coroutine.isyieldable.
	IsYieldable(L *lua.LState) int
	// Yield is coroutine.yield.
	Yield(L *lua.LState) int
	// Print is print.
	Print(L *lua.LState) int
}

// InstallHost sets pcall, xpcall, print and coroutine.running,
// isyieldable and yield of L to h's. It is the one place that sets them;
// OpenHost calls it.
func InstallHost(L *lua.LState, h Host) {
	g := L.G.Global
	pcall, xpcall := h.ProtectedCalls(L)
	g.RawSetString("pcall", pcall)
	g.RawSetString("xpcall", xpcall)
	g.RawSetString("print", L.NewFunction(h.Print))
	if c, ok := g.RawGetString("coroutine").(*lua.LTable); ok {
		c.RawSetString("running", L.NewFunction(h.Running))
		c.RawSetString("isyieldable", L.NewFunction(h.IsYieldable))
		c.RawSetString("yield", L.NewFunction(h.Yield))
	}
}

// HelperChunk names the chunk of a host's protected-call helpers (the
// Lua half of pcall and xpcall); TrimHelperPosition hides it.
const HelperChunk = "(pcall)"

// TrimHelperPosition drops a position that points into the protected-call
// helpers from an error value: an error raised with level 1 by a Go
// function that pcall called directly, or with level 2 by a function
// pcall called directly, where Lua names no position (the caller is a C
// function). Other values are returned as they are.
func TrimHelperPosition(v lua.LValue) lua.LValue {
	s, ok := v.(lua.LString)
	if !ok {
		return v
	}
	// the Lua 5.4 front end prints "=(pcall)" as "(pcall)", as Lua does
	rest, ok := strings.CutPrefix(string(s), HelperChunk+":")
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

// Callable reports whether pcall can call v: a function, or a value
// with a __call metamethod.
func Callable(L *lua.LState, v lua.LValue) bool {
	return v.Type() == lua.LTFunction || L.GetMetaField(v, "__call").Type() == lua.LTFunction
}

// CallError is the message of a protected call of a value Callable
// refuses.
func CallError(v lua.LValue) lua.LString {
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

// syncHost is the host of a state without a scheduler: protected calls
// run in threads of their own (ProtectedCalls) and cannot be suspended;
// print writes to standard output.
type syncHost struct {
	pc    *ProtectedCalls
	yield lua.LGFunction // gopher-lua's coroutine.yield, refusing inside pcall
}

// NewSyncHost returns the host of a synchronous embedder for L, whose
// coroutine library must be open: pcall and xpcall keep upvalues shared
// across a caught error (see ProtectedCalls), coroutine.yield inside one
// raises, and print writes to standard output.
func NewSyncHost(L *lua.LState) Host {
	h := &syncHost{pc: NewProtectedCalls(L)}
	if c, ok := L.GetGlobal("coroutine").(*lua.LTable); ok {
		if y, ok := c.RawGetString("yield").(*lua.LFunction); ok && y.IsG {
			h.yield = h.pc.Yield(y.GFunction)
		}
	}
	return h
}

func (h *syncHost) ProtectedCalls(L *lua.LState) (pcall, xpcall *lua.LFunction) {
	return L.NewFunction(h.pc.PCall), L.NewFunction(h.pc.XPCall)
}

func (h *syncHost) Running(L *lua.LState) int {
	t := h.pc.Logical(L)
	L.Push(t)
	L.Push(lua.LBool(t.Parent == nil))
	return 2
}

func (h *syncHost) IsYieldable(L *lua.LState) int {
	L.Push(lua.LBool(L.Parent != nil && !h.pc.InProtected(L)))
	return 1
}

func (h *syncHost) Yield(L *lua.LState) int {
	if h.yield == nil {
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	return h.yield(L)
}

func (h *syncHost) Print(L *lua.LState) int { return PrintTo(L, compatStdout) }

// PrintTo is Lua 5.4's print writing to w: its arguments converted as
// tostring converts them (a __tostring or __name metafield, not a
// replaced global tostring), separated by tabs, ending with a newline, in
// one write.
func PrintTo(L *lua.LState, w io.Writer) int {
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
