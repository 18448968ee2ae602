package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/splice"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// connectReq returns a SOCKS5 CONNECT request for target.
func connectReq(t testing.TB, target string) []byte {
	t.Helper()
	a, err := addr.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	b, err := socks5.AppendRequest(nil, socks5.Request{Command: socks5.Connect, Addr: a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request5 sends the no-auth greeting and req (a SOCKS5 request) at once,
// skips the method reply and returns the request's reply.
func request5(t testing.TB, c net.Conn, req ...byte) (socks5.Reply, addr.Addr) {
	t.Helper()
	mustWrite(t, c, append([]byte{5, 1, 0}, req...))
	readN(t, c, 2)
	return readReply5(t, c)
}

// readReply5 reads a SOCKS5 reply.
func readReply5(t testing.TB, c net.Conn) (socks5.Reply, addr.Addr) {
	t.Helper()
	head := readN(t, c, 5)
	n := 0
	switch socks5.AddrType(head[3]) {
	case socks5.ATypIPv4:
		n = 4 + 2 - 1
	case socks5.ATypIPv6:
		n = 16 + 2 - 1
	case socks5.ATypDomain:
		n = int(head[4]) + 2
	default:
		t.Fatalf("bad reply % x", head)
	}
	b := append(head, readN(t, c, n)...)
	r, a, k, err := socks5.ParseReply(b)
	if err != nil || k != len(b) {
		t.Fatalf("reply % x: %v", b, err)
	}
	return r, a
}

func TestSOCKS5Connect(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		ts := startServer(t, testConfig(), nil, nil)

		t.Run("one packet with read-ahead", func(t *testing.T) {
			c := dialProxy(t, ts.addr)
			b := append([]byte{5, 1, 0}, connectReq(t, echo)...)
			b = append(b, "early"...)
			mustWrite(t, c, b)
			if got := readN(t, c, 2); !bytes.Equal(got, []byte{5, 0}) {
				t.Fatalf("method reply % x", got)
			}
			r, bnd := readReply5(t, c)
			if r != socks5.Succeeded {
				t.Fatalf("reply %v", r)
			}
			// BND is the local address of the upstream socket.
			if bnd.Kind() != addr.IPv4 || bnd.IP() != netip.MustParseAddr("127.0.0.1") || bnd.Port() == 0 {
				t.Fatalf("BND %v", bnd)
			}
			if got := readN(t, c, 5); string(got) != "early" {
				t.Fatalf("read-ahead echo %q", got)
			}
			echoRoundTrip(t, c, "hello")
		})

		t.Run("byte by byte", func(t *testing.T) {
			c := dialProxy(t, ts.addr)
			b := append([]byte{5, 2, 1, 0}, connectReq(t, echo)...)
			for i := range b {
				mustWrite(t, c, b[i:i+1])
			}
			if got := readN(t, c, 2); !bytes.Equal(got, []byte{5, 0}) {
				t.Fatalf("method reply % x", got)
			}
			if r, _ := readReply5(t, c); r != socks5.Succeeded {
				t.Fatalf("reply %v", r)
			}
			echoRoundTrip(t, c, "x")
		})

		t.Run("half close", func(t *testing.T) {
			c := dialProxy(t, ts.addr)
			request5(t, c, connectReq(t, echo)...)
			mustWrite(t, c, []byte("bye"))
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			// The echo server sees EOF, answers, half-closes; we see EOF.
			got := readN(t, c, 3)
			if string(got) != "bye" {
				t.Fatalf("got %q", got)
			}
			expectClosed(t, c)
		})
		testkit.WaitFor(t, "sessions to end", func() bool { return ts.stats.Sessions.Load() == 0 && ts.stats.HalfOpen.Load() == 0 })
		if got := ts.stats.Success.Load(); got != 3 {
			t.Errorf("num_success = %d", got)
		}
		if ts.stats.BytesUp.Load() != 5+1+3 || ts.stats.BytesDown.Load() != 5+5+1+3 {
			// Read-ahead bytes count as handshake bytes, not byt_up; their echo
			// is byt_down.
			t.Errorf("byt_up %d byt_down %d", ts.stats.BytesUp.Load(), ts.stats.BytesDown.Load())
		}
		if ts.stats.ServerRx.Load() == 0 || ts.stats.ServerTx.Load() == 0 {
			t.Errorf("handshake bytes not counted")
		}
	})
}

// blockRouter blocks until ctx is done.
var blockRouter = route.RouterFunc(func(ctx context.Context, _ *route.Request) (route.Decision, error) {
	<-ctx.Done()
	return route.Decision{}, ctx.Err()
})

func TestSOCKS5Replies(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		closed := testkit.ClosedPort(t).String()
		reject := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{Verdict: route.Reject}, nil
		})
		failing := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{}, errors.New("ruleset is not a table")
		})
		badTarget := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Direct("no port"), nil
		})
		badHop := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{Verdict: route.Forward, Target: echo, Chain: route.MakeChain("socks4://x:1")}, nil
		})
		errno := func(e syscall.Errno) error { return &dial.Error{Kind: dial.Connect, Errno: e, Err: e} }
		tests := []struct {
			name     string
			router   route.Router
			dialErr  error
			realDial bool
			bind     bool
			timeout  float64
			req      []byte
			want     socks5.Reply
			counter  string
		}{
			{name: "refused", realDial: true, req: connectReq(t, closed), want: socks5.ConnectionRefused, counter: "upstream"},
			{name: "reject", router: reject, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "ruleset"},
			{name: "router error", router: failing, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "ruleset"},
			{name: "unparsable destination", router: badTarget, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "ruleset"},
			{name: "unparsable hop", router: badHop, realDial: true, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "ruleset"},
			{name: "resolve", dialErr: &dial.Error{Kind: dial.Resolve}, req: connectReq(t, "nx.invalid:80"), want: socks5.HostUnreachable, counter: "upstream"},
			{name: "net unreachable", dialErr: errno(syscall.ENETUNREACH), req: connectReq(t, echo), want: socks5.NetworkUnreachable, counter: "upstream"},
			{name: "host unreachable", dialErr: errno(syscall.EHOSTUNREACH), req: connectReq(t, echo), want: socks5.HostUnreachable, counter: "upstream"},
			{name: "connection refused errno", dialErr: errno(syscall.ECONNREFUSED), req: connectReq(t, echo), want: socks5.ConnectionRefused, counter: "upstream"},
			{name: "timed out errno", dialErr: errno(syscall.ETIMEDOUT), req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "upstream"},
			{name: "blocked", dialErr: &dial.Error{Kind: dial.Blocked}, req: connectReq(t, echo), want: socks5.NotAllowed, counter: "upstream"},
			{name: "proxy auth", dialErr: &dial.Error{Kind: dial.ProxyAuth}, req: connectReq(t, echo), want: socks5.NotAllowed, counter: "upstream"},
			{name: "proxy rejected", dialErr: &dial.Error{Kind: dial.ProxyRejected}, req: connectReq(t, echo), want: socks5.NotAllowed, counter: "upstream"},
			{name: "proxy refused", dialErr: &dial.Error{Kind: dial.ProxyRefused}, req: connectReq(t, echo), want: socks5.ConnectionRefused, counter: "upstream"},
			{name: "proxy protocol", dialErr: &dial.Error{Kind: dial.ProxyProtocol}, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "upstream"},
			{name: "unexpected eof", dialErr: &dial.Error{Kind: dial.UnexpectedEOF}, req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "upstream"},
			{name: "not a dial error", dialErr: errors.New("boom"), req: connectReq(t, echo), want: socks5.GeneralFailure, counter: "upstream"},
			{name: "timeout after request", router: blockRouter, timeout: 0.2, req: connectReq(t, echo), want: socks5.TTLExpired, counter: "timeout"},
			{name: "bind disabled", req: []byte{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}, want: socks5.CommandNotSupported},
			{name: "udp disabled", req: []byte{5, 3, 0, 1, 0, 0, 0, 0, 0, 0}, want: socks5.CommandNotSupported},
			{name: "unknown command", req: []byte{5, 9, 0, 1}, want: socks5.CommandNotSupported},
			{name: "command checked before the address", req: []byte{5, 4}, want: socks5.CommandNotSupported},
			{name: "address type", req: []byte{5, 1, 0, 2, 0, 0}, want: socks5.AddressTypeNotSupported},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				conf := testConfig()
				if tc.timeout > 0 {
					conf.Timeout = tc.timeout
				}
				var d Dialer
				if !tc.realDial {
					d = &fakeDialer{err: tc.dialErr}
				}
				ts := startServer(t, conf, tc.router, d)
				c := dialProxy(t, ts.addr)
				r, bnd := request5(t, c, tc.req...)
				if r != tc.want {
					t.Fatalf("reply %v (%d), want %v", r, r, tc.want)
				}
				if bnd != (addr.Addr{}) && (bnd.Kind() != addr.IPv4 || !bnd.IP().IsUnspecified() || bnd.Port() != 0) {
					t.Fatalf("failure BND %v", bnd)
				}
				expectClosed(t, c)
				testkit.WaitFor(t, "the connection to end", func() bool { return ts.stats.HalfOpen.Load() == 0 })
				st := ts.stats
				got := map[string]uint64{"ruleset": st.RejectRuleset.Load(), "upstream": st.RejectUpstream.Load(), "timeout": st.RejectTimeout.Load()}
				for k, v := range got {
					want := uint64(0)
					if k == tc.counter {
						want = 1
					}
					if v != want {
						t.Errorf("reject %s = %d, want %d", k, v, want)
					}
				}
			})
		}
	})
}

func TestSOCKS5Negotiation(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		var mu sync.Mutex
		var seen route.Request
		record := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
			mu.Lock()
			seen = *req
			mu.Unlock()
			if req.Cred.Password != "good" {
				return route.Decision{Verdict: route.Reject}, nil
			}
			return route.Direct(echo), nil
		})
		authConf := testConfig()
		authConf.AuthRequired = true
		auth := startServer(t, authConf, record, nil)
		open := startServer(t, testConfig(), nil, nil)
		userpass := func(u, p string) []byte { b, _ := socks5.AppendUserPass(nil, u, p); return b }
		tests := []struct {
			name   string
			srv    *testServer
			send   []byte
			expect []byte // exact bytes before the server closes
		}{
			{name: "only no-auth when required", srv: auth, send: []byte{5, 1, 0}, expect: []byte{5, 0xff}},
			{name: "gssapi only", srv: open, send: []byte{5, 1, 1}, expect: []byte{5, 0xff}},
			{name: "no methods", srv: open, send: []byte{5, 0}, expect: []byte{5, 0xff}},
			{name: "empty user", srv: auth, send: append([]byte{5, 1, 2}, userpass("", "x")...), expect: []byte{5, 2, 1, 1}},
			{name: "empty password", srv: auth, send: append([]byte{5, 1, 2}, userpass("x", "")...), expect: []byte{5, 2, 1, 1}},
			{name: "bad auth version", srv: auth, send: []byte{5, 1, 2, 5, 1, 'u', 1, 'p'}, expect: []byte{5, 2}},
			{name: "bad request version", srv: open, send: []byte{5, 1, 0, 4, 1, 0, 1, 1, 2, 3, 4, 0, 80}, expect: []byte{5, 0}},
			{name: "wrong password is a request failure", srv: auth,
				send:   append(append([]byte{5, 1, 2}, userpass("alice", "bad")...), connectReq(t, echo)...),
				expect: []byte{5, 2, 1, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := dialProxy(t, tc.srv.addr)
				mustWrite(t, c, tc.send)
				got := readN(t, c, len(tc.expect))
				if !bytes.Equal(got, tc.expect) {
					t.Fatalf("got % x, want % x", got, tc.expect)
				}
				expectClosed(t, c)
			})
		}

		t.Run("client order picks user/pass without auth-required", func(t *testing.T) {
			c := dialProxy(t, open.addr)
			mustWrite(t, c, append(append([]byte{5, 2, 2, 0}, userpass("u", "p")...), connectReq(t, echo)...))
			if got := readN(t, c, 4); !bytes.Equal(got, []byte{5, 2, 1, 0}) {
				t.Fatalf("got % x", got)
			}
			if r, _ := readReply5(t, c); r != socks5.Succeeded {
				t.Fatal(r)
			}
			echoRoundTrip(t, c, "ok")
		})

		t.Run("credentials reach the router", func(t *testing.T) {
			c := dialProxy(t, auth.addr)
			mustWrite(t, c, append(append([]byte{5, 1, 2}, userpass("alice", "good")...), connectReq(t, "[::ffff:127.0.0.1]:9")...))
			readN(t, c, 4)
			if r, _ := readReply5(t, c); r != socks5.Succeeded {
				t.Fatal(r)
			}
			echoRoundTrip(t, c, "ok")
			mu.Lock()
			defer mu.Unlock()
			want := route.Request{Callback: route.Route6, Addr: "[::ffff:127.0.0.1]:9",
				Cred: route.Credentials{Username: "alice", Password: "good", HasUsername: true, HasPassword: true}}
			if !sameRequest(seen, want) {
				t.Fatalf("router saw %+v", seen)
			}
		})
	})
}

func TestSOCKS4(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		ap := netip.MustParseAddrPort(echo)
		var mu sync.Mutex
		var seen []route.Request
		record := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
			mu.Lock()
			r := *req
			seen = append(seen, r)
			mu.Unlock()
			if strings.HasPrefix(req.Addr, "deny") {
				return route.Decision{Verdict: route.Error, Reason: "denied"}, nil
			}
			return route.Direct(echo), nil
		})
		ts := startServer(t, testConfig(), record, nil)
		plain := startServer(t, testConfig(), nil, nil)
		req4 := func(user string, a addr.Addr) []byte {
			b, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: a, UserID: user})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		granted := []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}
		rejected := []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}

		t.Run("socks4 with pipelined bytes", func(t *testing.T) {
			c := dialProxy(t, plain.addr)
			mustWrite(t, c, append(req4("bob", addr.FromAddrPort(ap)), "hi"...))
			if got := readN(t, c, 8); !bytes.Equal(got, granted) {
				t.Fatalf("reply % x", got)
			}
			if got := readN(t, c, 2); string(got) != "hi" {
				t.Fatalf("%q", got)
			}
			echoRoundTrip(t, c, "again")
		})
		t.Run("socks4a to the router", func(t *testing.T) {
			c := dialProxy(t, ts.addr)
			mustWrite(t, c, req4("", addr.FromDomain("Host.Example", 8080)))
			if got := readN(t, c, 8); !bytes.Equal(got, granted) {
				t.Fatalf("reply % x", got)
			}
			echoRoundTrip(t, c, "4a")
			mu.Lock()
			defer mu.Unlock()
			want := route.Request{Callback: route.Resolve, Addr: "Host.Example:8080", Cred: route.Credentials{HasUsername: true}}
			if len(seen) == 0 || !sameRequest(seen[len(seen)-1], want) {
				t.Fatalf("router saw %+v", seen)
			}
		})
		t.Run("socks4 user id reaches route", func(t *testing.T) {
			c := dialProxy(t, ts.addr)
			mustWrite(t, c, req4("carol", addr.FromAddrPort(netip.MustParseAddrPort("10.1.2.3:80"))))
			readN(t, c, 8)
			mu.Lock()
			defer mu.Unlock()
			want := route.Request{Callback: route.Route, Addr: "10.1.2.3:80", Cred: route.Credentials{Username: "carol", HasUsername: true}}
			if !sameRequest(seen[len(seen)-1], want) {
				t.Fatalf("router saw %+v", seen[len(seen)-1])
			}
		})
		tests := []struct {
			name string
			srv  *testServer
			send []byte
			want []byte
		}{
			{name: "rejected by ruleset", srv: ts, send: req4("", addr.FromDomain("deny.example", 80)), want: rejected},
			{name: "bind", srv: plain, send: []byte{4, 2, 0, 80, 127, 0, 0, 1, 0}, want: rejected},
			{name: "refused", srv: plain, send: req4("", addr.FromAddrPort(testkit.ClosedPort(t))), want: rejected},
			{name: "user id too long", srv: plain, send: append([]byte{4, 1, 0, 80, 127, 0, 0, 1}, bytes.Repeat([]byte{'u'}, 300)...), want: rejected},
			{name: "domain too long", srv: plain, send: append([]byte{4, 1, 0, 80, 0, 0, 0, 1, 0}, bytes.Repeat([]byte{'d'}, 300)...), want: rejected},
			{name: "not socks", srv: plain, send: []byte("GET / HTTP/1.1\r\n\r\n"), want: nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := dialProxy(t, tc.srv.addr)
				mustWrite(t, c, tc.send)
				if tc.want != nil {
					if got := readN(t, c, len(tc.want)); !bytes.Equal(got, tc.want) {
						t.Fatalf("got % x", got)
					}
				}
				expectClosed(t, c)
			})
		}

		// Under --auth-required the user ID still goes to the ruleset as the
		// username, the password absent, and the ruleset's answer stands.
		conf := testConfig()
		conf.AuthRequired = true
		authed := startServer(t, conf, record, nil)
		for _, tc := range []struct {
			name, user string
			a          addr.Addr
			cb         route.Callback
			want       []byte
		}{
			{name: "auth required, socks4 user id", user: "u", a: addr.FromAddrPort(ap), cb: route.Route, want: granted},
			{name: "auth required, empty socks4 user id", user: "", a: addr.FromAddrPort(ap), cb: route.Route, want: granted},
			{name: "auth required, socks4a user id", user: "v", a: addr.FromDomain("Host.Example", 8080), cb: route.Resolve, want: granted},
			{name: "auth required, ruleset refuses", user: "w", a: addr.FromDomain("deny.example", 80), cb: route.Resolve, want: rejected},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dialProxy(t, authed.addr)
				mustWrite(t, c, req4(tc.user, tc.a))
				if got := readN(t, c, 8); !bytes.Equal(got, tc.want) {
					t.Fatalf("got % x", got)
				}
				mu.Lock()
				defer mu.Unlock()
				want := route.Request{Callback: tc.cb, Addr: tc.a.String(), Cred: route.Credentials{Username: tc.user, HasUsername: true}}
				if len(seen) == 0 || !sameRequest(seen[len(seen)-1], want) {
					t.Fatalf("router saw %+v, want %+v", seen, want)
				}
			})
		}
	})
}

func TestHalfOpenTimeout(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		conf := testConfig()
		conf.Timeout = 0.2
		ts := startServer(t, conf, blockRouter, nil)
		tests := []struct {
			name string
			send []byte
			want []byte
		}{
			{name: "nothing sent", send: nil},
			{name: "socks5 greeting only", send: []byte{5, 1, 0}, want: []byte{5, 0}},
			{name: "socks5 partial request", send: []byte{5, 1, 0, 5, 1, 0, 3, 10, 'a'}, want: []byte{5, 0}},
			{name: "socks4 partial", send: []byte{4, 1, 0, 80, 127}},
			{name: "socks4 parsed then router hangs", send: []byte{4, 1, 0, 80, 127, 0, 0, 1, 0}},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := dialProxy(t, ts.addr)
				if tc.send != nil {
					mustWrite(t, c, tc.send)
				}
				if tc.want != nil {
					if got := readN(t, c, len(tc.want)); !bytes.Equal(got, tc.want) {
						t.Fatalf("got % x", got)
					}
				}
				start := time.Now()
				expectClosed(t, c)
				if d := time.Since(start); d > 3*time.Second {
					t.Fatalf("closed after %v", d)
				}
				testkit.WaitFor(t, "timeout counted", func() bool { return ts.stats.RejectTimeout.Load() == uint64(i+1) })
			})
		}
	})
}

func TestIPv6Listener(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skip("no IPv6 loopback")
		}
		ln.Close()
		echo := echoServer(t)
		conf := testConfig()
		conf.Listen = "[::1]:0"
		ts := startServer(t, conf, nil, nil)
		c := dialProxy(t, ts.addr)
		if r, _ := request5(t, c, connectReq(t, echo)...); r != socks5.Succeeded {
			t.Fatal(r)
		}
		echoRoundTrip(t, c, "v6")
	})
}

// sameRequest compares routing requests, ignoring the Dial hook.
func sameRequest(a, b route.Request) bool {
	return a.Callback == b.Callback && a.Addr == b.Addr && a.Cred == b.Cred
}

// TestIdleTunnelHoldsNoPipe checks that an idle relay holds no splice
// pipe: the pipes are lent only while a burst moves, and go back to
// core/splice's pool (closed here by splice.Release) when it ends.
func TestIdleTunnelHoldsNoPipe(t *testing.T) {
	pipes := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		n := 0
		for _, e := range ents {
			if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "pipe:") {
				n++
			}
		}
		return n
	}
	// Pipes the runtime pooled (or dropped, under the race detector) are
	// closed by finalizers once unreferenced; core/splice's idle ones by
	// Release.
	settle := func() int {
		runtime.GC()
		runtime.GC()
		splice.Release()
		return pipes()
	}
	bulk := strings.Repeat("a burst larger than the read buffer ", 3000)
	echo := echoServer(t)
	ts := startServer(t, testConfig(), nil, nil)
	before := settle()
	const n = 20
	for i := 0; i < n; i++ {
		c := openSession(t, ts.addr, echo)
		echoRoundTrip(t, c, "some bytes through the read path")
		echoRoundTrip(t, c, bulk) // spliced
	}
	testkit.WaitFor(t, "sessions", func() bool { return ts.stats.Sessions.Load() == n })
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := settle()
		if got <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pipe descriptors held by %d idle tunnels (%d before)", got, n, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDataWithFIN repeats short sessions whose last bytes and FIN arrive
// together, in both directions: the relay must see the EOF even though
// its readiness event came with the data.
func TestDataWithFIN(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		ts := startServer(t, testConfig(), nil, nil)
		req := append([]byte{5, 1, 0}, connectReq(t, echo)...)
		for i := 0; i < 200; i++ {
			c, err := net.Dial("tcp4", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			var reply [12]byte
			if _, err := io.ReadFull(c, reply[:]); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			if _, err := c.Write([]byte("last words")); err != nil {
				t.Fatal(err)
			}
			_ = c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			c.Close()
			if err != nil || string(got) != "last words" {
				t.Fatalf("cycle %d: %q, %v", i, got, err)
			}
		}
	})
}

// TestHalfCloseEndsCleanly checks both closing orders end with a clean EOF
// on each side, never a reset: the relay half-closes after the first EOF
// and lets close(2) carry the FIN after the second.
func TestHalfCloseEndsCleanly(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		for _, pipe := range []bool{false, true} {
			for _, clientFirst := range []bool{true, false} {
				name := fmt.Sprintf("pipe=%v/client first=%v", pipe, clientFirst)
				t.Run(name, func(t *testing.T) {
					got := make(chan string, 1)
					// The target reads to EOF and then answers (client first),
					// or speaks, half-closes and then reads to EOF.
					target := testkit.Serve(t, func(c net.Conn) {
						tc := c.(*net.TCPConn)
						if !clientFirst {
							_, _ = tc.Write([]byte("srv"))
							_ = tc.CloseWrite()
						}
						b, err := io.ReadAll(tc)
						got <- fmt.Sprintf("%s %v", b, err)
						if clientFirst {
							_, _ = tc.Write([]byte("srv"))
							_ = tc.CloseWrite()
						}
					})
					conf := testConfig()
					conf.Pipe = pipe
					ts := startServer(t, conf, nil, nil)
					c := dialProxy(t, ts.addr)
					request5(t, c, connectReq(t, target)...)
					tc := c.(*net.TCPConn)
					if !clientFirst {
						if b, err := io.ReadAll(tc); string(b) != "srv" || err != nil {
							t.Fatalf("client read %q, %v", b, err)
						}
					}
					mustWrite(t, c, []byte("cli"))
					if err := tc.CloseWrite(); err != nil {
						t.Fatal(err)
					}
					select {
					case s := <-got:
						if s != "cli <nil>" {
							t.Fatalf("target read %s", s)
						}
					case <-time.After(5 * time.Second):
						t.Fatal("target saw no EOF")
					}
					if clientFirst {
						if b, err := io.ReadAll(tc); string(b) != "srv" || err != nil {
							t.Fatalf("client read %q, %v", b, err)
						}
					}
				})
			}
		}
	})
}
