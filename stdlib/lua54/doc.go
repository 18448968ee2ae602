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
// Load (and NoArgTable) sets lua.CompatVarArg = false: Lua 5.4 has no
// implicit "arg" table in vararg functions.
//
// # Lua 5.4 compatibility
//
// Numbers: values within ±2^53 are gopher-lua's float64 numbers; integers
// beyond ±2^53 are exact, interned boxed integers (integer.go) that the
// lowered operators, the box metamethods and package stdlib's library
// functions treat as Lua 5.4 integers. Ordering comparisons (< <= > >=)
// are lowered to helpers so that boxed and plain numbers compare exactly.
//
//	| Feature                                         | Status                                                        |
//	|-------------------------------------------------|---------------------------------------------------------------|
//	| & | ~ << >> and unary ~ (5.4 precedence)        | works; exact 64-bit wrapping, metamethods __band…__bnot       |
//	| // floor division                               | works; integer operands use exact integer floor division     |
//	| integers beyond ±2^53 (literals, maxinteger,    | exact 64-bit: + - * // % and unary minus wrap, / ^ give       |
//	| results of integer operators, tonumber ...)     | floats, comparisons exact, equal values are one table key     |
//	| < <= > >=                                       | works, Lua 5.4 rules (first operand's __lt/__le; __le falls   |
//	|                                                 | back to not __lt(b, a) as Debian's lua5.4 does)               |
//	| operators on non-integral floats                | "number has no integer representation", as Lua                |
//	| strings as bitwise operands                     | error, as Lua 5.4 (strings coerce for arithmetic only)        |
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
//	| int/float identity (3 vs 3.0, math.type(1.0))   | DIFFERENCE: integral floats within ±2^53 behave and print as  |
//	|                                                 | integers (so maxinteger + 1.0 wraps); plain numbers beyond    |
//	|                                                 | ±2^53 are floats, but 2^60 == 1 << 60 is false (and they are  |
//	|                                                 | two table keys)                                               |
//	| + - * on two plain numbers beyond ±2^53         | DIFFERENCE: float arithmetic, rounds (only operations with a  |
//	|                                                 | boxed operand, and & | ~ << >> //, are exact)                 |
//	| x // 0, x % 0 with plain integers               | DIFFERENCE: ±inf / nan instead of an error (boxed: the error) |
//	| numeric for with a boxed init, limit or step    | DIFFERENCE: "for statement limit must be a number" (gopher-  |
//	| (for i = 1, math.maxinteger)                    | lua's VM); use a while loop or math.huge                      |
//	| type(n) of a boxed integer                      | "number" through stdlib's type(); gopher-lua's own says       |
//	|                                                 | "userdata"; getmetatable(n) is false, not nil; stdlib's       |
//	|                                                 | debug.setmetatable refuses them (boxes are shared by states)  |
//	| runtime error texts                             | DIFFERENCE: from gopher-lua's VM, without "(local 'x')" details |
//	| string.format / tostring / print of floats      | see package stdlib (OpenCompat formats numbers like "%.14g")  |
//	| .. on floats                                    | DIFFERENCE: gopher-lua formats with Go's shortest form        |
//
// gopher-lua v1.1.2 miscompiles two assignment shapes; the parser rewrites
// them so they behave as Lua: multiple assignment (a, b = b, a) goes
// through temporaries, and a call assigned to a function's last parameter
// (x = (f(x))) is wrapped.
package lua54
