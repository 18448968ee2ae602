// Package script is the Lua ruleset engine: it hosts one gopher-lua VM,
// runs neosocksd rulesets in it, and implements route.Router (the
// resolve/route/route6 callbacks) and api.Ruleset (the /healthy, /stats,
// /metrics and /ruleset/* hooks).
//
// # One owner
//
// A single goroutine, the owner, creates the VM and is the only goroutine
// that ever touches it. Everything else (Route calls from proxy sessions,
// API requests, timers, finished dials and DNS queries) sends the owner a
// task over a channel and waits for the answer. Request callbacks run as
// asynchronous routines: coroutines taken from a pool (threads are reused
// after a routine ends, so coroutine.running() identities repeat, as in the
// original). await.* functions start Go work in a goroutine and yield; the
// completion is posted back to the owner, which resumes the routine that
// awaited. Many requests are in flight at once while the VM runs one thing
// at a time.
//
// # Yielding
//
// pcall and xpcall are yieldable: the protected function runs in its own
// pooled coroutine and every yield is passed outward, so await.* works
// inside them. coroutine.running() reports the outer routine, so futures
// and await.callback wake the right one. A yield across a Go call boundary
// that gopher-lua cannot suspend (a metamethod, a table.sort comparator, a
// string.gsub replacement function, a generic-for iterator function) raises
// "attempt to yield across a C-call boundary" instead of corrupting the
// coroutine; those stay unsupported.
//
// # Numbers
//
// gopher-lua carries every number as a float64. neosocksd.parse_ipv4
// returns one exact non-negative 32-bit value, and neosocksd.parse_ipv6
// returns four 32-bit words, most significant first, as the original does
// on Lua builds with 32-bit integers. Integer configuration fields of a -c
// table accept any integral number (4.0 cannot be told from 4).
//
// # Safety
//
// Unlike the original, a callback that loops forever does not freeze the
// proxy. The owner runs every VM entry (a resume, a hook call, a load)
// under an execution budget (Options.Budget, default 1 s): all states share
// one "epoch" context that a watchdog goroutine cancels when an entry has
// run longer than the budget (checked every budget/10, at most every
// 100 ms). gopher-lua then raises in the running code; the entry fails
// with "execution budget exceeded", its request is rejected, the event is
// logged and counted, and a fresh epoch serves the next entry. Go code
// cannot be pre-empted: a single native call that runs long (a
// pathological string pattern) is only reported.
//
// Every VM entry runs under recover(). A Go panic inside gopher-lua (its
// traceback code can panic on a value-stack overflow) rebuilds the VM from
// the last good ruleset: the boot script and every later successful
// update are replayed in a new state; routines in flight fail. Size-taking
// builtins are capped (string.rep refuses results over 64 MiB), and the
// value and call stacks of every state are bounded.
//
// --memlimit is honoured as well as Go allows: Go cannot account the Lua
// heap separately, so the watchdog samples the process heap
// (runtime/metrics, live heap objects) and, while it is at or above the
// limit, the owner runs a full collection before the next entry and an
// entry that keeps allocating is aborted like a runaway one. The process
// is never killed.
//
// A failed /ruleset/update, -r/-c load or reload keeps the old ruleset and
// returns the error text.
//
// The package must not listen, parse proxy protocols, or touch the VM from
// any goroutine but the owner.
package script
