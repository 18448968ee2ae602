// Package stats holds the server's counters and the latency samples behind
// /stats, /metrics and neosocksd.stats(). Counters are atomics so that any
// goroutine may bump them; nothing here blocks or allocates on the hot path.
package stats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are the process-wide statistics, named after the original's
// fields (num_*, byt_*). The zero value is ready to use. Each comment says
// what one unit is and who counts it; "proxy" means the -l and --http
// listeners (SOCKS, HTTP, -f, --tproxy), never the API.
type Counters struct {
	// HalfOpen (num_halfopen) is a gauge: proxy connections admitted and
	// not yet relaying (handshake, ruleset, dial, reply).
	HalfOpen atomic.Int64
	// Sessions (num_sessions) is a gauge: relays running, TCP tunnels and
	// UDP associations.
	Sessions atomic.Int64
	// SessionsPeak (num_sessions_peak) is the highest Sessions so far.
	SessionsPeak atomic.Int64
	// Request (num_request): proxy requests completely parsed, granted or
	// not (-f and --tproxy: each admitted connection).
	Request atomic.Uint64
	// Success (num_success): relays started, one per granted request.
	Success atomic.Uint64
	// RejectRuleset (num_reject_ruleset): requests the ruleset refused,
	// failed on, or answered with an unusable decision; with active
	// forwarding (await.forward) also the requests whose every dial failed.
	RejectRuleset atomic.Uint64
	// RejectTimeout (num_reject_timeout): proxy connections whose half-open
	// timer (-t) expired before relaying.
	RejectTimeout atomic.Uint64
	// RejectUpstream (num_reject_upstream): server-driven dials that failed
	// (never an engine's own await.forward dial).
	RejectUpstream atomic.Uint64
	// Accept (num_accept): connections accepted on any listener, the API's
	// included.
	Accept atomic.Uint64
	// Serve (num_serve): accepted connections that passed admission (-m,
	// --max-startups), the API's included.
	Serve atomic.Uint64
	// APIRequest (num_api_request): API requests whose head parsed.
	APIRequest atomic.Uint64
	// APISuccess (num_api_success): API responses with a status below 400
	// written in full (error pages and 4xx/5xx messages are not).
	APISuccess atomic.Uint64
	// DNSQuery (num_dns_query): name lookups started by the dialer, for
	// proxy requests, await.resolve and the RPC client alike.
	DNSQuery atomic.Uint64
	// DNSSuccess (num_dns_success): DNSQuery lookups that gave an address.
	DNSSuccess atomic.Uint64
	// BytesUp (byt_up): relayed payload, client to upstream, of granted
	// requests only: a rejected request's bytes, its read-ahead and the
	// RPC client's bytes never count here.
	BytesUp atomic.Uint64
	// BytesDown (byt_down): relayed payload, upstream to client, of
	// granted requests only.
	BytesDown atomic.Uint64

	// ServerRx, ServerTx: proxy handshake bytes from and to clients
	// (greetings, requests, replies, error pages, and read-ahead bytes that
	// arrived with a request), whatever the ruleset decided.
	ServerRx, ServerTx atomic.Uint64
	// ClientRx, ClientTx: handshake bytes from and to upstream proxies of
	// a chain, for every dial through the dialer (proxy requests,
	// await.forward, the RPC client), as the original counts byt_dial_*.
	ClientRx, ClientTx atomic.Uint64
	// APIServerRx, APIServerTx: bytes read and written by the API server.
	APIServerRx, APIServerTx atomic.Uint64
	// APIClientRx, APIClientTx: bytes the ruleset's RPC client
	// (await.invoke, neosocksd.invoke) read and wrote on its own
	// connections, past any proxy handshake.
	APIClientRx, APIClientTx atomic.Uint64
	// APIClientRequest (num_api_client_request): requests the RPC client
	// issued on a connection it opened (a failed dial issues none).
	APIClientRequest atomic.Uint64

	// ConnectLatency keeps the durations of the last 256 successful dials
	// made for proxy requests, by the server or by an engine's
	// await.forward (start of the dial to the connection through the whole
	// chain). The RPC client's dials are not sampled.
	ConnectLatency Window
}

// SessionStarted records a relay starting: one less half-open connection,
// one more session, and the peak.
func (c *Counters) SessionStarted() {
	c.Success.Add(1)
	n := c.Sessions.Add(1)
	for {
		p := c.SessionsPeak.Load()
		if n <= p || c.SessionsPeak.CompareAndSwap(p, n) {
			return
		}
	}
}

// SessionEnded records a relay finishing.
func (c *Counters) SessionEnded() { c.Sessions.Add(-1) }

// Window keeps the most recent samples of a duration, for percentiles, and
// the count and sum of every sample, for a Prometheus summary.
type Window struct {
	mu      sync.Mutex
	samples []time.Duration
	next    int
	size    int
	count   uint64
	sum     time.Duration
}

// NewWindow returns a window that keeps the last size samples.
func NewWindow(size int) *Window { return &Window{size: size} }

// Add records a sample.
func (w *Window) Add(d time.Duration) {
	w.mu.Lock()
	if w.size == 0 {
		w.size = 256
	}
	if len(w.samples) < w.size {
		w.samples = append(w.samples, d)
	} else {
		w.samples[w.next] = d
		w.next = (w.next + 1) % w.size
	}
	w.count++
	w.sum += d
	w.mu.Unlock()
}

// Percentiles are the P50/P90/P99/max of a window, computed as the original
// does: sort ascending and take index floor(n*q). Count and Sum cover every
// sample since the start, not only the window's.
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
	Count              uint64
	Sum                time.Duration
}

// Percentiles returns the current percentiles; N is 0 when empty.
func (w *Window) Percentiles() Percentiles {
	w.mu.Lock()
	s := append([]time.Duration(nil), w.samples...)
	count, sum := w.count, w.sum
	w.mu.Unlock()
	if len(s) == 0 {
		return Percentiles{}
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	return Percentiles{N: n, P50: s[n*50/100], P90: s[n*90/100], P99: s[n*99/100], Max: s[n-1], Count: count, Sum: sum}
}
