package server

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// inlineRouter is a route.InlineRouter for tests: decide answers both
// Route and RouteNow (unless now is false, when RouteNow declines), and
// every call is recorded.
type inlineRouter struct {
	mu     sync.Mutex
	decide func(req *route.Request) route.Decision
	now    bool
	got    []route.Request
	routes atomic.Int64 // calls of Route
	nows   atomic.Int64 // decisions RouteNow took
}

func (r *inlineRouter) set(now bool, f func(req *route.Request) route.Decision) {
	r.mu.Lock()
	r.decide, r.now = f, now
	r.got = nil
	r.mu.Unlock()
	r.routes.Store(0)
	r.nows.Store(0)
}

func (r *inlineRouter) answer(req *route.Request) route.Decision {
	r.mu.Lock()
	r.got = append(r.got, *req)
	f := r.decide
	r.mu.Unlock()
	return f(req)
}

func (r *inlineRouter) Route(_ context.Context, req *route.Request) (route.Decision, error) {
	r.routes.Add(1)
	return r.answer(req), nil
}

func (r *inlineRouter) RouteNow(req *route.Request) (route.Decision, bool) {
	r.mu.Lock()
	now := r.now
	r.mu.Unlock()
	if !now {
		return route.Decision{}, false
	}
	r.nows.Add(1)
	return r.answer(req), true
}

func (r *inlineRouter) last(t *testing.T) route.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) != 1 {
		t.Fatalf("the router was asked %d times, want once", len(r.got))
	}
	return r.got[0]
}

// TestLoopInlineRouter: with a router that decides without blocking
// (route.InlineRouter), the loop serves the connection: it asks the
// router once with the goroutine path's Request, dials a Forward without
// a chain itself, answers refusals with the goroutine path's replies and
// counters, and hands a Committed decision, or a router that must block,
// to the goroutine path without asking the router twice.
func TestLoopInlineRouter(t *testing.T) {
	withLoop(t, true)
	echo := echoServer(t)
	r := &inlineRouter{}
	r.set(true, func(*route.Request) route.Decision { return route.Direct(echo) })
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	ts := startServer(t, conf, r, nil)
	_, hl := ts.Addrs()
	hp := hl.String()

	paths := func() [3]int64 {
		return [3]int64{ts.loopRouted.Load(), ts.loopHandoffs.Load(), ts.loopServed.Load()}
	}
	wantPaths := func(t *testing.T, before [3]int64, routed, handoffs int64) {
		t.Helper()
		now := paths()
		if now[0]-before[0] != routed || now[1]-before[1] != handoffs || now[2]-before[2] != 1 {
			t.Errorf("routed on the loop %d, handed off %d, served by the loop %d; want %d, %d, 1",
				now[0]-before[0], now[1]-before[1], now[2]-before[2], routed, handoffs)
		}
	}

	socks5Auth := func(t *testing.T, target string) net.Conn {
		t.Helper()
		c := dialProxy(t, ts.addr)
		mustWrite(t, c, []byte{5, 1, 2})
		readN(t, c, 2)
		mustWrite(t, c, append([]byte("\x01\x04user\x04pass"), connectReq(t, target)...))
		readN(t, c, 2)
		return c
	}
	userPass := route.Credentials{Username: "user", Password: "pass", HasUsername: true, HasPassword: true}

	t.Run("forward on the loop", func(t *testing.T) {
		r.set(true, func(*route.Request) route.Decision { return route.Direct(echo) })
		before := paths()
		c := socks5Auth(t, "Example.COM:443")
		if rep, _ := readReply5(t, c); rep != socks5.Succeeded {
			t.Fatalf("reply %v", rep)
		}
		echoRoundTrip(t, c, "through the table")
		got := r.last(t)
		if got.Addr != "Example.COM:443" || got.Callback != route.Resolve || got.Cred != userPass || got.Dial == nil {
			t.Errorf("request %+v", got)
		}
		if r.routes.Load() != 0 {
			t.Error("Route was called besides RouteNow")
		}
		wantPaths(t, before, 1, 0)
	})
	t.Run("http forward on the loop", func(t *testing.T) {
		r.set(true, func(*route.Request) route.Decision { return route.Direct(echo) })
		before := paths()
		c := dialProxy(t, hp)
		mustWrite(t, c, []byte("CONNECT Example.COM:443 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\nearly"))
		if b := readN(t, c, len(http200)+5); string(b) != http200+"early" {
			t.Fatalf("%q", b)
		}
		got := r.last(t)
		if got.Addr != "Example.COM:443" || got.Callback != route.Resolve || got.Cred != userPass {
			t.Errorf("request %+v", got)
		}
		wantPaths(t, before, 1, 0)
	})
	t.Run("socks4 reject on the loop", func(t *testing.T) {
		r.set(true, func(*route.Request) route.Decision { return route.Decision{Verdict: route.Reject} })
		before, rejects := paths(), ts.stats.RejectRuleset.Load()
		c := dialProxy(t, ts.addr)
		req, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: mustTarget(t, "127.0.0.1:80"), UserID: "u"})
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, c, req)
		if b := readN(t, c, 8); b[1] != byte(socks4.Rejected) {
			t.Fatalf("reply %x", b)
		}
		expectClosed(t, c)
		got := r.last(t)
		if got.Addr != "127.0.0.1:80" || got.Callback != route.Route || got.Cred != (route.Credentials{Username: "u", HasUsername: true}) {
			t.Errorf("request %+v", got)
		}
		if n := ts.stats.RejectRuleset.Load() - rejects; n != 1 {
			t.Errorf("RejectRuleset +%d, want 1", n)
		}
		wantPaths(t, before, 1, 0)
	})
	t.Run("socks5 error verdict on the loop", func(t *testing.T) {
		r.set(true, func(*route.Request) route.Decision { return route.Decision{Verdict: route.Error, Reason: "boom"} })
		before, rejects := paths(), ts.stats.RejectRuleset.Load()
		c := socks5Auth(t, "[2001:db8::1]:443")
		if rep, _ := readReply5(t, c); rep != socks5.GeneralFailure {
			t.Fatalf("reply %v", rep)
		}
		expectClosed(t, c)
		if got := r.last(t); got.Callback != route.Route6 || got.Addr != "[2001:db8::1]:443" {
			t.Errorf("request %+v", got)
		}
		if n := ts.stats.RejectRuleset.Load() - rejects; n != 1 {
			t.Errorf("RejectRuleset +%d, want 1", n)
		}
		wantPaths(t, before, 1, 0)
	})
	t.Run("http reject", func(t *testing.T) {
		// The 403 page lingers: httpFail's, on the goroutine path.
		r.set(true, func(*route.Request) route.Decision { return route.Decision{Verdict: route.Reject} })
		before, rejects := paths(), ts.stats.RejectRuleset.Load()
		expectPage(t, exchangeRaw(t, hp, "CONNECT a.example:443 HTTP/1.1\r\n\r\n"), 403)
		r.last(t)
		if n := ts.stats.RejectRuleset.Load() - rejects; n != 1 {
			t.Errorf("RejectRuleset +%d, want 1", n)
		}
		wantPaths(t, before, 1, 1)
	})
	t.Run("committed is handed off", func(t *testing.T) {
		r.set(true, func(*route.Request) route.Decision {
			up, err := net.Dial("tcp", echo)
			if err != nil {
				return route.Decision{Verdict: route.Error, Reason: err.Error()}
			}
			return route.Decision{Verdict: route.Committed, Conn: up}
		})
		before := paths()
		c := socks5Auth(t, "committed.example:1")
		if rep, _ := readReply5(t, c); rep != socks5.Succeeded {
			t.Fatalf("reply %v", rep)
		}
		echoRoundTrip(t, c, "through the engine's connection")
		r.last(t)
		if r.routes.Load() != 0 {
			t.Error("the goroutine path asked the router again")
		}
		wantPaths(t, before, 1, 1)
	})
	t.Run("a chain is handed off", func(t *testing.T) {
		// The chain's hop is the server itself: the goroutine path dials
		// it, and the second request, to the echo server, is decided with
		// the hop's decision cleared.
		var hops atomic.Int64
		r.set(true, func(req *route.Request) route.Decision {
			if hops.Add(1) == 1 {
				return route.Decision{Verdict: route.Forward, Target: echo, Chain: route.MakeChain("socks5://" + ts.addr)}
			}
			return route.Direct(echo)
		})
		c := socks5Auth(t, "chained.example:1")
		if rep, _ := readReply5(t, c); rep != socks5.Succeeded {
			t.Fatalf("reply %v", rep)
		}
		echoRoundTrip(t, c, "through a hop")
		if hops.Load() != 2 || r.routes.Load() != 0 {
			t.Errorf("%d decisions, %d by Route; want 2 by RouteNow (one per connection)", hops.Load(), r.routes.Load())
		}
	})
	t.Run("a router that must block is asked on the goroutine path", func(t *testing.T) {
		r.set(false, func(*route.Request) route.Decision { return route.Direct(echo) })
		before := paths()
		c := socks5Auth(t, "blocking.example:1")
		if rep, _ := readReply5(t, c); rep != socks5.Succeeded {
			t.Fatalf("reply %v", rep)
		}
		echoRoundTrip(t, c, "decided by Route")
		r.last(t)
		if r.routes.Load() != 1 {
			t.Errorf("Route asked %d times, want 1", r.routes.Load())
		}
		wantPaths(t, before, 0, 1)
	})
}

// TestLoopInlineRouterOwnership: SetRouter moves the listener between the
// paths by the router's kind: a router that must block keeps every
// connection on the goroutine path, an inline one gives them to the loop,
// and the switch back returns them.
func TestLoopInlineRouterOwnership(t *testing.T) {
	withLoop(t, true)
	echo := echoServer(t)
	var blocking atomic.Int64
	plain := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		blocking.Add(1)
		return route.Direct(echo), nil
	})
	inline := &inlineRouter{}
	inline.set(true, func(*route.Request) route.Decision { return route.Direct(echo) })
	ts := startServer(t, testConfig(), plain, nil)
	for i, step := range []struct {
		r                route.Router
		served, blocking int64
	}{{plain, 0, 1}, {inline, 1, 1}, {plain, 1, 2}, {inline, 2, 2}} {
		ts.SetRouter(step.r)
		// A connection that arrives while the acceptors switch may be
		// taken by either (both correct): wait for the switch to end.
		_, toLoop := step.r.(route.InlineRouter)
		testkit.WaitFor(t, "the listener's acceptor", func() bool {
			ts.mu.Lock()
			l := ts.loop
			ts.mu.Unlock()
			return l != nil && l.lns[0].loopOwns.Load() == toLoop
		})
		if err := socks5Echo(ts.addr, "x.example:1"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := ts.loopServed.Load(); got != step.served || blocking.Load() != step.blocking {
			t.Fatalf("step %d: %d served by the loop, %d decided by Route; want %d, %d", i, got, blocking.Load(), step.served, step.blocking)
		}
	}
	if inline.routes.Load() != 0 {
		t.Error("the inline router was asked through Route")
	}
}
