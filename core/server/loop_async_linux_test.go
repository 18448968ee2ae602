//go:build linux

package server

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// The lifecycle of asynchronous decisions on the loop: what the
// differential corpus (asyncCases) cannot see, because the goroutine path
// has no Pending to end: every decision ended exactly once, every Connect
// answered, nothing left open after Shutdown, and the hand-over of the
// listeners.

// asyncServer starts a server on the loop whose router is r and whose
// dialer knows the upstreams' test names (diffDialer).
func asyncServer(t *testing.T, u *upstreams, r route.Router, change func(*config.Config)) *testServer {
	t.Helper()
	conf := testConfig()
	if change != nil {
		change(conf)
	}
	opts, err := dial.OptionsFrom(conf)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, conf, r, diffDialer{dial.New(opts), u})
}

// socks5Named sends a greeting and a CONNECT to host:80 and reads the
// greeting's reply.
func socks5Named(t *testing.T, proxy, host string) net.Conn {
	t.Helper()
	c := dialProxy(t, proxy)
	mustWrite(t, c, cat(s5greet(0), s5name(1, host, 80)))
	readN(t, c, 2)
	return c
}

// TestLoopAsyncShutdown stops a server whose loop holds a session an
// asynchronous router committed, a request being decided, one whose
// Connect is connecting and one whose Connect is looking a name up:
// Shutdown returns, the half-open ones are closed without a reply, every
// Connect gets its result, every decision ends (abandoned, or answered
// and released), and every descriptor is closed.
func TestLoopAsyncShutdown(t *testing.T) {
	withLoop(t, true)
	goroutineCheck(t)
	u := newUpstreams(t)
	fds := openFDs(t)
	r := newAsyncRouter(asyncPlans(u))
	ts := asyncServer(t, u, r, nil)

	session := socks5Named(t, ts.addr, "active.test")
	if rep, _ := readReply5(t, session); rep != 0 {
		t.Fatalf("reply %v", rep)
	}
	echoRoundTrip(t, session, "committed")
	routing := socks5Named(t, ts.addr, "never.test")
	connecting := socks5Named(t, ts.addr, "active-hang.test")
	lookup := socks5Named(t, ts.addr, "active-slow.test")
	testkit.WaitFor(t, "three decisions and two connects in flight", func() bool {
		return r.asyncs.Load() == 4 && r.connects.Load() == 3 && ts.stats.HalfOpen.Load() == 3
	})
	if _, async := ts.LoopDecisions(); async != 4 {
		t.Errorf("LoopDecisions: %d asynchronous, want 4", async)
	}

	shutdownBounded(t, ts, 50*time.Millisecond)
	for _, c := range []net.Conn{routing, connecting, lookup, session} {
		expectClosed(t, c)
		c.Close()
	}
	if err := r.check(); err != nil {
		t.Error(err)
	}
	if ended := r.abandoned.Load() + r.settled.Load(); ended != 4 {
		t.Errorf("%d decisions ended, want 4", ended)
	}
	if rt, ho := ts.stats.RejectTimeout.Load(), ts.stats.HalfOpen.Load(); rt != 0 || ho != 0 {
		t.Errorf("RejectTimeout %d, HalfOpen %d after Shutdown, want 0 and 0", rt, ho)
	}
	waitUpstreamsIdle(t, u)
	testkit.WaitFor(t, "the descriptors of before the server started", func() bool { return openFDs(t) == fds })
}

// TestLoopAsyncLateAnswer: the deadline passes while the router is
// answering (Abandon returns false). The client is told 06 at the
// deadline, once; the tunnel waits for the answer, closes the connection
// it carries, and releases the decision.
func TestLoopAsyncLateAnswer(t *testing.T) {
	withLoop(t, true)
	u := newUpstreams(t)
	for _, host := range []string{"late-own.test", "late-active.test", "late.test"} {
		t.Run(host, func(t *testing.T) {
			r := newAsyncRouter(asyncPlans(u))
			ts := asyncServer(t, u, r, shortTimeout)
			c := socks5Named(t, ts.addr, host)
			if rep, _ := readReply5(t, c); rep != 6 {
				t.Errorf("reply %v, want 06", rep)
			}
			expectClosed(t, c)
			c.Close()
			testkit.WaitFor(t, "the late answer", func() bool { return r.settled.Load() == 1 })
			if r.lateAbandons.Load() != 1 || r.abandoned.Load() != 0 {
				t.Errorf("Abandon false %d times, true %d times; want once and never", r.lateAbandons.Load(), r.abandoned.Load())
			}
			waitUpstreamsIdle(t, u)
			shutdownBounded(t, ts, time.Second)
			if err := r.check(); err != nil {
				t.Error(err)
			}
			if got := u.take(); len(got) > 0 && got[0] != `echo got "" then eof` {
				t.Errorf("upstreams saw %q", got)
			}
		})
	}
}

// TestLoopAsyncDeclined: a router that does not start a decision
// (RouteAsync ok false) gets the request through Route on the goroutine
// path, once; one that does is not asked through Route.
func TestLoopAsyncDeclined(t *testing.T) {
	withLoop(t, true)
	u := newUpstreams(t)
	for _, declines := range []bool{true, false} {
		r := newAsyncRouter(asyncPlans(u))
		r.declines.Store(declines)
		ts := asyncServer(t, u, r, nil)
		c := socks5Named(t, ts.addr, "active.test")
		if rep, _ := readReply5(t, c); rep != 0 {
			t.Fatalf("declines %v: reply %v", declines, rep)
		}
		echoRoundTrip(t, c, "x")
		c.Close()
		want := [3]int64{0, 1, 1} // RouteAsync, Route, hand-offs
		if !declines {
			want = [3]int64{1, 0, 0}
		}
		_, async := ts.LoopDecisions()
		got := [3]int64{async, r.routes.Load(), ts.loopHandoffs.Load()}
		if got != want || r.asyncs.Load() != want[0] {
			t.Errorf("declines %v: asynchronous decisions, Route calls, hand-offs %v; want %v", declines, got, want)
		}
	}
}

// TestLoopAsyncOwnership: the loop owns the listeners while the router
// is asynchronous, and gives them back for a router it cannot ask.
func TestLoopAsyncOwnership(t *testing.T) {
	withLoop(t, true)
	u := newUpstreams(t)
	blocking := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		return route.Direct(u.echo.String()), nil
	})
	async := newAsyncRouter(asyncPlans(u))
	ts := asyncServer(t, u, blocking, nil)
	for i, r := range []route.Router{blocking, async, blocking, async} {
		ts.SetRouter(r)
		_, toLoop := r.(route.AsyncRouter)
		testkit.WaitFor(t, "the listener's acceptor", func() bool {
			ts.mu.Lock()
			l := ts.loop
			ts.mu.Unlock()
			return l != nil && l.lns[0].loopOwns.Load() == toLoop
		})
		before := ts.loopServed.Load()
		if err := socks5Echo(ts.addr, "active.test:80"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want := int64(0)
		if toLoop {
			want = 1
		}
		if served := ts.loopServed.Load() - before; served != want {
			t.Errorf("step %d: the loop served %d connections", i, served)
		}
	}
	if async.routes.Load() != 0 || async.asyncs.Load() != 2 {
		t.Errorf("the asynchronous router: %d Route calls, %d RouteAsync; want 0 and 2", async.routes.Load(), async.asyncs.Load())
	}
}

// TestLoopAsyncRouterCloses: the router answers everything it has
// pending at once (an engine closing) while the deadline and Shutdown
// end the same requests: each decision ends once, no reply is written
// twice, and Shutdown returns with every descriptor closed.
func TestLoopAsyncRouterCloses(t *testing.T) {
	withLoop(t, true)
	u := newUpstreams(t)
	fds := openFDs(t)
	r := newAsyncRouter(asyncPlans(u))
	ts := asyncServer(t, u, r, func(c *config.Config) { c.Timeout = 0.2 })
	var clients []net.Conn
	for i := range 8 {
		clients = append(clients, socks5Named(t, ts.addr, []string{"never.test", "active-hang.test"}[i%2]))
	}
	testkit.WaitFor(t, "every decision started", func() bool { return r.asyncs.Load() == 8 && r.connects.Load() == 4 })
	var wg sync.WaitGroup
	wg.Go(func() {
		// Let the deadline come close, then answer everything.
		time.Sleep(190 * time.Millisecond)
		r.closeAll()
	})
	for _, c := range clients {
		b := make([]byte, 64)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := readFull(c, b[:10])
		// One reply at most: refused by the closing router (01) or timed
		// out (06); never both.
		if n != 0 && (n != 10 || b[1] != 1 && b[1] != 6) {
			t.Errorf("client got % x", b[:n])
		}
		if extra, _ := c.Read(b); extra != 0 {
			t.Errorf("client got %d more bytes", extra)
		}
		c.Close()
	}
	wg.Wait()
	shutdownBounded(t, ts, time.Second)
	if err := r.check(); err != nil {
		t.Error(err)
	}
	waitUpstreamsIdle(t, u)
	testkit.WaitFor(t, "the descriptors of before the server started", func() bool { return openFDs(t) == fds })
}

// TestLoopAsyncShutdownLateAnswer: Shutdown meets a decision the router
// is already answering (Abandon false). The loop waits for the answer,
// closes the connection it carries and releases it before it exits.
func TestLoopAsyncShutdownLateAnswer(t *testing.T) {
	withLoop(t, true)
	u := newUpstreams(t)
	fds := openFDs(t)
	r := newAsyncRouter(asyncPlans(u))
	ts := asyncServer(t, u, r, nil)
	c := socks5Named(t, ts.addr, "late-own.test")
	testkit.WaitFor(t, "the answer on its way", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for p := range r.pend {
			p.mu.Lock()
			answering := p.state == pAnswering
			p.mu.Unlock()
			if answering {
				return true
			}
		}
		return false
	})
	shutdownBounded(t, ts, time.Second)
	expectClosed(t, c)
	c.Close()
	if r.lateAbandons.Load() != 1 || r.settled.Load() != 1 {
		t.Errorf("Abandon false %d times, Release %d times; want once each", r.lateAbandons.Load(), r.settled.Load())
	}
	if err := r.check(); err != nil {
		t.Error(err)
	}
	waitUpstreamsIdle(t, u)
	if got := u.take(); len(got) != 1 || got[0] != `echo got "" then eof` {
		t.Errorf("upstreams saw %q", got)
	}
	testkit.WaitFor(t, "the descriptors of before the server started", func() bool { return openFDs(t) == fds })
}
