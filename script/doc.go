// Package script is the Lua ruleset engine: it hosts one gopher-lua VM,
// runs neosocksd rulesets in it, and implements route.Router and
// route.AsyncRouter (the resolve/route/route6 callbacks), api.Ruleset (the /healthy, /stats,
// /metrics and /ruleset/update hooks) and every optional ability of the
// API: api.Invoker, api.RPCaller, api.Collector and api.RuntimeReporter.
//
// # One owner
//
// A single goroutine, the owner, creates the VM and is the only goroutine
// that ever touches it. Everything else (Route calls from proxy sessions,
// API requests, timers, finished dials and DNS queries) sends the owner a
// task over a channel and waits for the answer. Request callbacks run as
// asynchronous routines: coroutines taken from a pool (threads are reused
// after a routine ends, so coroutine.running() identities repeat, as in the
// original). await.* functions start Go work on a reused goroutine and yield; the
// completion is posted back to the owner, which resumes the routine that
// awaited. Many requests are in flight at once while the VM runs one thing
// at a time.
//
// # Decisions
//
// Route maps a callback's results to a route.Decision: addr, proxyN, ...,
// proxy1 becomes Forward with the chain first hop first; nothing, nil,
// false or a non-string first value is Reject; a raised error, a value
// that is not a string or number, a string over 1024 bytes, more than 255
// values, or an address or proxy URI that does not parse is Error. Errors,
// bad values and non-string results are also recorded as the last error
// (neosocksd.stats().lasterror); the original only logs them. After
// await.forward succeeds the decision is Committed (with the connection)
// as soon as the dial completes; the routine runs on and its return value
// is ignored. await.forward dials through Request.Dial with its own -t
// timeout; when the request has no Dial, await.forward commits to a plain
// Forward decision and returns true at once (the server dials). Route
// returns an error only when the callback could not be started
// (_G.ruleset is not a table: HTTP 500), when the engine is closed, or
// when ctx ends first (ctx.Err(); the routine keeps running and a
// connection it commits later is closed).
//
// RouteAsync is Route for an event loop that must not block: it posts the
// request to the owner's inbox without waiting (a full inbox or a closed
// engine refuse it, and the caller asks Route instead) and the owner hands
// the decision to the route.Receiver, with the values Route would have
// returned: the same decisions, errors, logs and last error, ErrClosed
// for a call still queued or in flight when the engine closes. The call
// itself is the route.Pending: Abandon is Route's ctx ending (the routine
// runs on and can no longer forward), and the call goes back to its pool
// only once both its caller and the owner let go, as Route's calls do.
// Such a request carries Request.Connect instead of Dial: await.forward
// then asks the loop to connect, and the loop's result resumes the
// routine as the op worker's dial would have, with the same values (true;
// false and "timeout" for a deadline; false and the error's text; false
// and "request cancelled" when the request can no longer take the
// connection). A committed decision then has no Conn: the connection is
// the one the loop made, which it relays over or, on any other decision,
// closes. A result that comes after the routine ended is dropped.
//
// # Entry points
//
// -r and SIGHUP run the ruleset file as chunk "=ruleset"; -c runs the boot
// config as "=config" and applies its table to a *config.Config (all or
// nothing; integer fields accept integral numbers only). Script files may
// be gzip-compressed; a UTF-8 BOM and a "#!" line are skipped. require
// searches "?.lua" (the working directory) and then the directory of the
// -r/-c script; the embedded libruleset is always available.
// /ruleset/invoke runs in a sandbox on the main thread (free names land
// in a throw-away table, _G.x persists); /ruleset/rpcall runs in a
// sandbox in a new routine and answers "return " .. marshal(true, ...);
// await.invoke and neosocksd.invoke speak the same
// application/x-neosocksd-rpc wire format as the original's client (its
// constants, content type and body coding live in core/proto/rpc, shared
// with the API server; the response head is read by core/proto/http) and
// dial through Options.Dial, which the daemon points at the same dialer
// entry point as routed requests and await.forward.
// Negative setinterval values tick whenever the loop is idle, at most
// once a millisecond.
//
// # Yielding
//
// pcall and xpcall are yieldable: the protected function runs in its own
// pooled coroutine and every yield is passed outward, so await.* works
// inside them. coroutine.running() reports the outer routine, so futures
// and await.callback wake the right one. This is stdlib's host layer, the
// same code the conformance suite's Lua engine runs; the VM only
// configures it (host.go). A yield across a Go call boundary
// that gopher-lua cannot suspend (a metamethod, a table.sort comparator, a
// string.gsub replacement function, a generic-for iterator function) raises
// "attempt to yield across a C-call boundary" instead of corrupting the
// coroutine; those stay unsupported. Protected calls made by the main
// thread (loading, invoke) run in a pooled coroutine too, so a caught error
// unwinds only the protected frames and closures keep sharing the locals of
// the frames still running (gopher-lua's own pcall closes every upvalue of
// the thread); a yield inside one raises "attempt to yield from outside a
// coroutine", catchable as in Lua 5.4.
//
// # Numbers
//
// Integers are exact 64-bit Lua 5.4 integers (package stdlib/lua54: plain
// float64 numbers within ±2^53, boxed integers beyond). neosocksd.parse_ipv4
// returns one non-negative 32-bit value and neosocksd.parse_ipv6 two 64-bit
// integers (high, low), as the original on standard Lua 5.4. Integer
// configuration fields of a -c table accept any integral number (4.0
// cannot be told from 4).
//
// # Safety
//
// Unlike the original, a callback that loops forever does not freeze the
// proxy. The owner runs every VM entry (a resume, a hook call, a load)
// under an execution budget (Options.Budget, default 1 s; an entry that
// loads a script, at start-up, on reload or through /ruleset/update, has
// Options.LoadBudget, default 30 s, as a large generated ruleset can take
// seconds to build on a busy machine): all states share
// one "epoch" context that a watchdog goroutine cancels when an entry has
// run longer than the budget (checked every budget/50, and at least every
// 20 ms). gopher-lua then raises in the running code; the entry fails
// with "execution budget exceeded", its request is rejected, the event is
// logged and counted, and a fresh epoch serves the next entry. Go code
// cannot be pre-empted, so the native functions whose work grows with
// their input poll the same context and raise the same error: the Lua
// pattern functions (string.find, match, gmatch, gsub, on stdlib's own
// matcher), regex.*, table.sort, marshal, unmarshal and zlib.* (see
// stdlib). A native call that still runs long (a blocking read, a compile
// of a huge chunk by load) is reported, as "ruleset stuck in native
// code", once it has run for twice the budget; a second SIGINT or SIGTERM
// ends the daemon whatever the VM is doing.
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
// (runtime/metrics, live heap objects) every 100 ms. While the heap is at
// or above the limit, the owner runs a full collection before the next
// entry (at most once a second), and an entry during which the heap grows
// by a quarter of the limit (at least 16 MiB) is aborted like a runaway
// one. The process is never killed.
//
// A failed /ruleset/update, -r/-c load or reload keeps the old ruleset and
// returns the error text.
//
// The package must not listen, parse proxy protocols, or touch the VM from
// any goroutine but the owner.
//
// # Files
//
// vm.go builds the state and installs the libraries (and rebuilds it after
// a crash); budget.go holds the epoch context of the execution budget;
// routine.go the pooled coroutines and how a routine's results or error
// reach its request, async finish or rpcall; host.go the VM's
// configuration of stdlib's host layer, which installs the yieldable
// pcall and xpcall, print and coroutine.running, isyieldable, yield and
// status (body threads from the routine pool, counted as routines; no
// xpcall handler once the budget ran out; print to Options.Stdout);
// coroutine.go the coroutine library overrides (create, and resume and
// wrap, which keep routines and the budget's epoch in step);
// errors.go error values and tracebacks; builtins.go the capped
// string.rep; luaapi.go the neosocksd.* and await.* functions and the
// await plumbing (await, finishOp, complete, and connecting for a
// forward through Request.Connect); load.go
// script loading and replay; hooks.go the API hooks; route.go the routing
// callbacks (Route, and RouteAsync with the call as its Pending); client.go the RPC client of await.invoke; workers.go the
// reused goroutines that run the Go side of await operations.
//
// A new Lua API function touches: luaapi.go (its Go function, and its entry
// in openNeosocksd or openAwait; an await.* function prepares with await,
// starts its Go work with goOp, finishes with finishOp and yields),
// doc.go when it changes a documented rule, a test in the _test.go file
// of its concept, and the README's list of the Lua API.
package script
