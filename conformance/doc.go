// Package conformance proves that the two routing engines decide alike:
// the compiled route table (package dsl) and the same rules as Lua on
// gopher-lua with our libruleset.lua (package stdlib). It generates
// request streams from a ruleset's literals and the edge cases of the
// route-table design (§8), runs every engine on them and compares the
// outcome, target, proxy chain and tag events byte for byte.
//
// Engines: GoEngine in its three modes (G indexed, G0 linear, GT trace
// mode) and LuaEngine, which runs any Lua ruleset (the output of
// `nrt translate` or a hand-written file) on a plain gopher-lua state with
// stdlib's host layer (the pcall, xpcall and coroutine view the daemon
// runs) and synchronous stand-ins for the rest: await.forward
// records the decision, await.resolve asks a fake resolver, and tag events
// come from stdlib's event sink (not from parsing printed log lines).
// Engines returns all four for a checked program; Run compares them over
// a stream and Shrink shortens a failing stream. Generate, LiteralsOf,
// LuaLiterals and MakeDNS build the streams and the fake resolver: every
// literal crossed with the port edges, regex witnesses (core/ere) and Lua
// pattern witnesses (PatternWitnesses) with near misses, MC/DC pairs for
// composite rules, and for adjacent rules an address both take (found on
// the product of automata that over-approximate their languages).
// PartitionOf enumerates one request per class a regex-free table can
// tell apart; CoverageOf reports which rules a stream hit and missed.
// Prove decides equivalence exactly when the Lua side is built from
// libruleset's declarative constructors: it reads their provenance
// records back and runs one request per class of the partition of both
// sides' literals.
// ReadStream and WriteStream read and write the .req format;
// RunLuaTests runs a route table's test blocks on the translated Lua.
//
// The suite measures itself with mutation testing: every one-literal
// mutant of the examples and of seeded random tables (dsl.Mutants) runs
// against the original's Lua; each survivor must be proven equivalent.
//
// The package is used by its own tests (in CI: examples, one table per
// construct and per patch, seeded random tables, saved regressions,
// FuzzConformance, and an optional comparison with Debian's lua5.4) and
// by `nrt test --lua` and `nrt conform`. It must not be imported by the
// daemon: it exists to check engines, not to serve requests.
package conformance
