package api

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// promFloat formats a float the way C's %g does.
func promFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

type promWriter struct{ b []byte }

func (p *promWriter) family(name, help, typ string) {
	p.b = append(p.b, "# HELP "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, typ...)
	p.b = append(p.b, '\n')
}

func (p *promWriter) sample(name, value string) {
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, value...)
	p.b = append(p.b, '\n')
}

func (p *promWriter) uint(name, help, typ string, v uint64) {
	p.family(name, help, typ)
	p.sample(name, strconv.FormatUint(v, 10))
}

func (p *promWriter) int(name, help, typ string, v int64) {
	p.family(name, help, typ)
	p.sample(name, strconv.FormatInt(v, 10))
}

func (p *promWriter) float(name, help, typ string, v float64) {
	p.family(name, help, typ)
	p.sample(name, promFloat(v))
}

// exact writes a float with all its digits, as Prometheus clients do for
// the process_* families (a start time needs more than 6 digits).
func (p *promWriter) exact(name, help, typ string, v float64) {
	p.family(name, help, typ)
	p.sample(name, strconv.FormatFloat(v, 'g', -1, 64))
}

// escapeLabel escapes a Prometheus label value.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// appendMetrics writes the /metrics body (api.md §5), the standard
// process_* families and neosocksd_build_info, then the ruleset's own
// metrics. Each neosocksd_* family is the stats.Counters field it reads,
// whose comment says what it counts; the help texts are the original's.
// The body passes promtool check metrics. Where it parts from the
// original's, it is to follow Prometheus's conventions:
//   - The process CPU time is exported once, under the original's name
//     neosocksd_process_cpu_seconds_total; the standard
//     process_cpu_seconds_total would repeat it.
//   - The connect latency summary has a _sum, and its _count counts every
//     successful dial since the start rather than the window of recent
//     ones the quantiles come from: Prometheus derives rates and averages
//     from the two.
//   - The neosocksd_lua_* gauges are exported only when the ruleset runs
//     Lua (Runtime.VM); the original always has a VM and exports them as
//     0 without a ruleset.
func (s *Server) appendMetrics(ctx context.Context, b []byte) []byte {
	c := s.stats
	p := &promWriter{b: b}
	const n = "neosocksd_"
	p.int(n+"sessions_active", "Number of active proxy sessions.", "gauge", c.Sessions.Load())
	p.int(n+"sessions_peak", "Peak concurrent proxy sessions since start.", "gauge", c.SessionsPeak.Load())
	p.int(n+"halfopen_connections", "Connections in handshake/ruleset/dial phase.", "gauge", c.HalfOpen.Load())
	p.float(n+"uptime_seconds", "Seconds since server start.", "gauge", time.Since(s.start).Seconds())
	cpu, cpuOK := processCPU()
	if cpuOK {
		p.float(n+"process_cpu_seconds_total", "Total CPU time consumed by the process.", "counter", cpu.Seconds())
	}
	p.uint(n+"connections_accepted_total", "Connections accepted by the listener.", "counter", c.Accept.Load())
	p.uint(n+"connections_served_total", "Connections upgraded to proxy sessions.", "counter", c.Serve.Load())
	p.uint(n+"requests_total", "Total proxy requests processed.", "counter", c.Request.Load())
	p.uint(n+"requests_success_total", "Proxy requests completed successfully.", "counter", c.Success.Load())
	p.uint(n+"rejects_ruleset_total", "Connections rejected by the ruleset.", "counter", c.RejectRuleset.Load())
	p.uint(n+"rejects_timeout_total", "Connections timed out before becoming active.", "counter", c.RejectTimeout.Load())
	p.uint(n+"rejects_upstream_total", "Connections failed during upstream dial.", "counter", c.RejectUpstream.Load())
	p.uint(n+"dns_queries_total", "DNS queries issued.", "counter", c.DNSQuery.Load())
	p.uint(n+"dns_success_total", "DNS queries resolved successfully.", "counter", c.DNSSuccess.Load())
	p.uint(n+"api_requests_total", "API requests received.", "counter", c.APIRequest.Load())
	p.uint(n+"api_requests_success_total", "API requests completed successfully.", "counter", c.APISuccess.Load())
	p.uint(n+"uplink_bytes_total", "Total bytes of proxied payload sent to upstream.", "counter", c.BytesUp.Load())
	p.uint(n+"downlink_bytes_total", "Total bytes of proxied payload received from upstream.", "counter", c.BytesDown.Load())
	pb := n + "protocol_bytes_total"
	p.family(pb, "Total bytes of protocol overhead, by direction and module.", "counter")
	proto := func(dir, module string, v uint64) {
		p.sample(pb+`{direction="`+dir+`",module="`+module+`"}`, strconv.FormatUint(v, 10))
	}
	// api_server: the API server's bytes; proxy_server: handshakes with
	// proxy clients; proxy_client: handshakes with upstream proxies of any
	// dial; api_client (after its own family): the RPC client's bytes
	proto("rx", "api_server", c.APIServerRx.Load())
	proto("tx", "api_server", c.APIServerTx.Load())
	proto("rx", "proxy_server", c.ServerRx.Load())
	proto("tx", "proxy_server", c.ServerTx.Load())
	proto("rx", "proxy_client", c.ClientRx.Load())
	proto("tx", "proxy_client", c.ClientTx.Load())
	p.uint(n+"api_client_requests_total", "API client requests issued by the ruleset.", "counter", c.APIClientRequest.Load())
	proto("rx", "api_client", c.APIClientRx.Load())
	proto("tx", "api_client", c.APIClientTx.Load())
	// successful dials of proxy requests; written once there is one
	if lat := c.ConnectLatency.Percentiles(); lat.N > 0 {
		cl := n + "connect_latency_seconds"
		p.family(cl, "Connection establishment latency.", "summary")
		p.sample(cl+`{quantile="0.5"}`, promFloat(lat.P50.Seconds()))
		p.sample(cl+`{quantile="0.9"}`, promFloat(lat.P90.Seconds()))
		p.sample(cl+`{quantile="0.99"}`, promFloat(lat.P99.Seconds()))
		p.sample(cl+"_sum", promFloat(lat.Sum.Seconds()))
		p.sample(cl+"_count", strconv.FormatUint(lat.Count, 10))
	}
	rs := s.ruleset()
	if rs != nil {
		if rt := runtimeOf(rs); rt.VM {
			p.uint(n+"lua_memory_bytes", "Bytes allocated by the Lua VM.", "gauge", rt.Allocated)
			p.uint(n+"lua_objects", "Number of live Lua objects.", "gauge", rt.Objects)
			p.int(n+"lua_threads_active", "Lua coroutines currently dispatched.", "gauge", rt.ThreadsActive)
			p.int(n+"lua_threads_peak", "Peak concurrent dispatched Lua coroutines since start.", "gauge", rt.ThreadsPeak)
		}
	}

	if ps, ok := readProcStats(); ok {
		p.uint("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", ps.rss)
		p.uint("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", ps.vsize)
		if ps.startTime > 0 {
			p.exact("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", ps.startTime)
		}
	}
	if fds, ok := openFDs(); ok {
		p.uint("process_open_fds", "Number of open file descriptors.", "gauge", fds)
	}
	if maxFDs, ok := maxFDs(); ok {
		p.uint("process_max_fds", "Maximum number of open file descriptors.", "gauge", maxFDs)
	}
	p.family(n+"build_info", "Build information.", "gauge")
	p.sample(n+`build_info{version="`+escapeLabel(s.Version)+`",goversion="`+escapeLabel(runtime.Version())+`"}`, "1")
	if rs != nil {
		p.b = append(p.b, rs.Metrics(ctx)...)
	}
	return p.b
}
