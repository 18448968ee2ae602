package load

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/procfs"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// bulkBufSize is the size of the bulk phase's reads and writes.
const bulkBufSize = 128 << 10

// bulk measures throughput through n tunnels in one direction: down (the
// sink writes, the client reads) or up (the client writes, the sink
// discards). Metrics bulk_{up,down}_N in MB/s (10^6 B/s), and with a PID
// the proxy's cpu_pct and cpu_per_GB during it.
func (s *Suite) bulk(ctx context.Context, c *Client, n int, down bool) {
	name := fmt.Sprintf("bulk_up_%d", n)
	mode := byte(sink.ModeUpload)
	if down {
		name = fmt.Sprintf("bulk_down_%d", n)
		mode = sink.ModeDownload
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, cc := range conns {
			cc.Close()
		}
	}()
	for i := range n {
		cc, _, err := c.Open(i)
		if err == nil {
			conns = append(conns, cc)
			_, err = cc.Write([]byte{mode})
		}
		if err != nil {
			s.logf("%s: %v", name, err)
			s.emit(name, math.NaN(), "MB/s")
			return
		}
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, cc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, bulkBufSize)
			for { // until the close below
				var k int
				var err error
				if down {
					k, err = cc.Read(buf)
				} else {
					k, err = cc.Write(buf)
				}
				total.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
	}
	sleep(ctx, s.BulkWarmup)
	b0, t0, cpu0 := total.Load(), time.Now(), s.proxyCPU()
	sleep(ctx, s.BulkDur)
	b1, t1, cpu1 := total.Load(), time.Now(), s.proxyCPU()
	for _, cc := range conns {
		cc.Close()
	}
	wg.Wait()
	secs := t1.Sub(t0).Seconds()
	bytes := float64(b1 - b0)
	s.emit(name, bytes/secs/1e6, "MB/s")
	if s.PID > 0 {
		s.emit("cpu_pct."+name, (cpu1-cpu0)/secs*100, "%")
		if bytes > 0 {
			s.emit("cpu_per_GB."+name, (cpu1-cpu0)/(bytes/1e9), "s/GB")
		}
	}
}

// cycleResult is what a run of set-up cycles measured.
type cycleResult struct {
	ok, errs int64
	hs       []float64 // handshake latencies in µs, ascending
	elapsed  time.Duration
	firstErr error
	cpu      float64 // proxy CPU seconds over the measured part
}

// echoPayload is the 31 bytes each set-up cycle echoes.
const echoPayload = "nsbench-echo-payload-0123456789"

// cycle runs set-up cycles with conc workers for warmup+dur: connect,
// handshake, CONNECT, a 31-byte echo through the sink, close. Cycles that
// end before the warmup is over are not counted, and each worker goes on
// past the end until it has counted one. The window is therefore never
// empty: when set-ups are slower than the whole window, or the machine
// stops the client for longer than it (a busy test machine does), the
// window stretches to the end of the last counted cycle instead of leaving
// the phase without a figure. The proxy's CPU time is read when the
// warmup ends and when the last worker is done, the same interval the
// rate is taken over.
func (s *Suite) cycle(ctx context.Context, c *Client, conc int, warmup, dur time.Duration, serverClose bool) cycleResult {
	payload := []byte(echoPayload)
	measureFrom := time.Now().Add(warmup)
	end := measureFrom.Add(dur)
	var ok, errs atomic.Int64
	var mu sync.Mutex
	var all []float64
	var firstErr error
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, 1024)
			counted := false
			for k := 0; ctx.Err() == nil; k++ {
				if counted && !time.Now().Before(end) {
					break
				}
				conn, hs, err := c.Open(w + k*conc)
				if err == nil {
					if serverClose {
						err = EchoOneShot(conn, payload, c.timeout)
					} else {
						err = Echo(conn, payload, c.timeout)
					}
					conn.Close()
				}
				if time.Now().Before(measureFrom) {
					continue
				}
				counted = true
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					// a refusing proxy must not turn this into a busy loop
					time.Sleep(time.Millisecond)
					continue
				}
				ok.Add(1)
				local = append(local, float64(hs)/float64(time.Microsecond))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	sleep(ctx, time.Until(measureFrom))
	cpuStart := s.proxyCPU()
	wg.Wait()
	cpuEnd := s.proxyCPU()
	slices.Sort(all)
	return cycleResult{ok: ok.Load(), errs: errs.Load(), hs: all, elapsed: time.Since(measureFrom),
		firstErr: firstErr, cpu: cpuEnd - cpuStart}
}

// setup measures set-ups per second under load. Metrics setup_rate.P,
// setup_p50.P, setup_p90.P, setup_p99.P and setup_p999.P (handshake
// latency, µs; p90 and p99.9 give the tail's shape, which p99 alone does
// not), cpu_per_conn.P (proxy CPU µs per set-up) and errors_setup.P, with
// P prefixed by "sc_" when the server closes first.
func (s *Suite) setup(ctx context.Context, c *Client, serverClose bool) {
	r := s.cycle(ctx, c, s.SetupConc, s.SetupWarmup, s.SetupDur, serverClose)
	p := string(c.proto)
	if serverClose {
		p = "sc_" + p
	}
	if r.firstErr != nil {
		s.logf("setup %s: %d errors, first: %v", p, r.errs, r.firstErr)
	}
	if r.ok == 0 {
		s.emit("setup_rate."+p, math.NaN(), "conn/s")
		s.emit("errors_setup."+p, float64(r.errs), "count")
		return
	}
	s.emit("setup_rate."+p, float64(r.ok)/r.elapsed.Seconds(), "conn/s")
	s.emit("setup_p50."+p, agg.Percentile(r.hs, 50), "us")
	s.emit("setup_p90."+p, agg.Percentile(r.hs, 90), "us")
	s.emit("setup_p99."+p, agg.Percentile(r.hs, 99), "us")
	s.emit("setup_p999."+p, agg.Percentile(r.hs, 99.9), "us")
	if s.PID > 0 {
		s.emit("cpu_per_conn."+p, r.cpu/float64(r.ok)*1e6, "us")
	}
	s.emit("errors_setup."+p, float64(r.errs), "count")
}

// lat measures the handshake latency with one client and one tunnel at a
// time. Metrics hs_p50.P and hs_p99.P, µs.
func (s *Suite) lat(ctx context.Context, c *Client) {
	r := s.cycle(ctx, c, 1, s.LatWarmup, s.LatDur, false)
	if r.firstErr != nil {
		s.logf("lat %s: %d errors, first: %v", c.proto, r.errs, r.firstErr)
	}
	s.emit("hs_p50."+string(c.proto), agg.Percentile(r.hs, 50), "us")
	s.emit("hs_p99."+string(c.proto), agg.Percentile(r.hs, 99), "us")
}

// idle opens IdleTunnels verified tunnels, holds them and reads the
// proxy's memory, threads and descriptors while they are open. Metrics
// idle_tunnels, idle_open_rate and, with a PID, rss_base, rss_idle,
// hwm_idle (KiB), rss_per_tunnel (B), threads_idle, fds_idle and
// fds_per_tunnel.
func (s *Suite) idle(ctx context.Context, c *Client) {
	pid := s.PID
	var base procfs.Status
	baseFDs := 0
	if pid > 0 {
		var err error
		baseFDs = procfs.FDCount(pid)
		if base, err = procfs.ReadStatus(pid); err != nil {
			s.logf("idle: %v", err)
			pid = 0
		}
	}
	k := s.IdleTunnels
	conns := make([]net.Conn, k)
	defer func() {
		for _, cc := range conns {
			if cc != nil {
				cc.Close()
			}
		}
	}()
	const maxErrors = 100 // a proxy that refuses tunnels ends the phase
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	payload := []byte("idle-ping")
	t0 := time.Now()
	for range s.IdleConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && errs.Load() <= maxErrors {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				conn, _, err := c.Open(i)
				if err == nil {
					if err = Echo(conn, payload, c.timeout); err != nil {
						conn.Close()
					}
				}
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err)
					}
					continue
				}
				conns[i] = conn
			}
		}()
	}
	wg.Wait()
	openDur := time.Since(t0)
	n := 0
	for _, cc := range conns {
		if cc != nil {
			n++
		}
	}
	if e := firstErr.Load(); e != nil {
		s.logf("idle: %d errors while opening %d tunnels, first: %v", errs.Load(), k, e)
	}
	s.emit("idle_tunnels", float64(n), "count")
	s.emit("idle_open_rate", float64(n)/openDur.Seconds(), "conn/s")
	if pid <= 0 {
		return
	}
	sleep(ctx, s.Settle)
	st, err := procfs.ReadStatus(pid)
	if err != nil {
		s.logf("idle: %v", err)
		return
	}
	s.emit("rss_base", float64(base.RSS), "KiB")
	s.emit("rss_idle", float64(st.RSS), "KiB")
	s.emit("hwm_idle", float64(st.HWM), "KiB")
	if n > 0 {
		s.emit("rss_per_tunnel", float64(st.RSS-base.RSS)*1024/float64(n), "B")
	}
	s.emit("threads_idle", float64(st.Threads), "count")
	fds := procfs.FDCount(pid)
	s.emit("fds_idle", float64(fds), "count")
	if n > 0 {
		s.emit("fds_per_tunnel", float64(fds-baseFDs)/float64(n), "count")
	}
}
