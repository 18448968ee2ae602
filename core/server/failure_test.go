package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// logRecord is one captured record with its attributes as text.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// captureHandler keeps every record, at every level.
type captureHandler struct {
	mu   sync.Mutex
	recs []logRecord
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: make(map[string]string)}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, rec)
	h.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// records returns the records at or above min.
func (h *captureHandler) records(min slog.Level) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range h.recs {
		if r.level >= min {
			out = append(out, r)
		}
	}
	return out
}

// idle reports whether the server has no connection left: every
// connection's log record, written before it is forgotten, is in.
func (s *Server) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) == 0
}

// closedUDPPort returns a loopback UDP address nobody listens on: a
// resolver pointed at it fails at once with "connection refused".
func closedUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// TestFailureLogLines provokes each per-request failure with a real
// client and checks that it produces exactly one record at Warning or
// above (what the default --loglevel 4 shows), at the original's level,
// with the client address, the target and the reason.
func TestFailureLogLines(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		refused := testkit.ClosedPort(t).String()
		echo := echoServer(t)
		tests := []struct {
			name    string
			conf    func(c *config.Config)
			dialer  func(t *testing.T) Dialer
			router  route.Router
			http    bool
			client  func(t *testing.T, c net.Conn)
			level   slog.Level
			msg     string
			target  string
			errText string // substring of the err attribute; "" means none
		}{
			{
				name: "socks5 connection refused",
				client: func(t *testing.T, c net.Conn) {
					if r, _ := request5(t, c, connectReq(t, refused)...); r != socks5.ConnectionRefused {
						t.Errorf("reply %v", r)
					}
				},
				level: config.LevelError, msg: "socks5: dial failed", target: refused, errText: "connection refused",
			},
			{
				name: "socks4 connection refused",
				client: func(t *testing.T, c net.Conn) {
					ap := netipAddrPort(t, refused)
					req, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: addr.FromAddrPort(ap)})
					if err != nil {
						t.Fatal(err)
					}
					mustWrite(t, c, req)
					if b := readN(t, c, 8); b[1] != byte(socks4.Rejected) {
						t.Errorf("reply % x", b)
					}
				},
				level: config.LevelError, msg: "socks4: dial failed", target: refused, errText: "connection refused",
			},
			{
				name: "name does not resolve",
				dialer: func(t *testing.T) Dialer {
					return dial.New(dial.Options{Nameserver: closedUDPPort(t)})
				},
				client: func(t *testing.T, c net.Conn) {
					if r, _ := request5(t, c, connectReq(t, "name.invalid:80")...); r != socks5.HostUnreachable {
						t.Errorf("reply %v", r)
					}
				},
				level: config.LevelError, msg: "socks5: dial failed", target: "name.invalid:80", errText: "name resolution failed",
			},
			{
				name: "blocked by --block-outbound",
				dialer: func(t *testing.T) Dialer {
					return dial.New(dial.Options{Block: dial.Policy{Loopback: true}})
				},
				client: func(t *testing.T, c net.Conn) {
					if r, _ := request5(t, c, connectReq(t, echo)...); r != socks5.NotAllowed {
						t.Errorf("reply %v", r)
					}
				},
				level: config.LevelError, msg: "socks5: dial failed", target: echo, errText: "blocked by policy",
			},
			{
				name: "no acceptable authentication method",
				client: func(t *testing.T, c net.Conn) {
					mustWrite(t, c, []byte{5, 1, 1}) // GSSAPI only
					if b := readN(t, c, 2); b[1] != byte(socks5.NoAcceptable) {
						t.Errorf("method reply % x", b)
					}
				},
				level: config.LevelError, msg: "socks5: no acceptable authentication method",
			},
			{
				name: "garbage bytes",
				client: func(t *testing.T, c net.Conn) {
					mustWrite(t, c, []byte("GET / HTTP/1.1\r\n\r\n"))
				},
				level: config.LevelError, msg: "socks: invalid socks message", errText: "version 0x47",
			},
			{
				name: "unsupported address type",
				client: func(t *testing.T, c net.Conn) {
					if r, _ := request5(t, c, 5, 1, 0, 9, 0, 0); r != socks5.AddressTypeNotSupported {
						t.Errorf("reply %v", r)
					}
				},
				level: config.LevelError, msg: "socks5: invalid socks message", errText: "address type",
			},
			{
				name: "command not enabled",
				client: func(t *testing.T, c net.Conn) {
					req, err := socks5.AppendRequest(nil, socks5.Request{Command: socks5.Bind, Addr: addr.FromAddrPort(netipAddrPort(t, echo))})
					if err != nil {
						t.Fatal(err)
					}
					if r, _ := request5(t, c, req...); r != socks5.CommandNotSupported {
						t.Errorf("reply %v", r)
					}
				},
				level: config.LevelWarning, msg: "socks5: command not supported", errText: "command not supported",
			},
			{
				name: "handshake timeout",
				conf: func(c *config.Config) { c.Timeout = 0.2 },
				client: func(t *testing.T, c net.Conn) {
					mustWrite(t, c, []byte{5, 1})
				},
				level: config.LevelWarning, msg: "socks5: handshake timeout", errText: "timeout",
			},
			{
				name:   "forward target refused",
				conf:   func(c *config.Config) { c.Forward = refused },
				client: func(*testing.T, net.Conn) {},
				level:  config.LevelError, msg: "forward: dial failed", target: refused, errText: "connection refused",
			},
			{
				name: "http connect refused",
				http: true,
				client: func(t *testing.T, c net.Conn) {
					mustWrite(t, c, []byte("CONNECT "+refused+" HTTP/1.1\r\nHost: "+refused+"\r\n\r\n"))
					if b, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 502") {
						t.Errorf("response %q, %v", b, err)
					}
				},
				level: config.LevelError, msg: "http: dial failed", target: refused, errText: "connection refused",
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				conf := testConfig()
				if tc.http {
					conf.Listen, conf.HTTPListen = "", "127.0.0.1:0"
				}
				if tc.conf != nil {
					tc.conf(conf)
				}
				var d Dialer
				if tc.dialer != nil {
					d = tc.dialer(t)
				}
				logs := new(captureHandler)
				ts := startServerWith(t, Options{Config: conf, Router: tc.router, Dialer: d, Logger: slog.New(logs)})
				a := ts.addr
				if tc.http {
					_, h := ts.Addrs()
					a = h.String()
				}
				c := dialProxy(t, a)
				tc.client(t, c)
				expectClosed(t, c)
				c.Close()
				testkit.WaitFor(t, "the connection to end", ts.idle)

				got := logs.records(config.LevelWarning)
				if len(got) != 1 {
					t.Fatalf("%d records at Warning or above, want 1: %+v\nall: %+v", len(got), got, logs.records(config.LevelVeryVerbose))
				}
				r := got[0]
				if r.level != tc.level || r.msg != tc.msg {
					t.Errorf("record %v %q, want %v %q", r.level, r.msg, tc.level, tc.msg)
				}
				if r.attrs["client"] != c.LocalAddr().String() {
					t.Errorf("client=%q, want %q", r.attrs["client"], c.LocalAddr())
				}
				if r.attrs["target"] != tc.target {
					t.Errorf("target=%q, want %q", r.attrs["target"], tc.target)
				}
				if e, ok := r.attrs["err"]; tc.errText == "" && ok || !strings.Contains(e, tc.errText) {
					t.Errorf("err=%q (present %v), want %q", e, ok, tc.errText)
				}
			})
		}
	})
}

// TestQuietOutcomes checks what stays below Warning: a session that ends
// cleanly (and logs no err attribute at all), a ruleset rejection (the
// engine logs its own), and a client that hangs up mid-handshake.
func TestQuietOutcomes(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		reject := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
			if req.Addr == echo {
				return route.Decision{Verdict: route.Forward, Target: echo}, nil
			}
			return route.Decision{Verdict: route.Reject}, nil
		})
		logs := new(captureHandler)
		ts := startServerWith(t, Options{Config: testConfig(), Router: reject, Logger: slog.New(logs)})

		c := dialProxy(t, ts.addr)
		if r, _ := request5(t, c, connectReq(t, echo)...); r != socks5.Succeeded {
			t.Fatalf("reply %v", r)
		}
		echoRoundTrip(t, c, "hello")
		c.(*net.TCPConn).CloseWrite()
		expectClosed(t, c)
		c.Close()

		c = dialProxy(t, ts.addr)
		if r, _ := request5(t, c, connectReq(t, "192.0.2.1:80")...); r != socks5.NotAllowed && r != socks5.GeneralFailure {
			t.Fatalf("reply %v", r)
		}
		expectClosed(t, c)
		c.Close()

		c = dialProxy(t, ts.addr)
		mustWrite(t, c, []byte{5, 2})
		c.Close()
		testkit.WaitFor(t, "the connections to end", ts.idle)

		if got := logs.records(config.LevelWarning); len(got) != 0 {
			t.Fatalf("records at Warning or above: %+v", got)
		}
		var closed []logRecord
		for _, r := range logs.records(config.LevelVeryVerbose) {
			if r.msg == "session closed" {
				closed = append(closed, r)
			}
		}
		if len(closed) != 1 {
			t.Fatalf("%d session records, want 1: %+v", len(closed), logs.records(config.LevelVeryVerbose))
		}
		if e, ok := closed[0].attrs["err"]; ok {
			t.Errorf("clean session logs err=%q", e)
		}
		if closed[0].attrs["target"] != echo || closed[0].attrs["up"] != "5" {
			t.Errorf("session record %+v", closed[0])
		}
	})
}

// netipAddrPort parses a literal ip:port.
func netipAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestUnparsableHopLogged checks that a hop URI the router named and the
// dialer cannot parse is logged with the URI, not only as "invalid
// address", and counts as the ruleset's refusal.
func TestUnparsableHopLogged(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		badHop := route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{Verdict: route.Forward, Target: echo, Chain: route.MakeChain("socks4://x:1")}, nil
		})
		logs := new(captureHandler)
		ts := startServerWith(t, Options{Config: testConfig(), Router: badHop, Logger: slog.New(logs)})
		c := dialProxy(t, ts.addr)
		if r, _ := request5(t, c, connectReq(t, echo)...); r != socks5.GeneralFailure {
			t.Fatalf("reply %v", r)
		}
		expectClosed(t, c)
		c.Close()
		testkit.WaitFor(t, "the connection to end", ts.idle)
		if n := ts.stats.RejectRuleset.Load(); n != 1 {
			t.Errorf("ruleset rejections %d, want 1", n)
		}
		var errs []string
		for _, r := range logs.records(config.LevelVeryVerbose) {
			if e, ok := r.attrs["err"]; ok {
				errs = append(errs, e)
			}
		}
		if len(errs) != 1 || !strings.Contains(errs[0], `"socks4://x:1"`) || !strings.Contains(errs[0], "rejected by ruleset") {
			t.Errorf("err attributes %q, want one naming the hop", errs)
		}
	})
}
