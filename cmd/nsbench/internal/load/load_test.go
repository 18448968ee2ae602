package load

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/server"
)

// startSink runs a sink on one port of both 127.0.0.1 and ::1 (when this
// machine has IPv6 loopback), as the harness does, so that "localhost"
// reaches it whichever address a resolver gives first.
func startSink(t *testing.T) uint16 { return startSinkTB(t) }

func startSinkTB(t testing.TB) uint16 {
	t.Helper()
	var lns []net.Listener
	for try := 0; try < 20 && lns == nil; try++ {
		v4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = []net.Listener{v4}
		port := v4.Addr().(*net.TCPAddr).Port
		v6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		switch {
		case err == nil:
			lns = append(lns, v6)
		case strings.Contains(err.Error(), "address already in use"):
			v4.Close()
			lns = nil // that port is taken on ::1: try another
		}
	}
	if lns == nil {
		t.Fatal("no port free on both 127.0.0.1 and ::1")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sink.Serve(ctx, lns); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return uint16(lns[0].Addr().(*net.TCPAddr).Port)
}

// startDaemon runs this repository's proxy server in-process with a SOCKS
// and an HTTP listener on loopback and the given router (nil: no ruleset).
func startDaemon(t *testing.T, r route.Router) (socksAddr, httpAddr string) {
	return startDaemonTB(t, r)
}

func startDaemonTB(t testing.TB, r route.Router) (socksAddr, httpAddr string) {
	t.Helper()
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.HTTPListen = "127.0.0.1:0"
	c.Timeout = 10
	s, err := server.New(server.Options{Config: &c, Router: r, Dialer: dial.New(dial.Options{TCPNoDelay: true})})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	p, h := s.Addrs()
	return p.String(), h.String()
}

func newClient(t *testing.T, p Proto, socksAddr, httpAddr string, ports ...uint16) *Client {
	return newClientTB(t, p, socksAddr, httpAddr, ports...)
}

func newClientTB(t testing.TB, p Proto, socksAddr, httpAddr string, ports ...uint16) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{
		Proto: p, Proxy: socksAddr, HTTPProxy: httpAddr,
		Target:    Target{IP: netip.MustParseAddr("127.0.0.1"), Host: "localhost", Ports: ports},
		SourceIPs: 4, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every protocol opens a verified tunnel through the real server to the
// sink, in both of the sink's echo modes.
func TestProtocolsAgainstServer(t *testing.T) {
	port := startSink(t)
	socksAddr, httpAddr := startDaemon(t, nil)
	for _, p := range Protos {
		t.Run(string(p), func(t *testing.T) {
			proxy := socksAddr
			if p == Raw { // no proxy: the client talks to the sink
				proxy = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
			}
			c := newClient(t, p, proxy, httpAddr, port)
			if err := c.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			conn, hs, err := c.Open(1)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if hs <= 0 {
				t.Errorf("handshake latency %v", hs)
			}
			if err := EchoOneShot(conn, []byte("one shot"), 5*time.Second); err != nil {
				t.Fatalf("one-shot echo: %v", err)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if rest, err := io.ReadAll(conn); err != nil || len(rest) != 0 {
				t.Errorf("after the one-shot echo: %q, %v; want EOF (the sink closes first)", rest, err)
			}
		})
	}
}

// A refusal is an error that says what the proxy answered.
func TestRefusalReported(t *testing.T) {
	port := startSink(t)
	reject := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
		return route.Decision{Verdict: route.Reject}, nil
	})
	socksAddr, httpAddr := startDaemon(t, reject)
	tests := []struct {
		proto Proto
		want  string
	}{
		{proto: SOCKS5IP, want: "reply code 1"}, // general failure, not 2: protocols §4
		{proto: SOCKS4A, want: "reply code 0x5b"},
		{proto: HTTP, want: `status "HTTP/1.1 403`},
	}
	for _, tc := range tests {
		t.Run(string(tc.proto), func(t *testing.T) {
			c := newClient(t, tc.proto, socksAddr, httpAddr, port)
			conn, _, err := c.Open(0)
			if err == nil {
				conn.Close()
				t.Fatal("Open succeeded through a rejecting router")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// step is one exchange of a scripted proxy: read n bytes, then write reply.
type step struct {
	n     int
	reply string
}

// scriptedProxy plays steps on its first connection, then echoes.
func scriptedProxy(t *testing.T, steps ...step) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for _, st := range steps {
			if _, err := io.ReadFull(c, make([]byte, st.n)); err != nil {
				return
			}
			io.WriteString(c, st.reply)
		}
		io.Copy(c, c)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// Replies the daemon does not send but a proxy may: a SOCKS5 bound
// address given as a name, and an HTTP response with header lines whose
// tunnel bytes arrive in the same segment.
func TestReplyShapes(t *testing.T) {
	greeting := step{n: 3, reply: "\x05\x00"}
	connectIP := 4 + 4 + 2
	tests := []struct {
		name  string
		proto Proto
		steps []step
		first string // what the tunnel yields first
	}{
		{name: "socks5 bound name", proto: SOCKS5IP,
			steps: []step{greeting, {n: connectIP, reply: "\x05\x00\x00\x03\x04sink\x4a\x38" + "early"}}, first: "early"},
		{name: "socks5 bound ipv6", proto: SOCKS5IP,
			steps: []step{greeting, {n: connectIP, reply: "\x05\x00\x00\x04" + strings.Repeat("\x00", 15) + "\x01\x4a\x38"}}},
		{name: "http headers and early data", proto: HTTPIP,
			steps: []step{{n: len("CONNECT 127.0.0.1:19000 HTTP/1.1\r\nHost: 127.0.0.1:19000\r\n\r\n"),
				reply: "HTTP/1.0 200 Connection established\r\nProxy-Agent: x\r\nVia: y\r\n\r\nearly"}}, first: "early"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := scriptedProxy(t, tc.steps...)
			c := newClient(t, tc.proto, addr, "", 19000)
			conn, _, err := c.Open(0)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(conn, "!")
			got := make([]byte, len(tc.first)+1)
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != tc.first+"!" {
				t.Errorf("tunnel yields %q, %v; want %q", got, err, tc.first+"!")
			}
		})
	}
}

func TestNewClientRefuses(t *testing.T) {
	good := ClientConfig{Proto: SOCKS5IP, Proxy: "127.0.0.1:1080",
		Target: Target{IP: netip.MustParseAddr("127.0.0.1"), Host: "localhost", Ports: []uint16{19000}}}
	tests := []struct {
		name   string
		mutate func(*ClientConfig)
	}{
		{name: "proxy off loopback", mutate: func(c *ClientConfig) { c.Proxy = "192.0.2.1:1080" }},
		{name: "http proxy off loopback", mutate: func(c *ClientConfig) { c.HTTPProxy = "[2001:db8::1]:3128" }},
		{name: "target off loopback", mutate: func(c *ClientConfig) { c.Target.IP = netip.MustParseAddr("198.51.100.1") }},
		{name: "ipv6 target literal", mutate: func(c *ClientConfig) { c.Target.IP = netip.MustParseAddr("::1") }},
		{name: "no ports", mutate: func(c *ClientConfig) { c.Target.Ports = nil }},
		{name: "host with a space", mutate: func(c *ClientConfig) { c.Target.Host = "local host" }},
		{name: "unknown protocol", mutate: func(c *ClientConfig) { c.Proto = "socks6" }},
	}
	if _, err := NewClient(good); err != nil {
		t.Fatalf("the good configuration: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			if _, err := NewClient(c); err == nil {
				t.Fatal("NewClient accepted it")
			}
		})
	}
}

// A tiny suite against the in-process server: every phase reports its
// metrics, the idle phase holds exactly the tunnels asked for, and no
// set-up fails. This process stands in for the proxy's PID.
func TestSuiteSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every phase")
	}
	port := startSink(t)
	socksAddr, httpAddr := startDaemon(t, nil)
	s := Defaults()
	var out strings.Builder
	s.Out = &out
	s.Logf = t.Logf
	s.PID = os.Getpid()
	s.IdleTunnels, s.IdleConc, s.Settle = 20, 4, 0
	s.BulkWarmup, s.BulkDur, s.BulkPar = 20*time.Millisecond, 100*time.Millisecond, 2
	s.SetupWarmup, s.SetupDur, s.SetupConc = 20*time.Millisecond, 100*time.Millisecond, 4
	s.LatWarmup, s.LatDur = 10*time.Millisecond, 50*time.Millisecond
	s.Clients = []*Client{newClient(t, SOCKS5IP, socksAddr, httpAddr, port), newClient(t, HTTP, socksAddr, httpAddr, port)}
	if err := s.Run(context.Background(), Phases); err != nil {
		t.Fatal(err)
	}
	got := metricsOf(out.String())
	for _, m := range []string{
		"idle_open_rate", "rss_idle", "hwm_idle", "fds_per_tunnel", "threads_idle",
		"bulk_up_1", "bulk_down_1", "bulk_down_2", "cpu_per_GB.bulk_down_2",
		"setup_rate.socks5_ip", "setup_p99.socks5_ip", "cpu_per_conn.socks5_ip",
		"setup_p90.socks5_ip", "setup_p999.sc_http",
		"setup_rate.sc_http", "hs_p50.http", "hs_p99.socks5_ip", "hwm_end",
	} {
		if v, ok := got[m]; !ok || !(v >= 0) {
			t.Errorf("%s = %v (reported %v); want a number", m, v, ok)
		}
	}
	if got["idle_tunnels"] != 20 {
		t.Errorf("idle_tunnels = %v, want 20", got["idle_tunnels"])
	}
	for _, m := range []string{"errors_setup.socks5_ip", "errors_setup.sc_socks5_ip", "errors_setup.http", "errors_setup.sc_http"} {
		if v, ok := got[m]; !ok || v != 0 {
			t.Errorf("%s = %v (reported %v), want 0", m, v, ok)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}

// metricsOf returns the metric lines of a suite's output by name.
func metricsOf(out string) map[string]float64 {
	got := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m, v, _, ok := agg.ParseMetric(sc.Text()); ok {
			got[m] = v
		}
	}
	return got
}

// The set-up and latency phases report their figures when no set-up fits
// in the measured window: a window of no time at all (which a machine that
// stops the client for longer than the window amounts to), and set-ups
// slower than the whole window. Each worker counts at least one cycle,
// and the proxy's CPU is read over the window even when no cycle starts
// inside it.
func TestSuiteWindowShorterThanASetup(t *testing.T) {
	// slowRouter answers each request after longer than the windows below
	const routeDelay = 60 * time.Millisecond
	slowRouter := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
		select {
		case <-time.After(routeDelay):
		case <-ctx.Done():
			return route.Decision{}, ctx.Err()
		}
		return route.Direct(req.Addr), nil
	})
	tests := []struct {
		name           string
		router         route.Router
		warmup, window time.Duration
	}{
		{name: "no window", warmup: 0, window: 0},
		{name: "set-ups slower than the window", router: slowRouter, warmup: 10 * time.Millisecond, window: 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := startSink(t)
			socksAddr, httpAddr := startDaemon(t, tc.router)
			s := Defaults()
			var out strings.Builder
			s.Out = &out
			s.Logf = t.Logf
			s.PID = os.Getpid()
			s.SetupWarmup, s.SetupDur, s.SetupConc, s.Close = tc.warmup, tc.window, 2, CloseBoth
			s.LatWarmup, s.LatDur = tc.warmup, tc.window
			s.Clients = []*Client{newClient(t, SOCKS5IP, socksAddr, httpAddr, port)}
			if err := s.Run(context.Background(), []Phase{PhaseSetup, PhaseLat}); err != nil {
				t.Fatal(err)
			}
			got := metricsOf(out.String())
			for _, m := range []string{
				"setup_rate.socks5_ip", "setup_p99.socks5_ip", "cpu_per_conn.socks5_ip",
				"setup_rate.sc_socks5_ip", "cpu_per_conn.sc_socks5_ip",
				"hs_p50.socks5_ip", "hs_p99.socks5_ip",
			} {
				if v, ok := got[m]; !ok || !(v >= 0) {
					t.Errorf("%s = %v (reported %v); want a number", m, v, ok)
				}
			}
			for _, m := range []string{"errors_setup.socks5_ip", "errors_setup.sc_socks5_ip"} {
				if v, ok := got[m]; !ok || v != 0 {
					t.Errorf("%s = %v (reported %v), want 0", m, v, ok)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out.String())
			}
		})
	}
}

// A protocol the proxy does not serve is skipped with a note; when it is
// the first one, there is nothing to measure.
func TestSuiteSkipsBrokenProtocols(t *testing.T) {
	port := startSink(t)
	socksAddr, _ := startDaemon(t, nil)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	var out strings.Builder
	s := Defaults()
	s.Out = &out
	s.Clients = []*Client{newClient(t, SOCKS4, socksAddr, deadAddr, port), newClient(t, HTTP, socksAddr, deadAddr, port)}
	if err := s.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "# skipped http: ") {
		t.Errorf("output %q, want a note that http was skipped", out.String())
	}
	s.Clients = s.Clients[1:]
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run succeeded with a broken primary protocol")
	}
}
