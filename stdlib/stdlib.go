// Package stdlib holds the Lua-visible libraries a neosocksd ruleset can
// count on besides the host-provided neosocksd.* and await.* functions: the
// native zlib, time and marshal libraries, the address helpers the host
// reuses for neosocksd.splithostport/parse_ipv4/parse_ipv6, and the embedded
// libruleset.lua framework together with the Go natives that keep it fast
// ("libruleset.native").
//
// Everything here is a pure function of its Lua arguments: the package must
// not start goroutines, touch the network or know about the server. The
// script package owns the VM and provides neosocksd.* and await.*; the
// framework looks those up dynamically at call time.
//
// Number conventions. Integers are exact 64-bit Lua 5.4 integers: plain
// float64 numbers within ±2^53 and boxed integers beyond (package lua54).
// parse_ipv4 returns the address as one non-negative 32-bit value and
// parse_ipv6 two 64-bit integers (high, low) as the original does on
// standard Lua 5.4; marshal writes boxed integers and integral floats within
// the int64 range as integers.
//
// unmarshal. libruleset defines unmarshal(s) as load("return "..s) in an
// empty environment; the text Marshal produces is read natively by
// Unmarshal (gopher-lua's compiler is quadratic in the number of constants
// of a chunk), anything else goes through the loader.
//
// Execution budget. The host bounds a VM entry by cancelling the context
// of the running Lua thread, which gopher-lua checks between instructions.
// The functions here whose work grows with their input poll that context
// themselves and raise the error gopher-lua raises: string.find, match,
// gmatch and gsub (on lpattern, Lua 5.4 patterns, not gopher-lua's 5.1
// matcher; gsub builds its result once), regex.* on long subjects,
// table.sort, marshal, unmarshal and zlib.*. Without a context they
// never stop.
//
// Event capture. Every message recorded by evlog/evlogf (and every tagged
// rule hit of libruleset, whose message is `[tag] "addr"`) is passed to the
// sink installed with SetEventSink, in order, whatever the log level; at
// loglevel >= 6 it is also printed through the global print function.
//
// Host layer. pcall, xpcall, print and the coroutine functions that see
// through protected calls (running, isyieldable, yield, status, resume,
// wrap) have one implementation, installed by InstallHost, that the daemon
// (package script) and the synchronous embedders (package conformance,
// this package's tests) share: protected calls run their bodies in
// threads of their own and let yields through. A Host says what differs
// between embedders: where body threads come from, whether the running
// entry was aborted, and where print writes (host.go).
package stdlib

import (
	_ "embed"

	lua "github.com/yuin/gopher-lua"
)

//go:embed lua/libruleset.lua
var librulesetSource []byte

// LibrulesetSource returns the embedded libruleset.lua. The caller must not
// modify the returned slice.
func LibrulesetSource() []byte { return librulesetSource }

// Open installs every library of this package into L: the globals zlib,
// time and marshal (also registered in package.loaded), the compat shims
// and regex library, the "libruleset.native" module and a package.preload
// entry for "libruleset" built from the embedded source, so that
// require "libruleset" works whatever package.path says. L must have the
// standard libraries opened (lua.NewState does); neosocksd.* and await.*
// are the host's to install. pcall, xpcall, print and the coroutine
// functions that see through protected calls are the host layer's for the
// synchronous host (the zero Host); OpenHost takes another.
func Open(L *lua.LState) {
	OpenHost(L, Host{})
}

// OpenHost is Open with the host layer configured by h (see Host and
// InstallHost); it returns the state's protected calls.
func OpenHost(L *lua.LState, h Host) *ProtectedCalls {
	openExtras(L)
	register(L, "zlib", OpenZlib(L))
	register(L, "time", OpenTime(L))
	register(L, "marshal", L.NewFunction(luaMarshal))
	L.PreloadModule(NativeModule, func(L *lua.LState) int {
		L.Push(OpenNative(L))
		return 1
	})
	L.PreloadModule("libruleset", func(L *lua.LState) int {
		fn, err := loadLibruleset(L)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(fn)
		L.Push(lua.LString("libruleset"))
		L.Call(1, 1)
		return 1
	})
	return InstallHost(L, h)
}

// register sets _G[name] and package.loaded[name] to v.
func register(L *lua.LState, name string, v lua.LValue) {
	L.SetGlobal(name, v)
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		if loaded, ok := pkg.RawGetString("loaded").(*lua.LTable); ok {
			loaded.RawSetString(name, v)
		}
	}
}
