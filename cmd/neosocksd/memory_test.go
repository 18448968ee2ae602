//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
	"golang.org/x/net/proxy"
)

// procRSS returns a process's resident set size (VmRSS) in bytes.
func procRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS: %q", line)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// openTunnels opens n SOCKS5 tunnels to target through the daemon, each
// checked with one echo, and returns them open.
func openTunnels(tb testing.TB, proxyAddr, target string, n int) []net.Conn {
	tb.Helper()
	dialer, err := proxy.SOCKS5("tcp", proxyAddr, nil, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	conns := make([]net.Conn, 0, n)
	buf := make([]byte, 1)
	for range n {
		c, err := dialer.Dial("tcp", target)
		if err != nil {
			tb.Fatalf("tunnel %d: %v", len(conns), err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte{'x'}); err != nil {
			tb.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			tb.Fatal(err)
		}
		c.SetDeadline(time.Time{})
		conns = append(conns, c)
	}
	return conns
}

// tunnelRSS starts a daemon, opens n SOCKS5 tunnels through it and
// returns the growth of its VmRSS per tunnel, the tunnels idle.
func tunnelRSS(tb testing.TB, target string, n int) float64 {
	d := startDaemon(tb, 1, "-l", "127.0.0.1:0")
	defer func() {
		d.cmd.Process.Kill()
		d.done <- <-d.done // the cleanup waits for it too
	}()
	pid := d.cmd.Process.Pid
	for _, c := range openTunnels(tb, d.addrs[0], target, 10) {
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	before := procRSS(tb, pid)
	conns := openTunnels(tb, d.addrs[0], target, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond) // let the relays settle idle
	return float64(procRSS(tb, pid)-before) / float64(n)
}

// BenchmarkDaemonIdleTunnelRSS reports the daemon's resident memory per
// idle SOCKS5 tunnel: the growth of its VmRSS with 2000 tunnels open,
// divided by 2000.
func BenchmarkDaemonIdleTunnelRSS(b *testing.B) {
	target := testkit.EchoServer(b)
	var sum float64
	for range b.N {
		sum += tunnelRSS(b, target, 2000)
	}
	b.ReportMetric(sum/float64(b.N), "B/tunnel-rss")
}

// TestDaemonIdleTunnelMemory holds an idle tunnel to 10 KiB of the
// daemon's resident memory (12.2 KiB when each of its two relay
// goroutines grew to a 4 KiB stack).
func TestDaemonIdleTunnelMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 tunnels")
	}
	per := tunnelRSS(t, testkit.EchoServer(t), 2000)
	t.Logf("daemon RSS per idle tunnel: %.0f B", per)
	if per > 10<<10 {
		t.Fatalf("%.0f B of RSS per idle tunnel, over 10 KiB", per)
	}
}

// TestDaemonReleasesMemoryAfterPeak opens 2000 tunnels, closes them, and
// checks that the daemon's resident size comes back to within twice what
// it was before the load, within 60 s (the Go runtime alone keeps the peak
// for minutes when nothing allocates after it).
func TestDaemonReleasesMemoryAfterPeak(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 tunnels and may wait up to a minute")
	}
	const n = 2000
	// On the goroutine path: the event loop's tunnels hardly grow the
	// heap (under 1 KiB each), so there would be no peak to release.
	t.Setenv(eventLoopEnv, "0")
	target := testkit.EchoServer(t)
	d := startDaemon(t, 1, "-l", "127.0.0.1:0")
	pid := d.cmd.Process.Pid
	for _, c := range openTunnels(t, d.addrs[0], target, 10) {
		c.Close()
	}
	before := procRSS(t, pid)
	conns := openTunnels(t, d.addrs[0], target, n)
	peak := procRSS(t, pid)
	if grown := peak - before; grown < n*4<<10 {
		// Two relay goroutines per tunnel on the goroutine path: at least
		// 4 KiB of stacks. Less means the load never reached that path.
		t.Fatalf("%d tunnels grew the daemon by %d KiB only: not the goroutine path (%s=0)", n, grown>>10, eventLoopEnv)
	}
	for _, c := range conns {
		c.Close()
	}
	closed := time.Now()
	rss := peak
	for i := 0; rss > 2*before; i++ { // bounded: 60 s
		if i == 600 {
			t.Fatalf("RSS %d KiB 60 s after the peak (%d KiB), over twice the %d KiB before it", rss>>10, peak>>10, before>>10)
		}
		time.Sleep(100 * time.Millisecond)
		rss = procRSS(t, pid)
	}
	t.Logf("RSS before %d KiB, peak with %d tunnels %d KiB, %d KiB %v after they closed",
		before>>10, n, peak>>10, rss>>10, time.Since(closed).Round(10*time.Millisecond))
}

// BenchmarkDaemonParkedRequestRSS reports the daemon's resident memory
// per SOCKS5 request whose ruleset callback is parked in await.sleep:
// the connection (its goroutine blocked in the routing call, its socket)
// and the Lua routine together.
func BenchmarkDaemonParkedRequestRSS(b *testing.B) {
	const n = 2000
	path := filepath.Join(b.TempDir(), "sleep.lua")
	ruleset := `_G.parked = 0
local ruleset = {}
function ruleset.resolve(addr)
	_G.parked = _G.parked + 1
	await.sleep(3600)
	return addr
end
return ruleset
`
	if err := os.WriteFile(path, []byte(ruleset), 0o600); err != nil {
		b.Fatal(err)
	}
	var sum float64
	for range b.N {
		d := startDaemon(b, 2, "-l", "127.0.0.1:0", "-r", path, "--api", "127.0.0.1:0", "-t", "3600")
		pid := d.cmd.Process.Pid
		before := procRSS(b, pid)
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.DialTimeout("tcp", d.addrs[0], 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			// A SOCKS5 greeting and a CONNECT to a name: the request
			// reaches ruleset.resolve and parks there.
			c.Write([]byte{5, 1, 0, 5, 1, 0, 3, 11, 'p', 'a', 'r', 'k', '.', 'e', 'x', 'a', 'm', 'p', 'l', 0, 80})
			conns = append(conns, c)
		}
		// Wait until every request is parked (bounded: 20 s).
		for i := 0; ; i++ {
			resp, err := http.Post("http://"+d.addrs[1]+"/ruleset/rpcall", "application/x-neosocksd-rpc; version=1", strings.NewReader("return _G.parked"))
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), fmt.Sprint(n)) {
				break
			}
			if i == 200 {
				b.Fatalf("not all requests parked: %q", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sum += float64(procRSS(b, pid)-before) / n
		for _, c := range conns {
			c.Close()
		}
		d.cmd.Process.Kill()
		d.done <- <-d.done
	}
	b.ReportMetric(sum/float64(b.N), "B/parked-rss")
}
