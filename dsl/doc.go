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
// host, domain or cidr set of the same kind (any kind whose compiled
// matcher is indexable) is merged into one index (key -> first rule;
// CIDR: first-writer-wins interval map), so one lookup replaces the run;
// CompileOptions.NoIndex turns this off, and trace mode always evaluates
// rule by rule.
//
// # Adding a matcher kind
//
// A matcher kind (a word a rule writes before its values: exact, host,
// domain, pattern, regex, port, cidr) is one file, kind_<word>.go: its
// check of the values, its L-IR node (the M* type), the compiled Go
// matcher and the trace text of a hit, the Lua it prints, what the lint
// and the shadowing lint learn from it, the mutants the conformance
// suite's mutation test tries, and what the suite sees of it (Leaf: its
// literals and whether it splits the address). kinds.go declares what a
// kind provides and registers every kind in matcherKinds; the grammar
// (kindWord), the "expected a matcher" message, the trace and the Lua
// emitter reach a kind only through that registry and the leafIR
// methods, and the conformance suite only through Leaf. A new kind
// touches exactly:
//
//   - kind_<word>.go, new: a type <word>Kind implementing matcherKind and
//     an L-IR node implementing leafIR (and so Leaf), with a compiled
//     matcher; optionally indexable, so that runs of its rules share one
//     index (segment.go);
//   - kinds.go: one line in matcherKinds;
//   - leaf_test.go: one row of TestLeafLiterals (it fails until every
//     registered kind has one), and its own tests or golden files.
//
// A kind's Literals must describe what it matches with the existing
// LiteralKinds (a value the suite cannot reason about exactly is best
// given as a regex or pattern: the partition proof then falls back to the
// streams); a kind with new semantics for the suite adds a LiteralKind in
// leaf.go and teaches the suite's literal switches (conformance/engines.go,
// partition.go, probes.go, disjoint.go) to use it. A string kind (its
// values checked one by one into an MStr, like exact or regex) implements
// strKind instead and reuses checkStr from kind_str.go; it also needs a
// StrKind constant there, and a SetKind constant at the same position
// (ir.go) if named sets of it are allowed. The random tables of the
// conformance suite (conformance/rulegen.go) use a new kind only once
// taught to.
//
// The checker is split by concept: check.go (driver, includes, names,
// upstreams), check_values.go, check_sets.go, check_actions.go,
// check_rules.go (tables, chains, matcher expressions), check_decls.go
// (hosts, users, default), check_testblocks.go, suggest.go.
//
// The package must not run Lua, dial, or do I/O beyond reading the route
// table, its includes and list files when asked to compile.
package dsl
