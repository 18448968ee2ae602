package server

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// testConfig is a SOCKS listener on an ephemeral loopback port.
func testConfig() *config.Config {
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.Timeout = 10
	return &c
}

// testServer is a running server and what a test needs from it.
type testServer struct {
	*Server
	addr  string // the -l listener
	stats *stats.Counters
}

// startServer builds, binds and runs a server; cleanup shuts it down
// and checks that every goroutine it started has ended.
func startServer(t testing.TB, conf *config.Config, r route.Router, d Dialer) *testServer {
	t.Helper()
	return startServerWith(t, Options{Config: conf, Router: r, Dialer: d})
}

// startServerWith is startServer with every option; a nil Dialer is a
// dialer through the configuration's -x chain, and Stats is always a fresh
// set.
func startServerWith(t testing.TB, o Options) *testServer {
	t.Helper()
	st := new(stats.Counters)
	if o.Dialer == nil {
		proxies, err := addr.ParseProxyList(o.Config.Proxy)
		if err != nil {
			t.Fatal(err)
		}
		o.Dialer = dial.New(dial.Options{Proxies: proxies, TCPNoDelay: true, Stats: st})
	}
	o.Stats = st
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	ts := &testServer{Server: s, stats: st}
	if a, _ := s.Addrs(); a != nil {
		ts.addr = a.String()
	}
	return ts
}

// echoServer accepts connections and echoes each until EOF, then
// half-closes. It returns its address.
func echoServer(t testing.TB) string {
	t.Helper()
	return testkit.Serve(t, func(c net.Conn) {
		// A user-space copy: io.Copy(c, c) would splice and keep
		// a pipe, which TestIdleTunnelHoldsNoPipe would count.
		bp := bufPool.Get().(*[]byte)
		_, _ = io.CopyBuffer(hiddenWriter{c}, hiddenReader{c}, *bp)
		bufPool.Put(bp)
		_ = c.(*net.TCPConn).CloseWrite()
	})
}

// noDeadline clears a deadline.
var noDeadline time.Time

// dialProxy connects to the proxy with a deadline on the connection.
func dialProxy(t testing.TB, a string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", a, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// mustWrite writes b or fails the test.
func mustWrite(t testing.TB, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readN reads exactly n bytes.
func readN(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v (got % x)", n, err, b)
	}
	return b
}

// expectClosed checks that the peer closes without sending anything more.
func expectClosed(t testing.TB, c net.Conn) {
	t.Helper()
	b, err := io.ReadAll(c)
	if len(b) > 0 || err != nil && !isReset(err) {
		t.Fatalf("expected close, got % x, %v", b, err)
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// echoRoundTrip checks that c is a tunnel to an echo server.
func echoRoundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	mustWrite(t, c, []byte(msg))
	if got := readN(t, c, len(msg)); string(got) != msg {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// goroutineCheck records the goroutine count and, when the test and all
// its cleanups registered later are done, waits (bounded) for the count to
// come back down.
func goroutineCheck(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// fakeDialer answers every dial with err, or dials directly when err is
// nil, and records the last request.
type fakeDialer struct {
	mu     sync.Mutex
	err    error
	target addr.Addr
	hops   route.Chain
}

func (f *fakeDialer) Dial(ctx context.Context, target addr.Addr, hops route.Chain) (net.Conn, error) {
	f.mu.Lock()
	f.target, f.hops = target, hops
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target.String())
}

// withLoop sets whether the event loop serves the connections of the
// servers a test starts (where the system has it) and restores the
// default when the test ends.
func withLoop(t testing.TB, on bool) {
	t.Helper()
	was := loopEnabled
	loopEnabled = on && loopSupported
	t.Cleanup(func() { loopEnabled = was })
}

// bothPaths runs f as two subtests: with the event loop serving what it
// can ("loop", only where the system has it) and with every connection
// on the goroutine path ("goroutines").
func bothPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if loopSupported {
		t.Run("loop", func(t *testing.T) {
			withLoop(t, true)
			f(t)
		})
	}
	t.Run("goroutines", func(t *testing.T) {
		withLoop(t, false)
		f(t)
	})
}
