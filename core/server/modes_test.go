package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

func TestSOCKS5Bind(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		conf := testConfig()
		conf.SOCKS5Bind = true
		ts := startServer(t, conf, nil, nil)

		c := dialProxy(t, ts.addr)
		r, bnd := request5(t, c, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0)
		if r != socks5.Succeeded || bnd.Kind() != addr.IPv4 || !bnd.IP().IsUnspecified() || bnd.Port() == 0 {
			t.Fatalf("first reply %v %v", r, bnd)
		}
		peer, err := net.Dial("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), bnd.Port()).String())
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		r, pa := readReply5(t, c)
		if r != socks5.Succeeded || pa.AddrPort() != netip.MustParseAddrPort(peer.LocalAddr().String()) {
			t.Fatalf("second reply %v %v (peer %v)", r, pa, peer.LocalAddr())
		}
		mustWrite(t, peer, []byte("from peer"))
		if got := readN(t, c, 9); string(got) != "from peer" {
			t.Fatalf("%q", got)
		}
		mustWrite(t, c, []byte("to peer"))
		if got := readN(t, peer, 7); string(got) != "to peer" {
			t.Fatalf("%q", got)
		}

		t.Run("timeout", func(t *testing.T) {
			conf := testConfig()
			conf.SOCKS5Bind = true
			conf.Timeout = 0.2
			ts := startServer(t, conf, nil, nil)
			c := dialProxy(t, ts.addr)
			request5(t, c, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0)
			if r, _ := readReply5(t, c); r != socks5.TTLExpired {
				t.Fatalf("reply %v", r)
			}
			expectClosed(t, c)
		})
	})
}

func TestSOCKS5UDPAssociate(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		// A UDP echo target.
		target, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8192)
			for {
				n, from, err := target.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				_, _ = target.WriteToUDPAddrPort(append([]byte("echo:"), buf[:n]...), from)
			}
		}()
		defer wg.Wait()
		defer target.Close()
		tAddr := addr.FromAddrPort(target.LocalAddr().(*net.UDPAddr).AddrPort())

		conf := testConfig()
		conf.SOCKS5UDP = true
		ts := startServer(t, conf, nil, nil)
		c := dialProxy(t, ts.addr)
		r, bnd := request5(t, c, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0)
		if r != socks5.Succeeded || !bnd.IP().IsUnspecified() || bnd.Port() == 0 {
			t.Fatalf("reply %v %v", r, bnd)
		}
		testkit.WaitFor(t, "the association to count as a session", func() bool { return ts.stats.Sessions.Load() == 1 })
		relay := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), bnd.Port())
		uc, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(relay))
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
		send := func(frag byte, a addr.Addr, payload string) {
			t.Helper()
			b, err := socks5.AppendUDPHeader(nil, socks5.UDPHeader{Frag: frag, Addr: a})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := uc.Write(append(b, payload...)); err != nil {
				t.Fatal(err)
			}
		}
		recv := func() (addr.Addr, string) {
			t.Helper()
			buf := make([]byte, 8192)
			n, err := uc.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			h, k, err := socks5.ParseUDPHeader(buf[:n])
			if err != nil || h.Frag != 0 {
				t.Fatalf("header % x: %v", buf[:n], err)
			}
			return h.Addr, string(buf[k:n])
		}
		// Dropped: a domain address, a runt; then a plain datagram.
		send(0, addr.FromDomain("localhost", tAddr.Port()), "dropped")
		if _, err := uc.Write([]byte{0, 0}); err != nil {
			t.Fatal(err)
		}
		send(0, tAddr, "one")
		src, got := recv()
		if src != tAddr || got != "echo:one" {
			t.Fatalf("got %v %q", src, got)
		}
		// Fragments 1, 2, 3|last are reassembled into one datagram.
		send(1, tAddr, "a")
		send(2, tAddr, "b")
		send(0x83, tAddr, "c")
		if _, got := recv(); got != "echo:abc" {
			t.Fatalf("reassembled %q", got)
		}
		// An out-of-order fragment discards the sequence; a lone 0x81 goes out.
		send(1, tAddr, "x")
		send(3, tAddr, "y")
		send(0x81, tAddr, "z")
		if _, got := recv(); got != "echo:z" {
			t.Fatalf("got %q", got)
		}
		// Closing the control connection ends the association.
		c.Close()
		testkit.WaitFor(t, "the association to end", func() bool { return ts.stats.Sessions.Load() == 0 })
	})
}

func TestForward(t *testing.T) {
	// A server-speaks-first target: the dial must not wait for the client.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "220 ready\r\n")
		_, _ = io.Copy(c, c)
	}()
	defer func() { <-done }()
	defer ln.Close()

	var seen route.Request
	var mu sync.Mutex
	router := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		mu.Lock()
		seen = *req
		mu.Unlock()
		return route.Direct(ln.Addr().String()), nil
	})
	conf := testConfig()
	conf.Forward = "forward.test:25"
	ts := startServer(t, conf, router, nil)
	c := dialProxy(t, ts.addr)
	defer c.Close() // before waiting for the target
	if got := readN(t, c, 11); string(got) != "220 ready\r\n" {
		t.Fatalf("%q", got)
	}
	echoRoundTrip(t, c, "HELO")
	mu.Lock()
	if !sameRequest(seen, route.Request{Callback: route.Resolve, Addr: "forward.test:25"}) {
		t.Errorf("router saw %+v", seen)
	}
	mu.Unlock()
	if ts.stats.Request.Load() != 1 {
		t.Errorf("num_request %d", ts.stats.Request.Load())
	}

	t.Run("failure closes", func(t *testing.T) {
		conf := testConfig()
		conf.Forward = testkit.ClosedPort(t).String()
		ts := startServer(t, conf, nil, nil)
		c := dialProxy(t, ts.addr)
		expectClosed(t, c)
		testkit.WaitFor(t, "reject counted", func() bool { return ts.stats.RejectUpstream.Load() == 1 })
	})
	t.Run("bad forward address", func(t *testing.T) {
		conf := testConfig()
		conf.Forward = "no-port"
		if _, err := New(Options{Config: conf, Dialer: &fakeDialer{}}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("unable to parse outbound configuration")) {
			t.Fatalf("err = %v", err)
		}
		// A bad -x fails building the dialer: see dial's TestOptionsFrom.
	})
}

// TestTProxy binds a transparent listener (needs CAP_NET_ADMIN) and
// checks that the original destination, here the listener's own address,
// is what the router sees.
func TestTProxy(t *testing.T) {
	echo := echoServer(t)
	var seen route.Request
	var mu sync.Mutex
	router := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		mu.Lock()
		seen = *req
		mu.Unlock()
		return route.Direct(echo), nil
	})
	conf := testConfig()
	conf.Transparent = true
	s, err := New(Options{Config: conf, Router: router, Dialer: &fakeDialer{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Skipf("transparent listener: %v", err)
	}
	s.Shutdown(context.Background())
	ts := startServer(t, conf, router, nil)
	c := dialProxy(t, ts.addr)
	echoRoundTrip(t, c, "tproxy")
	mu.Lock()
	defer mu.Unlock()
	if !sameRequest(seen, route.Request{Callback: route.Route, Addr: ts.addr}) {
		t.Fatalf("router saw %+v", seen)
	}
}

func TestShutdown(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		goroutineCheck(t)
		echo := echoServer(t)
		conf := testConfig()
		st := startServer(t, conf, blockRouter, nil)
		_ = st
		// One relaying session (through a server without router) and one
		// half-open connection stuck in the router.
		plain := startServer(t, testConfig(), nil, nil)
		active := openSession(t, plain.addr, echo)
		testkit.WaitFor(t, "the session to start", func() bool { return plain.stats.Sessions.Load() == 1 })
		half := dialProxy(t, st.addr)
		mustWrite(t, half, append([]byte{5, 1, 0}, connectReq(t, echo)...))
		readN(t, half, 2)
		testkit.WaitFor(t, "the request to reach the router", func() bool { return st.stats.Request.Load() == 1 })

		// Half-open: cancelled at once, no reply.
		if err := st.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, half)
		if st.stats.RejectTimeout.Load() != 0 {
			t.Error("shutdown counted as timeout")
		}
		// Relaying: drained until the deadline, then closed.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := plain.Shutdown(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Shutdown = %v", err)
		}
		expectClosed(t, active)
		if _, err := net.DialTimeout("tcp", plain.addr, time.Second); err == nil {
			t.Fatal("listener still open")
		}
	})
}

func TestSetRouter(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		ts := startServer(t, testConfig(), nil, nil)
		try := func() socks5.Reply {
			c := dialProxy(t, ts.addr)
			defer c.Close()
			r, _ := request5(t, c, connectReq(t, echo)...)
			return r
		}
		if r := try(); r != socks5.Succeeded {
			t.Fatalf("no router: %v", r)
		}
		ts.SetRouter(route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{Verdict: route.Reject}, nil
		}))
		if r := try(); r != socks5.GeneralFailure {
			t.Fatalf("rejecting router: %v", r)
		}
		ts.SetRouter(nil)
		if r := try(); r != socks5.Succeeded {
			t.Fatalf("router removed: %v", r)
		}
	})
}

func TestListenErrors(t *testing.T) {
	tests := []struct {
		name   string
		listen string
		http   string
	}{
		{name: "unbracketed ipv6", listen: "::1:80"},
		{name: "no port", listen: "127.0.0.1"},
		{name: "second listener fails", listen: "127.0.0.1:0", http: "256.0.0.1:0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := testConfig()
			conf.Listen, conf.HTTPListen = tc.listen, tc.http
			s, err := New(Options{Config: conf, Dialer: &fakeDialer{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Listen(); err == nil {
				t.Fatal("Listen succeeded")
			}
			if p, h := s.Addrs(); p != nil || h != nil {
				t.Fatalf("listeners left bound: %v %v", p, h)
			}
		})
	}
}

func TestReusePort(t *testing.T) {
	first := testConfig()
	first.ReusePort = true
	a := startServer(t, first, nil, nil)
	second := testConfig()
	second.Listen = a.addr
	s, err := New(Options{Config: second, Dialer: &fakeDialer{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil {
		t.Fatal("second bind without --reuseport succeeded")
	}
	second.ReusePort = true
	b := startServer(t, second, nil, nil)
	if b.addr != a.addr {
		t.Fatalf("bound %s and %s", a.addr, b.addr)
	}
}

func TestStaticRouterIsNoRouter(t *testing.T) {
	s, err := New(Options{Config: testConfig(), Router: route.Static, Dialer: &fakeDialer{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.currentRouter() != nil {
		t.Fatal("route.Static kept as a router")
	}
	s.SetRouter(route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
		return route.Decision{}, nil
	}))
	if s.currentRouter() == nil {
		t.Fatal("another RouterFunc taken for route.Static")
	}
}
