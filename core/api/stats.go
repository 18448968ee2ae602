package api

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/neosocksd-go/neosocksd/core/stats"
)

// statsOptions are the /stats query flags.
type statsOptions struct {
	banner, server, runtime, post bool
	q                             *string
}

// snapshot holds the counters the POST /stats rates are computed from.
type snapshot struct {
	accept, serve, request, apiRequest           uint64
	rejectRuleset, rejectTimeout, rejectUpstream uint64
	up, down                                     uint64
}

// rateState is the previous POST /stats measurement, shared by all clients
// of the server.
type rateState struct {
	valid bool
	at    time.Time
	snap  snapshot
	cpu   time.Duration
	cpuOK bool
}

func (s *Server) snapshot() snapshot {
	c := s.stats
	return snapshot{
		accept: c.Accept.Load(), serve: c.Serve.Load(), request: c.Request.Load(),
		apiRequest: c.APIRequest.Load(), rejectRuleset: c.RejectRuleset.Load(),
		rejectTimeout: c.RejectTimeout.Load(), rejectUpstream: c.RejectUpstream.Load(),
		up: c.BytesUp.Load(), down: c.BytesDown.Load(),
	}
}

// labelWidth is the width labels are padded to in text reports.
const labelWidth = 20

// appendLabel appends label padded to 20 columns and ": ".
func appendLabel(b []byte, label string) []byte {
	b = append(b, label...)
	for i := len(label); i < labelWidth; i++ {
		b = append(b, ' ')
	}
	return append(b, ": "...)
}

// sub returns a-b, or 0 when counters raced past each other.
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// appendRuntime appends the three "Ruleset …" lines of /stats?runtime and
// /ruleset/gc.
func appendRuntime(b []byte, rt Runtime) []byte {
	b = appendLabel(b, "Ruleset Allocated")
	b = stats.AppendBytes(b, float64(rt.Allocated))
	if rt.MemLimit > 0 {
		b = append(b, " < "...)
		b = stats.AppendBytes(b, float64(rt.MemLimit))
	}
	b = append(b, " ("...)
	b = append(b, stats.FormatSI(float64(rt.Objects))...)
	b = append(b, " objects)\n"...)
	b = appendLabel(b, "Ruleset Threads")
	b = fmt.Appendf(b, "%d (peak %d)\n", rt.ThreadsActive, rt.ThreadsPeak)
	b = appendLabel(b, "Ruleset Events")
	b = append(b, stats.FormatPercentiles(rt.Events)...)
	return append(b, '\n')
}

// appendStats writes the /stats body (api.md §4.1).
func (s *Server) appendStats(ctx context.Context, b []byte, opt statsOptions) []byte {
	if opt.banner {
		b = append(b, "neosocksd "...)
		b = append(b, s.Version...)
		b = append(b, "\n  https://github.com/hexian000/neosocksd\n\n"...)
	}
	now := time.Now()
	cur := s.snapshot()
	var (
		dt        time.Duration
		prev      snapshot
		load      string
		loadKnown bool
	)
	if opt.post {
		cpu, cpuOK := processCPU()
		s.rateMu.Lock()
		st := s.rate
		prevAt := s.start
		if st.valid {
			prevAt, prev = st.at, st.snap
		}
		dt = now.Sub(prevAt)
		if st.valid && st.cpuOK && cpuOK && dt > 0 {
			pct := float64(cpu-st.cpu) / float64(dt) * 100
			load = strconv.FormatFloat(pct, 'f', 3, 64) + "% (last " + stats.FormatDuration(dt) + ")"
			loadKnown = true
		}
		s.rate = rateState{valid: true, at: now, snap: cur, cpu: cpu, cpuOK: cpuOK}
		s.rateMu.Unlock()
	}
	c := s.stats
	rs := s.ruleset()
	if opt.server {
		b = appendLabel(b, "Server Time")
		b = now.AppendFormat(b, "2006-01-02T15:04:05-07:00")
		b = append(b, '\n')
		b = appendLabel(b, "Uptime")
		b = append(b, stats.FormatDuration(now.Sub(s.start))...)
		b = append(b, '\n')
		// relays running (+ proxy connections not relaying yet), peak
		b = appendLabel(b, "Num Sessions")
		b = fmt.Appendf(b, "%d (+%d) peak=%d\n", c.Sessions.Load(), c.HalfOpen.Load(), c.SessionsPeak.Load())
		// refused by the ruleset, half-open timeouts, failed server dials
		b = appendLabel(b, "Num Rejected")
		b = fmt.Appendf(b, "ruleset=%d, timeout=%d, upstream=%d\n", cur.rejectRuleset, cur.rejectTimeout, cur.rejectUpstream)
		// admitted (+ refused by -m/--max-startups), every listener
		b = appendLabel(b, "Conn Accepts")
		b = fmt.Appendf(b, "%d (+%d)\n", cur.serve, sub(cur.accept, cur.serve))
		dnsOK := c.DNSSuccess.Load()
		// dialer lookups that gave an address (+ those that failed)
		b = appendLabel(b, "Name Resolves")
		b = fmt.Appendf(b, "%d (+%d)\n", dnsOK, sub(c.DNSQuery.Load(), dnsOK))
		success := c.Success.Load()
		// relays started (+ parsed proxy requests that were not granted);
		// Rx/Tx: handshake bytes with proxy clients
		b = appendLabel(b, "Requests")
		b = fmt.Appendf(b, "%d (+%d), Rx ", success, sub(cur.request, success))
		b = stats.AppendBytes(b, float64(c.ServerRx.Load()))
		b = append(b, ", Tx "...)
		b = stats.AppendBytes(b, float64(c.ServerTx.Load()))
		b = append(b, '\n')
		apiOK := c.APISuccess.Load()
		// API responses below 400 (+ other parsed API requests); API bytes
		b = appendLabel(b, "API Requests")
		b = fmt.Appendf(b, "%d (+%d), Rx ", apiOK, sub(cur.apiRequest, apiOK))
		b = stats.AppendBytes(b, float64(c.APIServerRx.Load()))
		b = append(b, ", Tx "...)
		b = stats.AppendBytes(b, float64(c.APIServerTx.Load()))
		b = append(b, '\n')
		// handshake bytes with upstream proxies, for every dial
		b = appendLabel(b, "Handshake Dial")
		b = append(b, "Rx "...)
		b = stats.AppendBytes(b, float64(c.ClientRx.Load()))
		b = append(b, ", Tx "...)
		b = stats.AppendBytes(b, float64(c.ClientTx.Load()))
		b = append(b, '\n')
		// relayed payload of granted proxy requests only
		b = appendLabel(b, "Traffic")
		b = append(b, "Up "...)
		b = stats.AppendBytes(b, float64(cur.up))
		b = append(b, ", Down "...)
		b = stats.AppendBytes(b, float64(cur.down))
		b = append(b, '\n')
		// the RPC client's requests and bytes, on its own connections
		b = appendLabel(b, "API Client")
		b = fmt.Appendf(b, "%d reqs, Rx ", c.APIClientRequest.Load())
		b = stats.AppendBytes(b, float64(c.APIClientRx.Load()))
		b = append(b, ", Tx "...)
		b = stats.AppendBytes(b, float64(c.APIClientTx.Load()))
		b = append(b, '\n')
		if opt.runtime && rs != nil {
			b = appendRuntime(b, runtimeOf(rs))
		}
		// successful dials made for proxy requests (not the RPC client's)
		b = appendLabel(b, "Connect Latency")
		b = append(b, stats.FormatPercentiles(c.ConnectLatency.Percentiles())...)
		b = append(b, '\n')
		if opt.post {
			sec := dt.Seconds()
			rate := func(a, b uint64) float64 {
				if sec <= 0 {
					return 0
				}
				return (float64(a) - float64(b)) / sec
			}
			acc := rate(cur.serve, prev.serve)
			refused := rate(cur.accept-min(cur.accept, cur.serve), prev.accept-min(prev.accept, prev.serve))
			b = appendLabel(b, "Accept Rate")
			b = fmt.Appendf(b, "%.1f/s (%+.1f/s)\n", acc, refused)
			b = appendLabel(b, "Request Rate")
			b = fmt.Appendf(b, "%.1f/s (API%+.1f/s)\n", rate(cur.request, prev.request), rate(cur.apiRequest, prev.apiRequest))
			b = appendLabel(b, "Reject Rate")
			b = fmt.Appendf(b, "ruleset=%.1f/s, timeout=%.1f/s, upstream=%.1f/s\n",
				rate(cur.rejectRuleset, prev.rejectRuleset), rate(cur.rejectTimeout, prev.rejectTimeout),
				rate(cur.rejectUpstream, prev.rejectUpstream))
			b = appendLabel(b, "Throughput")
			b = append(b, "Up "...)
			b = stats.AppendBytes(b, rate(cur.up, prev.up))
			b = append(b, "/s, Down "...)
			b = stats.AppendBytes(b, rate(cur.down, prev.down))
			b = append(b, "/s\n"...)
			b = appendLabel(b, "Server Load")
			if loadKnown {
				b = append(b, load...)
			} else {
				b = append(b, "(unknown)"...)
			}
			b = append(b, '\n')
		}
	}
	if opt.post && rs != nil {
		b = append(b, rs.Stats(ctx, dt, opt.q)...)
	}
	return b
}
