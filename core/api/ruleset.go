// Package api serves the RESTful control API (--api): /healthy, /stats,
// /metrics and the /ruleset/* endpoints. It speaks HTTP/1.x itself, because
// the original's clients send HTTP/1.1 requests without a Host header,
// which net/http refuses. It must not know how a ruleset works (engines
// implement Ruleset) nor run the proxy listeners.
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

// Ruleset is what the API needs from a routing engine. The Lua engine and
// the compiled route table implement it; an engine that cannot do
// something (the route table runs no code) returns an error saying so,
// which the API answers as 500 text/plain.
type Ruleset interface {
	// Healthy calls ruleset.healthy: "" means healthy, anything else is the
	// 503 body.
	Healthy(ctx context.Context) string
	// Stats returns the text appended to POST /stats: ruleset.stats(dt, q).
	// q is nil when the query has no q.
	Stats(ctx context.Context, dt time.Duration, q *string) string
	// Metrics returns Prometheus text appended to /metrics ("" for none).
	Metrics(ctx context.Context) string
	// Runtime reports the engine's own statistics for /stats?runtime,
	// /metrics and /ruleset/gc.
	Runtime() Runtime
	// Invoke runs code in a sandbox on the engine (POST /ruleset/invoke).
	Invoke(ctx context.Context, code []byte) error
	// Update replaces the ruleset (module "" or "ruleset") or a module
	// (POST /ruleset/update). chunkname "" means the default.
	Update(ctx context.Context, module, chunkname string, code []byte) error
	// GC runs a full collection and reports the runtime before and after.
	GC(ctx context.Context) (before, after Runtime, err error)
	// RPCall runs an RPC chunk and returns the marshalled results, the body
	// "return true,..." (POST /ruleset/rpcall). An error means "rpcall did
	// not return".
	RPCall(ctx context.Context, code []byte) ([]byte, error)
}

// Runtime is the engine's memory and routine statistics.
type Runtime struct {
	// VM reports that the engine runs a script VM, which the other fields
	// describe; without one (a route table) /metrics leaves out the
	// neosocksd_lua_* gauges.
	VM            bool
	Allocated     uint64 // bytes
	Objects       uint64
	MemLimit      uint64 // bytes, 0 = none
	ThreadsActive int64
	ThreadsPeak   int64
	Events        stats.Percentiles // CPU time of recent ruleset entries
}
