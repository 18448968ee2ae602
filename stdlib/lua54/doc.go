// Package lua54 is a Lua 5.4 syntax front end for gopher-lua: its own lexer
// and parser turn Lua 5.4 source into github.com/yuin/gopher-lua/ast nodes
// that lua.Compile accepts and the stock (Lua 5.1, float64) VM runs.
//
// It is the only way source should enter the VM (Load). It must not keep
// global state between loads and must not reference anything through the
// chunk's environment: lowered operators are compiled as constants that
// hold native functions, so they work with _ENV = _G, a sandbox, an empty
// table (unmarshal) or after setfenv.
//
// Importing the package sets lua.CompatVarArg = false: Lua 5.4 has no
// implicit "arg" table in vararg functions.
//
// # Lua 5.4 compatibility
//
// Numbers are float64 carriers: an "integer" is an integral value within
// int64 range. Integer operations are computed in int64 and are exact while
// results stay within ±2^53.
//
//	| Feature                                         | Status                                                        |
//	|-------------------------------------------------|---------------------------------------------------------------|
//	| & | ~ << >> and unary ~ (5.4 precedence)        | works; integer semantics in int64, metamethods __band…__bnot  |
//	| // floor division                               | works; integral operands use integer floor division          |
//	| operators on non-integral floats                | "number has no integer representation", as Lua                |
//	| strings as bitwise operands                     | error, as Lua 5.4 (strings coerce for // only)                |
//	| \xXX \z \u{XXX} \ddd escapes, long brackets     | works, Lua's messages for bad escapes                         |
//	| hex floats 0x1.8p+1, 0xA.8                      | works, exact                                                  |
//	| hex integers above 2^63                         | wrap modulo 2^64 (0xffffffffffffffff == -1)                   |
//	| decimal integers above int64                    | become floats, as Lua                                         |
//	| goto / ::label::                                | works (gopher-lua's compiler resolves labels)                 |
//	| local x <const>                                 | works; assignment is a load error                             |
//	| local x <close>                                 | works: __close(x, err) on fall-through, return, break, goto   |
//	|                                                 | within the scope, and errors (the rest of the block runs as a |
//	|                                                 | closure under a native helper)                                 |
//	| <close>: yield inside its scope                 | NOT supported (gopher-lua cannot yield across a Go call; its  |
//	|                                                 | own pcall has the same limit)                                  |
//	| <close>: goto leaving its scope; <close>        | NOT supported: clear load error                               |
//	| directly in a repeat-until body                 |                                                               |
//	| table constructor: keyed field right after the  | works: rewritten to an ordinary prefix plus an in-order native |
//	| 50th/100th/... positional item                   | helper (gopher-lua re-flushes that batch); see table.go        |
//	| syntax error messages                           | "chunk:line: msg near 'tok'" as Lua 5.4.4; chunk names as luaO_chunkid |
//	| goto error lines                                | clamped to the last line of the chunk                         |
//	| int/float identity (3 vs 3.0, math.type(1.0))   | DIFFERENCE: integral floats behave and print as integers      |
//	| integers beyond ±2^53                           | DIFFERENCE: rounded to the nearest float64 (no wrap-around)   |
//	| math.maxinteger                                 | DIFFERENCE: 2^63 as a float; bitwise ops read 2^63 as maxinteger |
//	| x // 0, x % 0 with integers                     | DIFFERENCE: ±inf / nan instead of an error                    |
//	| runtime error texts                             | DIFFERENCE: from gopher-lua's VM, without "(local 'x')" details |
//	| string.format / tostring / print of floats      | see package stdlib (OpenCompat formats numbers like "%.14g")  |
//	| .. on floats                                    | DIFFERENCE: gopher-lua formats with Go's shortest form        |
//
// gopher-lua v1.1.2 miscompiles two assignment shapes; the parser rewrites
// them so they behave as Lua: multiple assignment (a, b = b, a) goes
// through temporaries, and a call assigned to a function's last parameter
// (x = (f(x))) is wrapped.
package lua54
