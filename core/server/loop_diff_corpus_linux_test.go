//go:build linux

package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Builders of client messages.

func s5greet(methods ...byte) []byte { return append([]byte{5, byte(len(methods))}, methods...) }

func s5auth(user, pass string) []byte {
	b := []byte{1, byte(len(user))}
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}

func s5ip(cmd byte, ap netip.AddrPort) []byte {
	b := []byte{5, cmd, 0}
	if ap.Addr().Is4() {
		b = append(b, 1)
		b = append(b, ap.Addr().AsSlice()...)
	} else {
		b = append(b, 4)
		b = append(b, ap.Addr().AsSlice()...)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

func s5name(cmd byte, name string, port uint16) []byte {
	b := []byte{5, cmd, 0, 3, byte(len(name))}
	b = append(b, name...)
	return binary.BigEndian.AppendUint16(b, port)
}

func s4ip(ap netip.AddrPort, user string) []byte {
	b := binary.BigEndian.AppendUint16([]byte{4, 1}, ap.Port())
	b = append(b, ap.Addr().AsSlice()...)
	b = append(b, user...)
	return append(b, 0)
}

func s4a(name string, port uint16, user string) []byte {
	b := binary.BigEndian.AppendUint16([]byte{4, 1}, port)
	b = append(b, 0, 0, 0, 1)
	b = append(b, user...)
	b = append(b, 0)
	b = append(b, name...)
	return append(b, 0)
}

func httpConnectHead(target string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func basic(user, pass string) string {
	return "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// Script steps.

func w(b []byte) diffOp           { return diffOp{write: b} }
func wseg(b []byte, n int) diffOp { return diffOp{write: b, seg: n} }
func r(n int) diffOp              { return diffOp{read: n} }
func shut() diffOp                { return diffOp{shut: true} }
func rst() diffOp                 { return diffOp{reset: true} }
func wait(d time.Duration) diffOp { return diffOp{pause: d} }
func onHTTP(ops ...diffOp) []diffOp {
	for i := range ops {
		ops[i].http = true
	}
	return ops
}
func on(conn int, op diffOp) diffOp { op.conn = conn; return op }

const (
	s5ReplyLen = 10 // with an IPv4 address
	connectOK  = len(http.ConnectEstablished)
)

func authRequired(c *config.Config) { c.AuthRequired = true }

// reload applies change to the running configuration (Reconfigure).
func reload(change func(*config.Config)) diffOp {
	return diffOp{act: func(s *Server, c config.Config, d Dialer) {
		change(&c)
		if err := s.Reconfigure(&c, d); err != nil {
			panic(err)
		}
	}}
}

// sessionStarted waits until the server counts a session: a client
// reads its reply a moment before the goroutine path starts the session,
// and a Shutdown in between closes it as half-open.
func sessionStarted() diffOp {
	return waitGauge(func(s *Server) bool { return s.stats.Sessions.Load() > 0 })
}

// requestSeen and bytesSeen wait (boundedly) until the server has parsed
// the case's request, or read n bytes of it: a step that acts on the
// server in some state of its handshake (Shutdown while it routes,
// resolves or reads) comes once it is in that state, not a fixed pause
// after the client's write, which a loaded machine outlasted (CI
// flakes: shutdown/in-greeting and async/shutdown/http-routing, the
// connection not yet accepted on one path when Shutdown came).
func requestSeen() diffOp {
	return waitGauge(func(s *Server) bool { return s.stats.Request.Load() > 0 })
}

func bytesSeen(n int) diffOp {
	return waitGauge(func(s *Server) bool { return s.stats.ServerRx.Load() >= uint64(n) })
}

// waitGauge waits (boundedly) until cond holds for the server: the
// gauges say what it has done with bytes the client sent.
func waitGauge(cond func(s *Server) bool) diffOp {
	return diffOp{act: func(s *Server, _ config.Config, _ Dialer) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond(s) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}}
}

// answered waits (boundedly) until the server of a case with one client
// connection has done what it will do with the sent bytes its client
// wrote, so that the client's next act (more bytes, a reset) does not
// race the server's answer: the server has ended the half-open phase
// (answered and closed, or started a session); or, on --http, written
// its one answer (an error page is followed by a linger that waits for
// the client); or it has read every byte without a complete request
// (Request not counted) and so waits for more or is failing the
// handshake at once, for which slack more is left, as the pause before
// this step leaves it after the write. A parsed request is answered
// before the half-open phase ends (at the latest by the timeout),
// however long a loaded machine takes.
func answered(sent int, http bool, slack time.Duration) diffOp {
	return diffOp{act: func(s *Server, _ config.Config, _ Dialer) {
		st := s.stats
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			// A server that has read has counted the connection half-open
			// first: ServerRx is loaded before HalfOpen, so that a
			// connection not yet accepted is not taken for one ended.
			rx := st.ServerRx.Load()
			if rx > 0 && st.HalfOpen.Load() == 0 || http && st.ServerTx.Load() > 0 {
				return
			}
			if rx >= uint64(sent) && st.Request.Load() == 0 {
				time.Sleep(slack)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}}
}

// setRouter installs a router that sends every request to to, or none
// when to is the zero AddrPort.
func setRouter(to netip.AddrPort) diffOp {
	return diffOp{act: func(s *Server, _ config.Config, _ Dialer) {
		if !to.IsValid() {
			s.SetRouter(nil)
			return
		}
		s.SetRouter(route.RouterFunc(func(context.Context, *route.Request) (route.Decision, error) {
			return route.Decision{Verdict: route.Forward, Target: to.String()}, nil
		}))
	}}
}
func shortTimeout(c *config.Config) { c.Timeout = 0.3 }

var (
	resetPattern = regexp.MustCompile(`(read|write) tcp ADDR->ADDR: (read|write): connection reset by peer`)
	txPattern    = regexp.MustCompile(` tx=\d+`)
)

// resetEitherWay is for a client that resets right after its bytes: the
// server learns of it from the read after them or from the write of its
// answer, whichever comes first, on either path; but always as a reset
// (never, say, as a broken pipe).
func resetEitherWay(r *diffResult) {
	for i, l := range r.logs {
		r.logs[i] = resetPattern.ReplaceAllString(l, "RESET")
	}
	r.stats = txPattern.ReplaceAllString(r.stats, "")
}

// greetingResetEitherWay is resetEitherWay for a client that resets right
// after its greeting: the reset may also come before the server's first
// read, which then fails having read nothing (the kernel drops the
// unread greeting with the reset), and the server ends the connection
// without a record, on either path (a CI flake: rx 3 and the record
// against rx 0 and none). Those two outcomes, exactly, are taken alike.
func greetingResetEitherWay(r *diffResult) {
	resetEitherWay(r)
	const read = `DEBUG "socks5: request failed" client="ADDR" err="RESET"`
	if strings.Contains(r.stats, " rx=3 ") && slices.Equal(r.logs, []string{read}) ||
		strings.Contains(r.stats, " rx=0 ") && len(r.logs) == 0 {
		r.stats = rxPattern.ReplaceAllString(r.stats, " rx=(3, or 0 if reset first) ")
		r.logs = []string{"(the greeting's record, or none if reset first)"}
	}
}

// handCases are written from socks.go and http.go, a case per branch.
func handCases(u *upstreams) []diffCase {
	echo, sink, closer, refused := u.echo, u.sink, u.closer, u.refused
	ok5 := cat(s5greet(0), s5ip(1, echo))
	cases := []diffCase{
		{name: "socks5/echo", ops: []diffOp{w(s5greet(0)), r(2), w(s5ip(1, echo)), r(s5ReplyLen), w([]byte("hello")), r(5), shut()}},
		{name: "socks5/one-packet-pipelined", ops: []diffOp{w(cat(ok5, []byte("data"))), r(2 + s5ReplyLen + 4), shut()}},
		{name: "socks5/half-close-after-request", ops: []diffOp{w(ok5), shut()}},
		{name: "socks5/pipelined-then-half-close", ops: []diffOp{w(cat(ok5, []byte("tail"))), shut()}},
		{name: "socks5/sink", ops: []diffOp{w(cat(s5greet(0), s5ip(1, sink), []byte("abc"))), r(12), w([]byte("def")), shut()}},
		{name: "socks5/upstream-closes-first", ops: []diffOp{w(cat(s5greet(0), s5ip(1, closer))), r(12 + 3), wait(20 * time.Millisecond), w([]byte("late")), shut()}},
		{name: "socks5/client-resets-in-session", ops: []diffOp{w(cat(s5greet(0), s5ip(1, sink))), r(12), w([]byte("x")), rst()}},
		{name: "socks5/reset-with-greeting", ops: []diffOp{w(s5greet(0)), rst()}, racy: greetingResetEitherWay},
		{name: "socks5/client-resets-in-handshake", ops: []diffOp{w(s5greet(0)), r(2), rst()}},
		{name: "socks5/client-resets-after-request", ops: []diffOp{w(cat(s5greet(0), s5name(1, "slow.test", 80))), wait(20 * time.Millisecond), rst()}, conf: shortTimeout},
		{name: "socks5/refused", ops: []diffOp{w(cat(s5greet(0), s5ip(1, refused)))}},
		{name: "socks5/name-refused", ops: []diffOp{w(cat(s5greet(0), s5name(1, "refused.test", 80)))}},
		{name: "socks5/name-echo", ops: []diffOp{w(cat(s5greet(0), s5name(1, "echo.test", 80), []byte("n"))), r(13), shut()}},
		{name: "socks5/localhost", ops: []diffOp{w(cat(s5greet(0), s5name(1, "localhost", echo.Port()), []byte("l"))), shut()}},
		{name: "socks5/nx-name", ops: []diffOp{w(cat(s5greet(0), s5name(1, "nx.invalid", 80)))}},
		{name: "socks5/blocked", ops: []diffOp{w(ok5)}, conf: func(c *config.Config) { c.BlockLoopback = true }},
		{name: "socks5/blocked-name", ops: []diffOp{w(cat(s5greet(0), s5name(1, "echo.test", 80)))}, conf: func(c *config.Config) { c.BlockLoopback = true }},
		{name: "socks5/timeout-after-request", ops: []diffOp{w(cat(s5greet(0), s5name(1, "slow.test", 80)))}, conf: shortTimeout},
		{name: "socks5/connect-timeout", ops: []diffOp{w(cat(s5greet(0), s5ip(1, u.hang)))}, conf: shortTimeout},
		{name: "socks4/connect-timeout", ops: []diffOp{w(s4ip(u.hang, ""))}, conf: shortTimeout},
		{name: "http/connect-timeout", ops: onHTTP(w(httpConnectHead(u.hang.String()))), conf: shortTimeout},
		{name: "shutdown/connecting", ops: []diffOp{w(cat(s5greet(0), s5ip(1, u.hang))), wait(10 * time.Millisecond), requestSeen(), {stop: 100 * time.Millisecond}}},
		{name: "socks5/timeout-in-greeting", ops: []diffOp{w([]byte{5, 2, 0})}, conf: shortTimeout},
		{name: "socks5/timeout-in-request", ops: []diffOp{w(s5greet(0)), r(2), w([]byte{5, 1, 0})}, conf: shortTimeout},
		{name: "socks5/timeout-before-anything", ops: []diffOp{wait(time.Millisecond)}, conf: shortTimeout},
		{name: "socks5/hang-up-before-anything", ops: []diffOp{shut()}},
		{name: "socks5/no-acceptable-method", ops: []diffOp{w(s5greet(0)), r(2)}, conf: authRequired},
		{name: "socks5/no-methods", ops: []diffOp{w(s5greet())}},
		{name: "socks5/userpass", ops: []diffOp{w(cat(s5greet(0, 2), s5auth("u", "p"), s5ip(1, echo), []byte("a"))), r(2 + 2 + s5ReplyLen + 1), shut()}, conf: authRequired},
		{name: "socks5/userpass-offered", ops: []diffOp{w(cat(s5greet(2), s5auth("u", "p"), s5ip(1, echo))), shut()}},
		{name: "socks5/empty-password", ops: []diffOp{w(cat(s5greet(2), s5auth("u", "")))}, conf: authRequired},
		{name: "socks5/bad-auth-version", ops: []diffOp{w(cat(s5greet(2), []byte{2, 1, 'u', 1, 'p'}))}},
		{name: "socks5/bind-disabled", ops: []diffOp{w(cat(s5greet(0), s5ip(2, echo)))}},
		{name: "socks5/udp-disabled", ops: []diffOp{w(cat(s5greet(0), s5ip(3, echo)))}},
		{name: "socks5/unknown-command", ops: []diffOp{w(cat(s5greet(0), s5ip(9, echo)))}},
		{name: "socks5/bad-atyp", ops: []diffOp{w(cat(s5greet(0), []byte{5, 1, 0, 7, 1, 2, 3, 4, 0, 80}))}},
		{name: "socks5/bad-request-version", ops: []diffOp{w(cat(s5greet(0), []byte{4, 1, 0, 1, 1, 2, 3, 4, 0, 80}))}},
		{name: "socks5/garbage-after-greeting", ops: []diffOp{w(cat(s5greet(0), []byte(strings.Repeat("garbage!", 200))))}},
		{name: "socks5/oversize-greeting-fill", ops: []diffOp{w(cat([]byte{5, 255}, make([]byte, 2000)))}},
		{name: "socks5/ipv6-target-refused", ops: []diffOp{w(cat(s5greet(0), s5ip(1, netip.AddrPortFrom(netip.IPv6Loopback(), refused.Port()))))}},
		{name: "socks5/bind-enabled", ops: []diffOp{w(cat(s5greet(0), s5ip(2, netip.MustParseAddrPort("127.0.0.1:0")))), r(2 + s5ReplyLen), shut()}, conf: func(c *config.Config) { c.SOCKS5Bind = true; c.Timeout = 0.3 }},
		{name: "socks4/echo", ops: []diffOp{w(s4ip(echo, "me")), r(8), w([]byte("x")), r(1), shut()}},
		{name: "socks4/pipelined", ops: []diffOp{w(cat(s4ip(echo, ""), []byte("ahead"))), shut()}},
		{name: "socks4a/echo", ops: []diffOp{w(cat(s4a("echo.test", 80, "id"), []byte("z"))), r(9), shut()}},
		{name: "socks4/refused", ops: []diffOp{w(s4ip(refused, ""))}},
		{name: "socks4a/nx", ops: []diffOp{w(s4a("nx.invalid", 80, ""))}},
		{name: "socks4a/slow", ops: []diffOp{w(s4a("slow.test", 80, ""))}, conf: shortTimeout},
		{name: "socks4/bad-command", ops: []diffOp{w([]byte{4, 2, 0, 80, 127, 0, 0, 1, 0})}},
		{name: "socks4/user-too-long", ops: []diffOp{w(cat([]byte{4, 1, 0, 80, 127, 0, 0, 1}, []byte(strings.Repeat("u", 600)), []byte{0}))}},
		{name: "socks4/timeout-in-request", ops: []diffOp{w([]byte{4, 1, 0})}, conf: shortTimeout},
		{name: "socks4/hang-up-in-request", ops: []diffOp{w([]byte{4, 1, 0}), shut()}},
		{name: "not-socks", ops: []diffOp{w([]byte("GET / HTTP/1.0\r\n\r\n"))}},
		{name: "max-sessions", conf: func(c *config.Config) { c.MaxSessions = 1 }, ops: []diffOp{
			w(ok5), r(2 + s5ReplyLen), on(1, diffOp{}), on(1, wait(20*time.Millisecond)), on(1, w(ok5)), on(1, shut()), shut()}},
		{name: "startup-limit-full", conf: func(c *config.Config) { c.StartupLimitFull = 1 }, ops: []diffOp{
			w(s5greet(0)), r(2), on(1, diffOp{}), on(1, wait(20*time.Millisecond)), on(1, shut()), w(s5ip(1, echo)), shut()}},
		{name: "socks5/upstream-resets", ops: []diffOp{w(cat(s5greet(0), s5name(1, "resetter.test", 80))), r(12), w([]byte("boom")), wait(20 * time.Millisecond)}},
		{name: "socks5/upstream-resets-read-ahead", ops: []diffOp{w(cat(s5greet(0), s5name(1, "resetter.test", 80), []byte("boom"))), shut()}},
		{name: "socks5/upstream-bulk", ops: []diffOp{w(cat(s5greet(0), s5name(1, "bulk.test", 80))), r(12 + bulkSize), w([]byte("after")), shut()}},
		{name: "socks5/client-bulk", ops: []diffOp{w(cat(s5greet(0), s5ip(1, sink))), r(12), w(bytes.Repeat([]byte("u"), 3*bulkSize)), shut()}},
		{name: "socks5/client-bulk-pipelined", ops: []diffOp{w(cat(s5greet(0), s5ip(1, sink), bytes.Repeat([]byte("v"), 2000))), shut()}},
		{name: "socks5/bulk-pipe", conf: func(c *config.Config) { c.Pipe = true }, ops: []diffOp{w(cat(s5greet(0), s5name(1, "bulk.test", 80))), r(12 + bulkSize), shut()}},
		{name: "shutdown/in-greeting", ops: []diffOp{w([]byte{5, 2}), wait(10 * time.Millisecond), bytesSeen(2), {stop: 100 * time.Millisecond}}},
		{name: "shutdown/after-greeting", ops: []diffOp{w(s5greet(0)), r(2), {stop: 100 * time.Millisecond}}},
		{name: "shutdown/resolving", ops: []diffOp{w(cat(s5greet(0), s5name(1, "slow.test", 80))), wait(10 * time.Millisecond), requestSeen(), {stop: 100 * time.Millisecond}}},
		{name: "shutdown/session", ops: []diffOp{w(ok5), r(12), w([]byte("a")), r(1), sessionStarted(), {stop: 50 * time.Millisecond}}},
		{name: "shutdown/session-idle", ops: []diffOp{w(ok5), r(12), sessionStarted(), {stop: time.Millisecond}}},
		{name: "shutdown/session-bulk", ops: []diffOp{w(cat(s5greet(0), s5name(1, "bulk.test", 80))), r(12 + 100), sessionStarted(), {stop: 10 * time.Millisecond}}},
		{name: "shutdown/session-pipe", conf: func(c *config.Config) { c.Pipe = true }, ops: []diffOp{w(ok5), r(12), sessionStarted(), {stop: 10 * time.Millisecond}}},
		{name: "shutdown/http-head", ops: onHTTP(w([]byte("CONNECT x:1 HTTP/1.1\r\n")), wait(10*time.Millisecond), bytesSeen(len("CONNECT x:1 HTTP/1.1\r\n")), diffOp{stop: 100 * time.Millisecond})},
		{name: "shutdown/http-session", ops: onHTTP(w(httpConnectHead(echo.String())), r(connectOK), sessionStarted(), diffOp{stop: 50 * time.Millisecond})},
		{name: "reload/auth-required-before-greeting", ops: []diffOp{{}, reload(func(c *config.Config) { c.AuthRequired = true }), w(s5greet(0)), r(2)}},
		{name: "reload/auth-dropped-after-greeting", conf: authRequired, ops: []diffOp{w(s5greet(0, 2)), r(2), reload(func(c *config.Config) { c.AuthRequired = false }), w(cat(s5auth("u", "p"), s5ip(1, echo))), shut()}},
		{name: "reload/shorter-timeout", ops: []diffOp{
			w([]byte{5, 1}), waitGauge(func(s *Server) bool { return s.stats.HalfOpen.Load() == 1 }), reload(func(c *config.Config) { c.Timeout = 0.2 }), on(1, w([]byte{5, 1})), wait(400 * time.Millisecond),
			w([]byte{0}), w(s5ip(1, echo)), r(2 + s5ReplyLen), shut()}},
		{name: "reload/max-sessions", ops: []diffOp{w(ok5), r(12), reload(func(c *config.Config) { c.MaxSessions = 1 }), on(1, diffOp{}), on(1, wait(20*time.Millisecond)), on(1, shut()), shut()}},
		{name: "reload/nodelay-off", ops: []diffOp{reload(func(c *config.Config) { c.TCPNoDelay = false }), w(ok5), r(12), shut()}},
		{name: "reload/router-while-half-open", ops: []diffOp{w(s5greet(0)), r(2), setRouter(u.sink), w(s5ip(1, echo)), r(s5ReplyLen), w([]byte("to sink")), shut()}},
		{name: "reload/router-http-half-open", ops: onHTTP(w([]byte("CONNECT ")), waitGauge(func(s *Server) bool { return s.stats.HalfOpen.Load() == 1 }), setRouter(u.sink), w([]byte(echo.String()+" HTTP/1.1\r\n\r\nsunk?")), shut())},
		{name: "reload/router-cleared", racy: peakEitherWay, ops: []diffOp{setRouter(u.sink), w(s5greet(0)), r(2), setRouter(netip.AddrPort{}), loopOwnsListeners(), w(s5ip(1, echo)), r(s5ReplyLen), sessionStarted(), on(1, w(ok5)), on(1, r(12)), on(1, shut()), shut()}},
		{name: "no-nodelay", conf: func(c *config.Config) { c.TCPNoDelay = false }, ops: []diffOp{w(ok5), r(12), w([]byte("q")), shut()}},
	}
	if u.echo6.IsValid() {
		cases = append(cases,
			diffCase{name: "socks5/ipv6-echo", ops: []diffOp{w(cat(s5greet(0), s5ip(1, u.echo6), []byte("six"))), r(2 + 22 + 3), shut()}},
			diffCase{name: "http/connect-ipv6", ops: onHTTP(w(httpConnectHead(u.echo6.String())), r(connectOK), shut())},
		)
	}
	cases = append(cases, httpCases(u)...)
	// Every SOCKS message split at every byte, with pauses. Where the
	// server acts on a part of the first write, the rest may be read
	// with that part or after it (bytewiseEitherWay): need is that part.
	greet, req5 := len(s5greet(0)), len(s5ip(1, echo))
	acts := map[string]bytewiseAct{
		// A session: need is the request's end.
		"socks4/pipelined":                 {need: len(s4ip(echo, ""))},
		"socks4a/echo":                     {need: len(s4a("echo.test", 80, "id"))},
		"socks5/one-packet-pipelined":      {need: greet + req5},
		"socks5/pipelined-then-half-close": {need: greet + req5},
		"socks5/sink":                      {need: greet + req5},
		"socks5/name-echo":                 {need: greet + len(s5name(1, "echo.test", 80))},
		"socks5/localhost":                 {need: greet + len(s5name(1, "localhost", 80))},
		"socks5/userpass":                  {need: len(s5greet(0, 2)) + len(s5auth("u", "p")) + req5},
		"socks5/ipv6-echo":                 {need: greet + len(s5ip(1, u.echo6))},
		// A failure (protocols §4.2, §4.3): the command is checked once
		// VER and CMD are in, the address type once ATYP is, the
		// sub-negotiation's version once its first byte is.
		"socks5/udp-disabled":        {need: greet + 2, fails: true},
		"socks5/bind-disabled":       {need: greet + 2, fails: true},
		"socks5/unknown-command":     {need: greet + 2, fails: true},
		"socks5/bad-request-version": {need: greet + 2, fails: true},
		"socks5/bad-atyp":            {need: greet + 4, fails: true},
		"socks5/bad-auth-version":    {need: len(s5greet(2)) + 1, fails: true},
	}
	var split []diffCase
	for _, c := range cases {
		if !strings.HasPrefix(c.name, "socks") || len(c.ops) == 0 || len(c.ops[0].write) == 0 || len(c.ops[0].write) > 100 || c.ops[0].http {
			continue
		}
		if c.ops[len(c.ops)-1].reset && len(c.ops) == 2 {
			continue // a reset right after the bytes races with their reads
		}
		ops := append([]diffOp(nil), c.ops...)
		ops[0].seg = 1
		racy := writeFailEitherWay
		if a, ok := acts[c.name]; ok {
			a.sent = len(ops[0].write)
			for _, op := range ops[1:] {
				a.later += len(op.write)
			}
			racy = bytewiseEitherWay(a)
		}
		if c.name == "socks5/upstream-resets-read-ahead" {
			racy = resetterEitherWay(greet+len(s5name(1, "resetter.test", 80)), []byte("boom"))
		}
		if c.racy != nil {
			bytewise := racy
			racy = func(r *diffResult) { c.racy(r); bytewise(r) }
		}
		bc := diffCase{name: c.name + "/bytewise", conf: c.conf, ops: ops, racy: racy}
		if conf := config.Default(); c.conf != nil {
			c.conf(&conf)
			if conf.Timeout < 1 {
				bc.cut = deadlineCut(ops)
				if c.name == "socks5/client-resets-after-request" {
					bc.racy = func(r *diffResult) { racy(r); lateReplyEitherWay(r) }
				}
			}
		}
		split = append(split, bc)
	}
	return append(cases, split...)
}

// writeFailEitherWay is the racy hook of the bytewise cases: a client
// still sending its message a byte at a time when the server fails it
// and closes sees its next write fail with a reset or a broken pipe,
// depending on whether the server's reset had arrived when it wrote (a
// CI flake: socks5/bad-atyp/bytewise). That the write failed, and
// everything else, is still compared.
func writeFailEitherWay(r *diffResult) {
	for i, c := range r.client {
		r.client[i] = strings.ReplaceAll(c, "<write: reset>", "<write: broken pipe>")
	}
}

// bytewiseAct is where the server of a bytewise case acts on its
// client's first write of sent bytes before the client has sent all of
// it: once it has read need bytes it answers, and then dials (the rest
// is pipelined, and later bytes the client writes after the first write
// relayed) or, if fails, closes.
type bytewiseAct struct {
	need, sent, later int
	fails             bool
}

// bytewiseEitherWay is the racy hook of a bytewise case whose server acts
// on a part of the first write (a): the read that completes that part
// takes every byte that has arrived by then, on either path, so a server
// that comes to read a moment late (a loaded machine, -race, a loop
// that runs its first batch) reads some of the bytes after it too.
// ServerRx may then be anything from a.need to all sent bytes, and no
// other value (CI flakes: socks5/udp-disabled/bytewise rx 7, 9, 11 or 13
// against 5, and 5 against 10; socks4/pipelined/bytewise rx 14 and up 0
// against rx 9 and up 5). A session relays what the handshake did not
// read (BytesUp, the record's up) with the later writes' bytes, so that
// rx+up is every byte sent. A server that fails closes with the rest
// unread or still to come: the client's late write fails or not, and its
// connection ends with a reset (bytes unread at the close) or an end,
// unless the server read every byte, when neither can happen. Everything
// else, and these counters where they fall outside that set, is
// compared as it is.
func bytewiseEitherWay(a bytewiseAct) func(*diffResult) {
	return func(r *diffResult) {
		writeFailEitherWay(r)
		g := upRxPattern.FindStringSubmatch(r.stats)
		if g == nil {
			return
		}
		up, _ := strconv.Atoi(g[1])
		rx, _ := strconv.Atoi(g[3])
		sent := a.sent
		if rx < a.need || rx > sent {
			return
		}
		upText := g[1]
		if !a.fails && up == sent-rx+a.later {
			upText = "the rest"
			for i, l := range r.logs {
				r.logs[i] = strings.ReplaceAll(l, fmt.Sprintf(`up="%d"`, up), `up="the rest"`)
			}
		}
		r.stats = upRxPattern.ReplaceAllString(r.stats, fmt.Sprintf("up=%s${2} rx=%d..%d", upText, a.need, sent))
		if !a.fails {
			return
		}
		const failed = "<write: broken pipe>"
		for i, c := range r.client {
			if rx == sent && (strings.Contains(c, failed) || !strings.HasSuffix(c, `" eof`)) {
				continue
			}
			c = strings.ReplaceAll(c, failed, "")
			r.client[i] = clientClose.ReplaceAllString(c, `" reset or eof`)
		}
	}
}

// deadlineCut is the cut hook of a bytewise case whose half-open timeout
// is short (0.3 s): a client sending a byte at a time on a loaded machine
// (-race, nice 19: a 0.5 ms pause can last tens of milliseconds) may
// still be sending when the timeout ends the handshake, on either path
// and at any byte (CI flakes: socks4a/slow/bytewise rx 14 against 19,
// socks5/timeout-in-request/bytewise rx 1 against 6). A result whose
// server read fewer than every byte the client writes and timed out is
// cut, and must then be what the server does with those bytes alone, as
// if the client had sent no more (protocols §2): the timeout ends the
// unfinished handshake silently (no SOCKS5 06, which needs a parsed request),
// counted as a timeout and not as a request, in a single record of a
// handshake timeout. All the server writes is the answer to a complete
// SOCKS5 greeting (method 00), or nothing where the deadline fell
// between reading the greeting and answering it; the client reads that
// alone (or, if it resets, what of it its script reads), its later
// writes may fail, and its connection ends, with a reset where bytes it
// sent were unread.
func deadlineCut(ops []diffOp) func(r *diffResult) (bool, error) {
	var msg []byte
	for _, op := range ops {
		msg = append(msg, op.write...)
	}
	return func(r *diffResult) (bool, error) {
		g := rxPattern.FindStringSubmatch(r.stats)
		if g == nil {
			return false, nil
		}
		k, _ := strconv.Atoi(g[1])
		if k >= len(msg) || !strings.Contains(r.stats, " reject_timeout=1 ") {
			// Every byte read, or none left unread by a timeout (a reset
			// that dropped them is compared as it is).
			return false, nil
		}
		got := msg[:k]
		proto, answers := "socks", [][]byte{nil}
		switch {
		case k > 0 && got[0] == 4:
			proto = "socks4"
		case k > 0 && got[0] == 5:
			proto = "socks5"
			if k >= 2 && k >= 2+int(got[1]) {
				answers = append(answers, []byte{5, 0})
			}
		}
		var bad []string
		if !strings.Contains(r.stats, " request=0 ") {
			bad = append(bad, "a request counted: "+r.stats)
		}
		record := fmt.Sprintf(`WARN "%s: handshake timeout" client="ADDR" err="read tcp ADDR->ADDR: i/o timeout"`, proto)
		if len(r.logs) != 1 || r.logs[0] != record {
			bad = append(bad, fmt.Sprintf("records %q, not %q", r.logs, record))
		}
		var m []string
		if len(r.client) == 1 {
			m = cutClient.FindStringSubmatch(r.client[0])
		}
		answered := false
		for _, a := range answers {
			q := fmt.Sprintf("%q", a)
			q = q[1 : len(q)-1]
			if m == nil || !strings.Contains(r.stats, fmt.Sprintf(" tx=%d ", len(a))) {
				continue
			}
			// A client that resets reads no more than its script does.
			read := cutMarks.ReplaceAllString(m[1], "")
			answered = answered || read == q || m[2] == "reset by client" && strings.HasPrefix(q, read)
		}
		if !answered {
			bad = append(bad, fmt.Sprintf("client %q and %s, not the answer to %q alone", r.client, r.stats, got))
		}
		if bad != nil {
			return true, fmt.Errorf("cut at byte %d of %d: %s", k, len(msg), strings.Join(bad, "; "))
		}
		return true, nil
	}
}

// lateReplyEitherWay is for a client that resets shortly after its
// SOCKS5 request, when sending it a byte at a time took it near the
// short timeout: the timeout's 06 reply is written before the reset
// arrives or fails on it, on either path (a CI flake of
// client-resets-after-request/bytewise: tx 12 against 2, both timed
// out). Only then, and only those two, are taken alike.
func lateReplyEitherWay(r *diffResult) {
	if len(r.client) != 1 || !strings.HasSuffix(r.client[0], " reset by client") || !strings.Contains(r.stats, " request=1 ") || !strings.Contains(r.stats, " reject_timeout=1 ") {
		return
	}
	for _, tx := range []string{" tx=2 ", " tx=12 "} {
		r.stats = strings.Replace(r.stats, tx, " tx=2, or 12 with the 06 reply ", 1)
	}
}

var (
	rxPattern = regexp.MustCompile(` rx=(\d+) `)
	// cutClient is a client's record of a cut handshake: what it read
	// (and the marks of its reads and failed writes), and its end.
	cutClient = regexp.MustCompile(`^"(.*)" (eof|reset|reset by client)$`)
	cutMarks  = regexp.MustCompile(`<write: (broken pipe|reset)>|<read: (eof|reset)>|\|`)
	cutFields = regexp.MustCompile(` (request|reject_timeout|rx|tx)=\d+`)
)

// maskCut hides of r what a cut handshake changes, once deadlineCut has
// checked it: one path's cut and the other's full handshake (or a cut at
// another byte) are then compared in everything else, and two full
// handshakes in everything.
func maskCut(r *diffResult) {
	r.stats = cutFields.ReplaceAllString(r.stats, " $1=?")
	r.logs = []string{"(a handshake the timeout may have cut)"}
	r.client = []string{"(a handshake the timeout may have cut)"}
}

// resetterEitherWay is the racy hook of upstream-resets-read-ahead's
// bytewise case: the session's first bytes go to an upstream that resets
// after its first read, while the client still sends them a byte at a
// time. The server reads j of the tail with the request (rx, need to
// need plus the tail: bytewiseEitherWay's race) and relays the rest as
// it comes, up bytes written before the reset is seen; what the
// upstream's one read takes is whatever of them has arrived, at least a
// byte, and the reset ends the session on whichever of its read or write
// comes first, while the client may still be writing (CI flakes: the
// upstream got "b" against "bo", up 1 against 2, rx 24 against 23, the
// record's error on a read against a write, the client's late write
// failing on one path). So, where j plus up covers what the upstream got
// and stays within the tail, rx, up, what the upstream got, the
// direction of the reset and the client's late write and end are
// compared as "either way"; everything else, and any other value, as
// it is.
func resetterEitherWay(need int, tail []byte) func(*diffResult) {
	return func(r *diffResult) {
		writeFailEitherWay(r)
		g := upRxPattern.FindStringSubmatch(r.stats)
		if g == nil || len(r.up) != 1 {
			return
		}
		up, _ := strconv.Atoi(g[1])
		rx, _ := strconv.Atoi(g[3])
		m := resetterGot.FindStringSubmatch(r.up[0])
		if m == nil {
			return
		}
		got, err := strconv.Unquote(`"` + m[1] + `"`)
		j := rx - need
		if err != nil || j < 0 || got == "" || !bytes.HasPrefix(tail, []byte(got)) || j+up < len(got) || j+up > len(tail) {
			return
		}
		r.stats = upRxPattern.ReplaceAllString(r.stats, "up=?${2} rx=?")
		r.up[0] = resetterGot.ReplaceAllString(r.up[0], `resetter got a part then $2`)
		for i, l := range r.logs {
			l = strings.ReplaceAll(l, fmt.Sprintf(`up="%d"`, up), `up="?"`)
			r.logs[i] = resetDirection.ReplaceAllString(l, `err="read or write tcp`)
		}
		for i, c := range r.client {
			c = strings.ReplaceAll(c, "<write: broken pipe>", "")
			r.client[i] = clientClose.ReplaceAllString(c, `" reset or eof`)
		}
	}
}

var (
	resetterGot    = regexp.MustCompile(`^resetter got "(.*)" then (eof|reset|error)$`)
	resetDirection = regexp.MustCompile(`err="(read|write) tcp`)
)

func httpCases(u *upstreams) []diffCase {
	echo, refused := u.echo.String(), u.refused.String()
	head := httpConnectHead(echo)
	// A head of exactly the limit and one byte over it.
	pad := func(total int) []byte {
		h := string(httpConnectHead(echo))
		filler := "X-Pad: "
		n := total - len(h) - len(filler) - 2
		return []byte(strings.TrimSuffix(h, "\r\n") + filler + strings.Repeat("p", n) + "\r\n\r\n")
	}
	return []diffCase{
		{name: "http/connect-echo", ops: onHTTP(w(head), r(connectOK), w([]byte("hi")), r(2), shut())},
		{name: "http/connect-pipelined", ops: onHTTP(w(cat(head, []byte("early"))), shut())},
		{name: "http/connect-pipelined-large", ops: onHTTP(w(cat(head, bytes.Repeat([]byte("x"), 6000))), shut())},
		{name: "http/connect-pipelined-over-head-limit", ops: onHTTP(w(cat(head, bytes.Repeat([]byte("y"), 9000))), shut())},
		{name: "http/connect-large-head-pipelined", ops: onHTTP(w(cat(pad(5000), bytes.Repeat([]byte("z"), 5000))), shut())},
		{name: "http/get-large-body", ops: onHTTP(w(cat([]byte("POST http://sink.test/x HTTP/1.1\r\nHost: sink.test\r\nContent-Length: 7000\r\n\r\n"), bytes.Repeat([]byte("b"), 7000))), shut()), conf: shortTimeout},
		{name: "http/connect-half-close", ops: onHTTP(w(head), shut())},
		{name: "http/connect-name", ops: onHTTP(w(httpConnectHead("echo.test:80")), shut())},
		{name: "http/connect-refused", ops: onHTTP(w(httpConnectHead(refused)), shut())},
		{name: "http/connect-nx", ops: onHTTP(w(httpConnectHead("nx.invalid:80")), shut())},
		{name: "http/connect-slow", ops: onHTTP(w(httpConnectHead("slow.test:80"))), conf: shortTimeout},
		{name: "http/connect-blocked", ops: onHTTP(w(head), shut()), conf: func(c *config.Config) { c.BlockLoopback = true }},
		{name: "http/connect-closer", ops: onHTTP(w(httpConnectHead("closer.test:1"))), conf: nil},
		{name: "http/connect-bad-target", ops: onHTTP(w(httpConnectHead("no-port")), shut())},
		{name: "http/auth-missing", ops: onHTTP(w(head), shut()), conf: authRequired},
		{name: "http/auth-bad-scheme", ops: onHTTP(w(httpConnectHead(echo, "Proxy-Authorization: Bearer x")), shut()), conf: authRequired},
		{name: "http/auth-ok", ops: onHTTP(w(httpConnectHead(echo, basic("u", "p"))), r(connectOK), shut()), conf: authRequired},
		{name: "http/auth-unrequired", ops: onHTTP(w(httpConnectHead(echo, basic("u", "p"))), shut())},
		{name: "http/auth-no-space", ops: onHTTP(w(httpConnectHead(echo, "Proxy-Authorization: Basic")), shut())},
		{name: "http/auth-bad-base64", ops: onHTTP(w(httpConnectHead(echo, "Proxy-Authorization: Basic !!!")), shut()), conf: authRequired},
		{name: "http/auth-no-colon", ops: onHTTP(w(httpConnectHead(echo, "Proxy-Authorization: Basic dXNlcg==")), shut()), conf: authRequired},
		{name: "http/auth-empty-password", ops: onHTTP(w(httpConnectHead(echo, basic("u", ""))), shut()), conf: authRequired},
		{name: "http/auth-lowercase-scheme", ops: onHTTP(w(httpConnectHead(echo, "Proxy-Authorization: basic dTpw")), shut()), conf: authRequired},
		{name: "http/get", ops: onHTTP(w([]byte("GET http://sink.test/x HTTP/1.1\r\nHost: sink.test\r\nContent-Length: 0\r\n\r\n")), shut()), conf: shortTimeout},
		{name: "http/malformed", ops: onHTTP(w([]byte("CONNECT\r\n\r\n")), shut())},
		{name: "http/head-at-limit", ops: onHTTP(w(pad(http.MaxHeadSize)), shut())},
		{name: "http/head-over-limit", ops: onHTTP(w(pad(http.MaxHeadSize+1)), shut())},
		{name: "http/head-unfinished", ops: onHTTP(w([]byte("CONNECT x:1 HTTP/1.1\r\n")), shut())},
		{name: "http/head-timeout", ops: onHTTP(w([]byte("CONNECT x:1 HTTP/1.1\r\n"))), conf: shortTimeout},
		{name: "http/connect-reset", ops: onHTTP(w(head), r(connectOK), rst())},
		{name: "http/connect-bytewise", ops: onHTTP(wseg(head, 7), r(connectOK), w([]byte("b")), shut())},
	}
}

// TestLoopDiff runs the hand-written corpus on both connection paths.
func TestLoopDiff(t *testing.T) {
	if !loopSupported {
		t.Skip("no event loop on this system")
	}
	u := newUpstreams(t)
	checkDiff(t, u, append(handCases(u), asyncCases(u)...))
}

// genCases are random SOCKS4/4A/5 and HTTP CONNECT heads, valid ones
// mutated, cut at random places, with data pipelined after them. A
// client that writes more or resets does so once the server has answered
// its head (answered), and not before pause has passed: a pause alone
// was not enough on a loaded machine (the asynchronous router's
// decisions take two goroutine hops more than a dial; at 5 ms, CI's load
// let a reset land before the reply on one path and after it on the
// other; at 5 and 50 ms it still did, a failure reply unwritten on
// one path: gen49 tx 12 against 2 under -race, async-gen8 2 against 12).
func genCases(u *upstreams, n int, seed uint64, pause time.Duration) []diffCase {
	rng := rand.New(rand.NewPCG(seed, 1))
	targets := []func() []byte{
		func() []byte { return cat(s5greet(0), s5ip(1, u.echo)) },
		func() []byte { return cat(s5greet(0), s5name(1, "echo.test", 80)) },
		func() []byte { return cat(s5greet(1, 0, 2), s5ip(1, u.sink)) },
		func() []byte { return cat(s5greet(2), s5auth("user", "pw"), s5ip(1, u.echo)) },
		func() []byte { return cat(s5greet(0), s5name(1, "nx.invalid", 80)) },
		func() []byte { return cat(s5greet(0), s5ip(1, u.refused)) },
		func() []byte { return s4ip(u.echo, "id") },
		func() []byte { return s4a("sink.test", 80, "") },
		func() []byte { return httpConnectHead(u.echo.String()) },
		func() []byte { return httpConnectHead("echo.test:80", basic("a", "b")) },
	}
	var cases []diffCase
	for i := range n {
		k := rng.IntN(len(targets))
		msg := targets[k]()
		isHTTP := k >= 8
		switch rng.IntN(4) {
		case 0: // a byte changed
			msg[rng.IntN(len(msg))] = byte(rng.IntN(256))
		case 1: // cut short
			msg = msg[:rng.IntN(len(msg))]
		}
		if rng.IntN(2) == 0 {
			msg = append(msg, []byte(fmt.Sprintf("pipelined-%d", i))...)
		}
		op := w(msg)
		racy := readAheadEitherWay
		if rng.IntN(3) == 0 {
			op.seg = 1 + rng.IntN(8)
			racy = lateEitherWay
		}
		ops := []diffOp{op}
		switch rng.IntN(3) {
		case 0:
			ops = append(ops, shut())
		case 1:
			ops = append(ops, wait(pause), answered(len(msg), isHTTP, pause), w([]byte("more")), shut())
			racy = lateEitherWay
		default:
			ops = append(ops, wait(pause), answered(len(msg), isHTTP, pause), rst())
			racy = lateEitherWay
		}
		if isHTTP {
			ops = onHTTP(ops...)
		}
		var conf func(*config.Config)
		if rng.IntN(4) == 0 {
			conf = authRequired
		}
		cases = append(cases, diffCase{name: fmt.Sprintf("gen%d", i), conf: conf, ops: ops, racy: racy})
	}
	return cases
}

// TestLoopDiffGenerated runs generated cases on both paths; -loopdiff.n
// sets how many and -loopdiff.seed which. A third as many more run under
// an asynchronous router that sends every request where it asked to go
// (asyncRouter: RouteAsync on the loop, Route on the goroutine path).
func TestLoopDiffGenerated(t *testing.T) {
	if !loopSupported {
		t.Skip("no event loop on this system")
	}
	u := newUpstreams(t)
	cases := genCases(u, *diffCount, *diffSeed, 5*time.Millisecond)
	for _, c := range genCases(u, *diffCount/3, *diffSeed+1, 50*time.Millisecond) {
		c.name = "async-" + c.name
		c.router = func() route.Router { return newAsyncRouter(asyncPlans(u)) }
		cases = append(cases, c)
	}
	checkDiff(t, u, cases)
}

// FuzzLoopDiff sends arbitrary bytes to the SOCKS listener or --http of a
// server on each path (mode bit 0: --http, bit 1: --auth-required, bit 2:
// sent one byte at a time, bit 3: the client resets instead of
// half-closing, once the server has answered: answered) and requires the
// same observations from both. The fuzzed bytes can name the test's
// upstreams (echo.test, 127.0.0.1 and the port of one) but nothing else:
// any other name fails to resolve without a lookup.
func FuzzLoopDiff(f *testing.F) {
	if !loopSupported {
		f.Skip("no event loop on this system")
	}
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x09echo.test\x00\x50hello"), uint8(0))
	f.Add([]byte("\x05\x01\x02\x01\x01u\x01p\x05\x01\x00\x03\x09sink.test\x00\x50data"), uint8(2))
	f.Add([]byte("\x04\x01\x00\x50\x00\x00\x00\x01id\x00echo.test\x00ahead"), uint8(4))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x0anx.invalid\x00\x50"), uint8(0))
	f.Add([]byte("\x05\x02\x00\x02\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x00"), uint8(8))
	f.Add([]byte("CONNECT echo.test:80 HTTP/1.1\r\nHost: x\r\n\r\nearly"), uint8(1))
	f.Add([]byte("CONNECT echo.test:80 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n"), uint8(3))
	f.Add([]byte("GET /origin-form HTTP/1.1\r\nHost: sink.test\r\n\r\n"), uint8(1))
	withLoop(f, true)
	u := newUpstreams(f)
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		if len(in) > 16<<10 || len(in) > 256 && mode&4 != 0 {
			return // the bytewise pauses would make an input slow
		}
		op := w(in)
		if mode&4 != 0 {
			op.seg = 1
		}
		ops := []diffOp{op, shut()}
		if mode&8 != 0 {
			ops = []diffOp{op, wait(20 * time.Millisecond), answered(len(in), mode&1 != 0, 20*time.Millisecond), rst()}
		}
		if mode&1 != 0 {
			ops = onHTTP(ops...)
		}
		c := diffCase{ops: ops, conf: func(c *config.Config) { c.Timeout = 1 }}
		if mode&2 != 0 {
			c.conf = func(c *config.Config) { c.Timeout, c.AuthRequired = 1, true }
		}
		a := runDiff(t, u, c, true)
		b := runDiff(t, u, c, false)
		if mode&4 != 0 {
			readAheadEitherWay(&a)
			readAheadEitherWay(&b)
		}
		if d := a.diff(b); d != "" {
			t.Errorf("the paths differ:\n%s", d)
		}
	})
}

var (
	upRxPattern = regexp.MustCompile(`up=(\d+)(.*) rx=(\d+)`)
	upLogged    = regexp.MustCompile(`up="\d+"`)
)

// readAheadEitherWay is the racy hook of the generated cases: bytes
// pipelined after a request, sent in segments, are read with the request
// (ServerRx, then written upstream as read-ahead) or after it (relayed,
// BytesUp) depending on when each path's read comes, on either path. Only
// their sum is compared.
func readAheadEitherWay(r *diffResult) {
	r.stats = upRxPattern.ReplaceAllStringFunc(r.stats, func(m string) string {
		g := upRxPattern.FindStringSubmatch(m)
		up, _ := strconv.Atoi(g[1])
		rx, _ := strconv.Atoi(g[3])
		return fmt.Sprintf("up=?%s rx+up=%d", g[2], rx+up)
	})
	for i, l := range r.logs {
		r.logs[i] = upLogged.ReplaceAllString(l, `up="?"`)
	}
	// A client still writing when the server closes sees a reset or a
	// broken pipe depending on whether its bytes reached the socket first.
	for i, c := range r.client {
		r.client[i] = strings.ReplaceAll(c, "<write: reset>", "<write: broken pipe>")
	}
}

// loopOwnsListeners waits (boundedly) until the event loop, if the server
// has one, accepts on every listener again: handing a listener back after
// SetRouter is asynchronous, and a client that connects before it is
// served, correctly, by the Go accept loop still waiting there.
func loopOwnsListeners() diffOp {
	return waitGauge(func(s *Server) bool {
		if s.loop == nil {
			return true
		}
		for _, ln := range s.loop.lns {
			if !ln.loopOwns.Load() {
				return false
			}
		}
		return true
	})
}

var (
	rxUpPattern   = regexp.MustCompile(`rx\+up=\d+`)
	downPattern   = regexp.MustCompile(`down=\d+`)
	downLogged    = regexp.MustCompile(`down="\d+"`)
	upstreamReset = regexp.MustCompile(`then (reset|eof)$`)
	clientClose   = regexp.MustCompile(`" (reset|eof)$`)
)

// lateEitherWay is readAheadEitherWay for a generated case whose client
// sends in segments or acts again after a pause (more bytes, or a reset)
// while the server may be failing the handshake: whether those bytes, or
// the ones still unread, are read before the server closes, whether the
// client's late write meets a closed socket, and so whether the kernel
// ends the client's connection with a reset (unread bytes at the close)
// or an end, depends on when each path's close comes relative to the
// client's writes (CI flakes: rx+up 40 against 44, "" against "<write:
// broken pipe>", reset against eof). Likewise, when a session's client
// resets after the pause, whether the upstream's answer was relayed
// (down) first decides whether the relay closes the upstream with that
// answer unread, a reset instead of an end (a CI flake: down 0 and "then
// reset" against down 12 and "then eof"). The bytes each side received,
// the records and every other counter are still compared; the
// hand-written corpus holds the close kinds where they are not racy.
func lateEitherWay(r *diffResult) {
	readAheadEitherWay(r)
	r.stats = rxUpPattern.ReplaceAllString(r.stats, "rx+up=?")
	r.stats = downPattern.ReplaceAllString(r.stats, "down=?")
	for i, l := range r.logs {
		r.logs[i] = downLogged.ReplaceAllString(l, `down="?"`)
	}
	for i, c := range r.client {
		c = strings.ReplaceAll(c, "<write: broken pipe>", "")
		r.client[i] = clientClose.ReplaceAllString(c, `" reset or eof`)
	}
	for i, u := range r.up {
		r.up[i] = upstreamReset.ReplaceAllString(u, "then reset or eof")
	}
}

var peakPattern = regexp.MustCompile(`peak=\d+`)

// peakEitherWay hides SessionsPeak where the script's two sessions may or
// may not overlap, on either path, depending on when each starts.
func peakEitherWay(r *diffResult) { r.stats = peakPattern.ReplaceAllString(r.stats, "peak=?") }
