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
// # Adding a matcher kind
//
// A matcher kind (a word a rule writes before its values: exact, host,
// domain, pattern, regex, port, cidr) is one file, kind_<word>.go: its
// check of the values, its L-IR node (the M* type), the compiled Go
// matcher and the trace text of a hit, the Lua it prints, what the lint
// and the shadowing lint learn from it, and the mutants the conformance
// suite's mutation test tries. kinds.go declares what a kind provides and
// registers every kind in matcherKinds. A new kind touches:
//
//   - kind_<word>.go, new: a type implementing matcherKind (a string kind
//     implements strKind and reuses checkStr from kind_str.go) and an
//     L-IR node implementing leafIR;
//   - kinds.go: one line in matcherKinds;
//   - ast.go: the word in Unary.Kind's grammar, and in SetDecl.Kind's if
//     sets of the kind are allowed (TestMatcherKindsMatchGrammar fails until
//     the grammar and the registry name the same kinds);
//   - diag.go: the word in wantMatcher, the "expected a matcher" message;
//   - a string kind only: its StrKind constant (kind_str.go) and, for sets,
//     the SetKind constant at the same position (ir.go).
//
// Not yet part of the unit: segment.go merges runs of exact, host, domain
// and cidr rules into one index (a new kind is evaluated rule by rule
// unless segment.go learns it); exact, host and domain share the hash set
// of kind_str.go, whose lookup and trace noun switch on the kind; and the
// conformance suite's stream and probe builders switch on the string
// kinds to pick literals (conformance/probes.go, disjoint.go,
// partition.go, engines.go).
//
// The checker is split by concept: check.go (driver, includes, names,
// upstreams), check_values.go, check_sets.go, check_actions.go,
// check_rules.go (tables, chains, matcher expressions), check_decls.go
// (hosts, users, default), check_testblocks.go, suggest.go.
//
// The package must not run Lua, dial, or do I/O beyond reading the route
// table, its includes and list files when asked to compile.
package dsl
