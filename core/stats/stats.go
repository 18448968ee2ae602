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
// fields (num_*, byt_*). The zero value is ready to use.
type Counters struct {
	HalfOpen       atomic.Int64  // num_halfopen: proxy connections before relaying
	Sessions       atomic.Int64  // num_sessions: active relays
	SessionsPeak   atomic.Int64  // num_sessions_peak
	Request        atomic.Uint64 // num_request: completely parsed proxy requests
	Success        atomic.Uint64 // num_success: relays started
	RejectRuleset  atomic.Uint64 // num_reject_ruleset
	RejectTimeout  atomic.Uint64 // num_reject_timeout
	RejectUpstream atomic.Uint64 // num_reject_upstream
	Accept         atomic.Uint64 // num_accept: accepted on any listener
	Serve          atomic.Uint64 // num_serve: passed admission
	APIRequest     atomic.Uint64 // num_api_request
	APISuccess     atomic.Uint64 // num_api_success
	DNSQuery       atomic.Uint64 // num_dns_query
	DNSSuccess     atomic.Uint64 // num_dns_success
	BytesUp        atomic.Uint64 // byt_up: relayed client -> upstream
	BytesDown      atomic.Uint64 // byt_down: relayed upstream -> client

	ServerRx, ServerTx       atomic.Uint64 // handshake bytes with proxy clients
	ClientRx, ClientTx       atomic.Uint64 // handshake bytes with upstream proxies
	APIServerRx, APIServerTx atomic.Uint64 // API server bytes
	APIClientRx, APIClientTx atomic.Uint64 // API client (invoke/rpcall) bytes
	APIClientRequest         atomic.Uint64 // requests issued by invoke/rpcall

	// ConnectLatency keeps the last 256 successful dial durations.
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

// Window keeps the most recent samples of a duration, for percentiles.
type Window struct {
	mu      sync.Mutex
	samples []time.Duration
	next    int
	size    int
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
	w.mu.Unlock()
}

// Percentiles are the P50/P90/P99/max of a window, computed as the original
// does: sort ascending and take index floor(n*q).
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// Percentiles returns the current percentiles; N is 0 when empty.
func (w *Window) Percentiles() Percentiles {
	w.mu.Lock()
	s := append([]time.Duration(nil), w.samples...)
	w.mu.Unlock()
	if len(s) == 0 {
		return Percentiles{}
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	return Percentiles{N: n, P50: s[n*50/100], P90: s[n*90/100], P99: s[n*99/100], Max: s[n-1]}
}
