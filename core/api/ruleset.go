// Package api serves the RESTful control API (--api): /healthy, /stats,
// /metrics and the /ruleset/* endpoints. It speaks HTTP/1.x itself, because
// the original's clients send HTTP/1.1 requests without a Host header,
// which net/http refuses. It must not know how a ruleset works (engines
// implement Ruleset) nor run the proxy listeners.
//
// # The engine seam
//
// Server.Ruleset hands the API the active engine as a Ruleset: the four
// things every engine does (Healthy, Stats, Metrics, Update). Everything
// else is an optional ability, a one-method interface the API detects
// with a type assertion on that value, with a fixed answer when it is
// missing:
//
//	Invoker          POST /ruleset/invoke   else 500 "ruleset runs no code"
//	RPCaller         POST /ruleset/rpcall   else 500 "rpcall did not return"
//	Collector        POST /ruleset/gc       else a collection of nothing
//	RuntimeReporter  /stats?runtime, /metrics, /ruleset/gc   else zeros
//
// The Lua engine (script) has them all; the route table (dsl) has none and
// carries no stub methods. An engine declares what it has with interface
// guards at the bottom of its file. A new engine touches:
//
//   - its own package: a type implementing route.Router and Ruleset, plus
//     the optional abilities it really has, with interface guards;
//   - cmd/neosocksd/engines.go: loadEngine recognises its file and
//     installs it with setActive;
//   - cmd/neosocksd/main.go: the daemon keeps it and reload re-reads it
//     (SIGHUP);
//   - README.md: the layout table.
//
// Neither this package nor core/server changes: the server sees only a
// route.Router.
//
// # Errors
//
// Handlers return errors; fail (errors.go) is the one place an error
// becomes a response, through statusOf: a *statusError carries its
// status and either the HTML error page or a text/plain body (the 401 of
// auth.go with its challenge headers), a request head that does not parse
// is 400 or 413, a body that decodes too large 413, and anything else
// (I/O, a body that did not arrive, the connection timer, shutdown)
// closes the connection without an answer. The error is logged once, in
// the request's debug line.
//
// Choices where the original is vague or quirky:
//   - Pipelined requests are served in order instead of being discarded;
//     clients that send one request at a time see no difference.
//   - Header errors (400 for Content-Length and Transfer-Encoding, 413 for
//     a body over MaxBody, 415, 417) are answered before routing; the first
//     offending header decides. A chunked body is 501 after routing.
//   - A Content-Encoding body that does not decode is 400; one that
//     decodes to more than MaxBody is 413, found while the body is
//     inflated as it arrives, so a compression bomb is refused after its
//     first few KiB.
//   - /metrics adds the standard process_* families and
//     neosocksd_build_info after the neosocksd_* families, before the
//     ruleset's own metrics, and follows Prometheus's conventions where the
//     original does not (see appendMetrics).
//   - Beyond the original, Server.Token makes every endpoint but /healthy
//     (and /metrics with Server.MetricsOpen) answer 401 unless the request
//     carries the token (auth.go).
//   - The POST /stats rate state belongs to the Server value: one per
//     process, shared by all its clients.
package api

import (
	"context"
	"time"

	"github.com/neosocksd-go/neosocksd/core/stats"
)

// Ruleset is what the API needs from every routing engine: health, the
// /stats and /metrics text, and replacing the ruleset. The Lua engine and
// the compiled route table implement it. What only some engines can do is
// an optional interface below (Invoker, RPCaller, Collector,
// RuntimeReporter), which the API detects with a type assertion on the
// value Server.Ruleset returns, so an engine declares only what it does.
type Ruleset interface {
	// Healthy calls ruleset.healthy: "" means healthy, anything else is the
	// 503 body.
	Healthy(ctx context.Context) string
	// Stats returns the text appended to POST /stats: ruleset.stats(dt, q).
	// q is nil when the query has no q.
	Stats(ctx context.Context, dt time.Duration, q *string) string
	// Metrics returns Prometheus text appended to /metrics ("" for none).
	Metrics(ctx context.Context) string
	// Update replaces the ruleset (module "" or "ruleset") or a module
	// (POST /ruleset/update). chunkname "" means the default. The error's
	// text is the 500 body.
	Update(ctx context.Context, module, chunkname string, code []byte) error
}

// Invoker is a Ruleset that runs code (POST /ruleset/invoke). Without it
// the endpoint answers 500 "ruleset runs no code".
type Invoker interface {
	// Invoke runs code in a sandbox on the engine. The error's text is the
	// 500 body.
	Invoke(ctx context.Context, code []byte) error
}

// RPCaller is a Ruleset that answers RPC chunks (POST /ruleset/rpcall).
// Without it the endpoint answers 500 "rpcall did not return", as for a
// call that fails.
type RPCaller interface {
	// RPCall runs an RPC chunk and returns the marshalled results, the body
	// "return true,..." An error means "rpcall did not return".
	RPCall(ctx context.Context, code []byte) ([]byte, error)
}

// Collector is a Ruleset with memory to collect (POST /ruleset/gc).
// Without it the endpoint reports a collection of nothing: zero before
// and after.
type Collector interface {
	// GC runs a full collection and reports the runtime before and after.
	GC(ctx context.Context) (before, after Runtime, err error)
}

// RuntimeReporter is a Ruleset with runtime figures of its own, shown by
// /stats?runtime, /metrics (when Runtime.VM is set) and /ruleset/gc.
// Without it those show a zero Runtime.
type RuntimeReporter interface {
	// Runtime reports the engine's memory and routine statistics now.
	Runtime() Runtime
}

// runtimeOf returns rs's runtime figures, zero when it has none.
func runtimeOf(rs Ruleset) Runtime {
	if rr, ok := rs.(RuntimeReporter); ok {
		return rr.Runtime()
	}
	return Runtime{}
}

// Runtime is the engine's memory and routine statistics.
type Runtime struct {
	// VM reports that the engine runs a script VM, which the other fields
	// describe; without one /metrics leaves out the neosocksd_lua_*
	// gauges. The zero Runtime of an engine that is no RuntimeReporter
	// has none.
	VM            bool
	Allocated     uint64 // bytes
	Objects       uint64
	MemLimit      uint64 // bytes, 0 = none
	ThreadsActive int64
	ThreadsPeak   int64
	Events        stats.Percentiles // CPU time of recent ruleset entries
}
