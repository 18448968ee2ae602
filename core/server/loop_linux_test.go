package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/proxy"
	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/splice"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// socks5Echo opens a tunnel to target through the SOCKS5 proxy at p with
// golang.org/x/net/proxy's client and checks one echoed message.
func socks5Echo(p, target string) error {
	d, err := proxy.SOCKS5("tcp", p, nil, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ping"); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "ping" {
		return errors.New("echo mismatch: " + string(buf))
	}
	return nil
}

// TestLoopOwnership switches the SOCKS listener between the event loop and
// the Go accept loop while clients keep connecting: a router set makes the
// goroutine path serve every new connection (the router sees them), and
// clearing it gives the listener back to the loop. No connection may be
// lost or left unaccepted on the way.
func TestLoopOwnership(t *testing.T) {
	withLoop(t, true)
	goroutineCheck(t)
	echo := echoServer(t)
	ts := startServer(t, testConfig(), nil, nil)
	if err := socks5Echo(ts.addr, echo); err != nil {
		t.Fatal(err)
	}
	if got := ts.loopServed.Load(); got != 1 {
		t.Fatalf("the loop served %d connections, want 1", got)
	}
	var routed atomic.Int64
	router := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		routed.Add(1)
		return route.Decision{Verdict: route.Forward, Target: req.Addr}, nil
	})

	var (
		cycles atomic.Int64
		errMu  sync.Mutex
		errs   []error
		checks int64
	)
	// clients keeps two clients connecting until the returned function
	// is called, which waits for them.
	clients := func() func() {
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for i := 0; i < 2000 && !stop.Load(); i++ {
					err := socks5Echo(ts.addr, echo)
					cycles.Add(1)
					if err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
					}
				}
			})
		}
		return func() { stop.Store(true); wg.Wait() }
	}
	waitCycles := func(what string, n int64) {
		from := cycles.Load()
		testkit.WaitFor(t, what, func() bool { return cycles.Load() >= from+n })
	}
	for round := range 4 {
		stop := clients()
		waitCycles("clients through the loop", 20)
		ts.SetRouter(router)
		// Every connection accepted from now on is the router's.
		before := routed.Load()
		if err := socks5Echo(ts.addr, echo); err != nil {
			t.Fatal(err)
		}
		checks++
		if routed.Load() == before {
			t.Fatal("a connection made after SetRouter returned was not routed")
		}
		waitCycles("clients through the goroutine path", 20)
		if round%2 == 1 {
			// Cleared while clients connect; then checked alone below.
			ts.SetRouter(nil)
		}
		stop()
		ts.SetRouter(nil)
		// With no client racing it, the Go accept loop must give the
		// listener back by itself (kicked out of Accept), and the next
		// connection is the loop's. (A connection that comes in while
		// Accept is being kicked may still be accepted there: the runtime
		// lets readiness win over a deadline, which is harmless.)
		testkit.WaitFor(t, "the listener to go back to the loop", func() bool { return ts.loop.lns[0].loopOwns.Load() })
		served := ts.loopServed.Load()
		if err := socks5Echo(ts.addr, echo); err != nil {
			t.Fatal(err)
		}
		checks++
		if ts.loopServed.Load() == served {
			t.Fatalf("round %d: the loop did not serve again after the router was cleared", round)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("%d of %d cycles failed, first: %v", len(errs), cycles.Load(), errs[0])
	}
	testkit.WaitFor(t, "the sessions to end", func() bool { return ts.stats.Sessions.Load() == 0 })
	if got, want := ts.stats.Success.Load(), uint64(cycles.Load()+checks+1); got != want {
		t.Errorf("Success %d, want %d (every cycle served)", got, want)
	}
	t.Logf("%d cycles: %d served by the loop, %d routed", cycles.Load(), ts.loopServed.Load(), routed.Load())
}

// bulkTarget accepts connections and, for each, reads n bytes while it
// sends n bytes of pattern; firstClose says who closes first: the target
// shuts its write half as soon as it has sent, or only after the client's
// end of input.
func bulkTarget(t *testing.T, n int, pattern []byte, targetFirst bool, got chan<- []byte) string {
	return testkit.Serve(t, func(c net.Conn) {
		tc := c.(*net.TCPConn)
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		done := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(c)
			done <- b
		}()
		_, _ = c.Write(pattern[:n])
		if targetFirst {
			_ = tc.CloseWrite()
			got <- <-done
			return
		}
		b := <-done
		_ = tc.CloseWrite()
		got <- b
	})
}

// TestLoopGraduation moves 3 MiB each way through a tunnel the loop
// started: its first full buffer graduates it to the goroutine relay,
// which must carry the bytes the loop held and its counts over exactly,
// whichever side closes first.
func TestLoopGraduation(t *testing.T) {
	withLoop(t, true)
	const n = 3 << 20
	pattern := make([]byte, n)
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>11)
	}
	for _, targetFirst := range []bool{false, true} {
		name := "client_closes_first"
		if targetFirst {
			name = "target_closes_first"
		}
		t.Run(name, func(t *testing.T) {
			got := make(chan []byte, 1)
			target := bulkTarget(t, n, pattern, targetFirst, got)
			ts := startServer(t, testConfig(), nil, nil)
			d, err := proxy.SOCKS5("tcp", ts.addr, nil, &net.Dialer{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			c, err := d.Dial("tcp", target)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			down := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(c)
				down <- b
			}()
			if _, err := c.Write(pattern); err != nil {
				t.Fatal(err)
			}
			_ = c.(*net.TCPConn).CloseWrite()
			if b := <-down; !bytes.Equal(b, pattern) {
				t.Fatalf("client received %d bytes, want the %d sent", len(b), n)
			}
			if b := <-got; !bytes.Equal(b, pattern) {
				t.Fatalf("target received %d bytes, want the %d sent", len(b), n)
			}
			testkit.WaitFor(t, "the session to end", func() bool { return ts.stats.Sessions.Load() == 0 })
			if up, down := ts.stats.BytesUp.Load(), ts.stats.BytesDown.Load(); up != n || down != n {
				t.Errorf("BytesUp %d, BytesDown %d, want %d each", up, down, n)
			}
			if ts.loopGraduated.Load() != 1 {
				t.Errorf("%d tunnels graduated, want 1", ts.loopGraduated.Load())
			}
		})
	}
}

// TestLoopGraduateForced: a --pipe session the loop hands to the
// goroutine relay once Shutdown has begun closing the sessions is closed
// at once, and its record gives the reason as the goroutine path's
// sessions do (a CI flake of shutdown/session-pipe: the loop, descheduled
// between starting the session and graduating it, logged no reason).
// Shutdown's forcing is set alone here, so that the session's start
// comes after it.
func TestLoopGraduateForced(t *testing.T) {
	withLoop(t, true)
	if !splice.Available() {
		t.Skip("no splice: --pipe sessions stay on the loop")
	}
	conf := testConfig()
	conf.Pipe = true
	rec := &logRecorder{keep: map[string]bool{}}
	ts := startServerWith(t, Options{Config: conf, Logger: slog.New(rec)})
	var loop *evloop
	testkit.WaitFor(t, "the event loop", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		loop = ts.loop
		return loop != nil
	})
	loop.forced.Store(true)
	c := dialProxy(t, ts.addr)
	defer c.Close()
	if r, _ := request5(t, c, connectReq(t, echoServer(t))...); r != socks5.Succeeded {
		t.Fatalf("reply %v", r)
	}
	expectClosed(t, c)
	// The record follows the session's end in the counters.
	var closed []string
	testkit.WaitFor(t, "the session's record", func() bool {
		for _, l := range rec.take() {
			if strings.Contains(l, `"session closed"`) {
				closed = append(closed, l)
			}
		}
		return len(closed) > 0
	})
	if len(closed) != 1 || !strings.HasSuffix(closed[0], ` err="closed by shutdown"`) {
		t.Errorf("session records %q, want one closed by shutdown", closed)
	}
}

// TestLoopHandoff checks that BIND and UDP ASSOCIATE, which the loop does
// not serve, reach the goroutine path mid-handshake while the loop owns
// the listener (the protocols themselves are TestSOCKS5Bind's and
// TestSOCKS5UDPAssociate's, in both modes).
func TestLoopHandoff(t *testing.T) {
	withLoop(t, true)
	conf := testConfig()
	conf.SOCKS5Bind, conf.SOCKS5UDP = true, true
	ts := startServer(t, conf, nil, nil)
	c := dialProxy(t, ts.addr)
	if r, bnd := request5(t, c, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0); r != socks5.Succeeded || bnd.Port() == 0 {
		t.Fatalf("BIND reply %v %v", r, bnd)
	}
	u := dialProxy(t, ts.addr)
	if r, bnd := request5(t, u, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0); r != socks5.Succeeded || bnd.Port() == 0 {
		t.Fatalf("UDP ASSOCIATE reply %v %v", r, bnd)
	}
	if got := ts.loopHandoffs.Load(); got != 2 {
		t.Errorf("%d hand-offs, want 2", got)
	}
}

// TestLoopShutdown stops a server whose loop holds a relaying tunnel, a
// handshake in progress and a request whose name is being looked up (a
// nameserver that never answers): the half-open ones are closed without a
// reply, the tunnel drains until Shutdown's context is done, and Shutdown
// returns with everything closed.
func TestLoopShutdown(t *testing.T) {
	withLoop(t, true)
	goroutineCheck(t)
	echo := echoServer(t)
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	st := new(dial.Options)
	st.Nameserver = silent.LocalAddr().String()
	fds := openFDs(t)
	ts := startServer(t, testConfig(), nil, dial.New(*st))

	active := openSession(t, ts.addr, echo)
	half := dialProxy(t, ts.addr)
	mustWrite(t, half, []byte{5, 1})
	lookup := dialProxy(t, ts.addr)
	mustWrite(t, lookup, append([]byte{5, 1, 0}, connectReq(t, "name.invalid:80")...))
	readN(t, lookup, 2)
	buf := make([]byte, 512)
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := silent.ReadFrom(buf); err != nil {
		t.Fatalf("no query reached the nameserver: %v", err)
	}
	testkit.WaitFor(t, "two half-open connections", func() bool { return ts.stats.HalfOpen.Load() == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v, want the context's error (a session was open)", err)
	}
	expectClosed(t, half)
	expectClosed(t, lookup)
	expectClosed(t, active)
	if ts.stats.RejectTimeout.Load() != 0 || ts.stats.HalfOpen.Load() != 0 {
		t.Errorf("RejectTimeout %d, HalfOpen %d after shutdown, want 0 and 0", ts.stats.RejectTimeout.Load(), ts.stats.HalfOpen.Load())
	}
	ts.mu.Lock()
	live := ts.liveConns()
	ts.mu.Unlock()
	if live != 0 {
		t.Errorf("%d connections still registered", live)
	}
	for _, c := range []net.Conn{active, half, lookup} {
		c.Close()
	}
	// The echo server closes its side of the tunnel on its own time.
	testkit.WaitFor(t, "the descriptors of before the server started", func() bool { return openFDs(t) == fds })
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents) - 1 // ReadDir's own
}

// TestLoopHTTP checks which --http requests the loop serves: CONNECT on
// the loop, a plain request (proxy_pass) handed to serveHTTP with the
// bytes the loop read, and a failed dial's 502 page by httpFail.
func TestLoopHTTP(t *testing.T) {
	withLoop(t, true)
	echo := echoServer(t)
	ts, hp := startHTTP(t, nil, nil)
	c := dialProxy(t, hp)
	mustWrite(t, c, []byte("CONNECT "+echo+" HTTP/1.1\r\n\r\nearly"))
	if b := readN(t, c, len(http200)); string(b) != http200 {
		t.Fatalf("%q", b)
	}
	if b := readN(t, c, 5); string(b) != "early" {
		t.Fatalf("read-ahead echoed as %q", b)
	}
	if ts.loopServed.Load() != 1 || ts.loopHandoffs.Load() != 0 {
		t.Fatalf("CONNECT: %d served by the loop, %d handed off; want 1 and 0", ts.loopServed.Load(), ts.loopHandoffs.Load())
	}
	target, body := httpTarget(t)
	out := exchangeRaw(t, hp, "GET http://"+target+"/ HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.HasSuffix(out, body) {
		t.Fatalf("GET through the proxy: %q", out)
	}
	if ts.loopHandoffs.Load() != 1 {
		t.Fatalf("GET: %d hand-offs, want 1", ts.loopHandoffs.Load())
	}
	expectPage(t, exchangeRaw(t, hp, "CONNECT "+testkit.ClosedPort(t).String()+" HTTP/1.1\r\n\r\n"), 502)
	if ts.loopHandoffs.Load() != 2 || ts.stats.RejectUpstream.Load() != 1 {
		t.Fatalf("502: %d hand-offs, RejectUpstream %d; want 2 and 1", ts.loopHandoffs.Load(), ts.stats.RejectUpstream.Load())
	}
}

// TestLoopTimeoutReload changes -t with a reload while a connection of the
// old timeout is half-open: a connection accepted afterwards expires at
// its own, shorter deadline, not behind the older one, and the older one
// keeps its longer deadline.
func TestLoopTimeoutReload(t *testing.T) {
	withLoop(t, true)
	conf := testConfig()
	ts := startServer(t, conf, nil, nil)
	old := dialProxy(t, ts.addr)
	mustWrite(t, old, []byte{5})
	testkit.WaitFor(t, "the first connection to be half-open", func() bool { return ts.stats.HalfOpen.Load() == 1 })
	short := *conf
	short.Timeout = 0.2
	if err := ts.Reconfigure(&short, dial.New(dial.Options{TCPNoDelay: true})); err != nil {
		t.Fatal(err)
	}
	young := dialProxy(t, ts.addr)
	mustWrite(t, young, []byte{5})
	expectClosed(t, young)
	if got := ts.stats.RejectTimeout.Load(); got != 1 {
		t.Errorf("RejectTimeout %d, want 1", got)
	}
	// The first one is still waiting for its greeting's end.
	mustWrite(t, old, []byte{1, 0})
	if b := readN(t, old, 2); b[0] != 5 || b[1] != 0 {
		t.Fatalf("method reply %v", b)
	}
}

// TestLoopWakeOutsideScheduler checks that waking the loop (what every
// lookup, decision and engine's connect posted back does) stays out of
// the scheduler's system call bracket, whose entry wakes a sleeping
// sysmon thread, and that each wake still adds one to the eventfd's
// counter, which the loop polls.
func TestLoopWakeOutsideScheduler(t *testing.T) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	l := &evloop{wakefd: efd}
	for _, ev := range testkit.SyscallBrackets(t, "(*evloop).wake", l.wake) {
		t.Errorf("wake entered the scheduler's system call bracket:\n%s", ev)
	}
	l.wake()
	var counter [8]byte
	if n, err := unix.Read(efd, counter[:]); err != nil || n != 8 {
		t.Fatalf("reading the eventfd: %d bytes, %v", n, err)
	}
	if got := binary.NativeEndian.Uint64(counter[:]); got != 2 {
		t.Errorf("eventfd counter %d after two wakes, want 2", got)
	}
}
