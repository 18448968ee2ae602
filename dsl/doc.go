// Package dsl implements the route-table language (.nrt): a participle
// grammar and AST, a checker that reports every problem as
// "file:line:col: error|warning: message" with the source line and a caret,
// the L-IR (a tree of libruleset constructs with positions), and two back
// ends: Translate prints the L-IR as a Lua ruleset for libruleset, and
// Compile builds a Table that decides requests with no Lua VM, exactly as
// libruleset would (design §4, patches P1-P5).
//
// Engine wraps a Table for the daemon: route.Router and api.Ruleset,
// atomic reloads (a failed compile keeps the old table), per-rule hit
// counters, tag events, external sets replaceable at run time.
//
// The users block admits requests when authentication is required, as
// libruleset's _G.secrets does: `name = "pw"` admits name with exactly
// that password, `name = any` admits name with any password or none. A
// request that carries a username but no password (a SOCKS4/4A user ID,
// which always arrives so, the empty ID included) is therefore admitted
// only by an `any` entry of that name: a nil password matches no password
// string, not even "". A request without a username matches no entry.
//
// Differences from the Lua engine, by design: the engine returns a Forward
// decision and lets the server dial, where libruleset forwards actively
// (await.forward); only the error counters differ. Lua patterns are
// re-parsed on each match (gopher-lua's pm package has no compiled form).
// A run of at least 8 adjacent rules whose matchers are each one exact,
// host, domain or cidr set of the same kind is merged into one index (key
// -> first rule; CIDR: first-writer-wins interval map), so one lookup
// replaces the run; CompileOptions.NoIndex turns this off, and trace mode
// always evaluates rule by rule.
//
// The package must not run Lua, dial, or do I/O beyond reading the route
// table, its includes and list files when asked to compile.
package dsl
