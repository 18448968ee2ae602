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
// Differences from the Lua engine, by design: the engine returns a Forward
// decision and lets the server dial, where libruleset forwards actively
// (await.forward); only the error counters differ. Lua patterns are
// re-parsed on each match (gopher-lua's pm package has no compiled form).
// Runs of simple rules are not yet merged into one index: each rule's set
// is one hash or range lookup, so big lists are fast, but many small
// adjacent rules are scanned one by one.
//
// The package must not run Lua, dial, or do I/O beyond reading the route
// table, its includes and list files when asked to compile.
package dsl
