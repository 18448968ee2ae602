package script

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/server"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// asyncSide is one daemon of the end-to-end comparison: a server, its
// engine, counters and server log.
type asyncSide struct {
	srv   *server.Server
	st    *stats.Counters
	te    *testEngine
	log   *testkit.SyncBuffer
	proxy string // SOCKS4A and SOCKS5
	http  string // HTTP CONNECT
}

// startAsyncSide starts a server routed by a fresh engine running
// testdata/async_e2e.lua, on the event loop or (noLoop) on goroutines.
func startAsyncSide(t *testing.T, noLoop bool, echo, dead string) *asyncSide {
	t.Helper()
	s := &asyncSide{st: new(stats.Counters), log: &testkit.SyncBuffer{}}
	d := dial.New(dial.Options{Stats: s.st})
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.HTTPListen = "127.0.0.1:0"
	c.Timeout = 5
	s.te = newTestEngine(t, Options{Config: &c, Stats: s.st, Dial: d.DialString})
	s.te.invoke(t, fmt.Sprintf("_G.ECHO = %q; _G.DEAD = %q", echo, dead))
	if err := s.te.LoadRuleset("testdata/async_e2e.lua"); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.Level(-12)}))
	srv := serveForTest(t, server.Options{Config: &c, Router: s.te.Engine, Dialer: d, Stats: s.st, Logger: logger, NoEventLoop: noLoop})
	s.srv = srv
	a, h := srv.Addrs()
	s.proxy, s.http = a.String(), h.String()
	return s
}

// clientView is what a client saw of one request.
type clientView struct {
	reply string // the reply bytes, ports zeroed
	echo  string // what came back after the reply: the payload when granted
	eof   bool   // the proxy closed the connection at the end (not a reset)
}

// request makes one proxy request by proto ("socks4a", "socks5" or
// "http") for host:port, and relays a payload when it is granted.
func request(t *testing.T, proxy, proto, host string, port uint16) clientView {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	ip, perr := netip.ParseAddr(host)
	isIP := perr == nil
	var v clientView
	granted := false
	fail := func(what string, err error) clientView {
		t.Helper()
		t.Fatalf("%s %s:%d: %s: %v", proto, host, port, what, err)
		return v
	}
	switch proto {
	case "socks4a":
		b := []byte{4, 1, byte(port >> 8), byte(port)}
		if isIP && ip.Is4() {
			a := ip.As4()
			b = append(append(b, a[:]...), 0)
		} else {
			b = append(append([]byte(b), 0, 0, 0, 1, 0), host...)
			b = append(b, 0)
		}
		if _, err := c.Write(b); err != nil {
			return fail("write", err)
		}
		r := make([]byte, 8)
		if _, err := io.ReadFull(br, r); err != nil {
			return fail("reply", err)
		}
		granted = r[1] == 0x5a
		r[2], r[3] = 0, 0
		v.reply = fmt.Sprintf("% x", r)
	case "socks5":
		if _, err := c.Write([]byte{5, 1, 0}); err != nil {
			return fail("greeting", err)
		}
		g := make([]byte, 2)
		if _, err := io.ReadFull(br, g); err != nil {
			return fail("method", err)
		}
		b := []byte{5, 1, 0}
		switch {
		case isIP && ip.Is4():
			a := ip.As4()
			b = append(append(b, 1), a[:]...)
		case isIP:
			a := ip.As16()
			b = append(append(b, 4), a[:]...)
		default:
			b = append(append(b, 3, byte(len(host))), host...)
		}
		b = binary.BigEndian.AppendUint16(b, port)
		if _, err := c.Write(b); err != nil {
			return fail("request", err)
		}
		r := make([]byte, 4)
		if _, err := io.ReadFull(br, r); err != nil {
			return fail("reply", err)
		}
		n := map[byte]int{1: 4, 4: 16}[r[3]]
		if r[3] == 3 {
			l, err := br.ReadByte()
			if err != nil {
				return fail("reply", err)
			}
			r, n = append(r, l), int(l)
		}
		rest := make([]byte, n+2)
		if _, err := io.ReadFull(br, rest); err != nil {
			return fail("reply", err)
		}
		rest[n], rest[n+1] = 0, 0
		granted = r[1] == 0
		v.reply = fmt.Sprintf("% x", append(append(g, r...), rest...))
	case "http":
		hp := net.JoinHostPort(host, strconv.Itoa(int(port)))
		if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hp, hp); err != nil {
			return fail("request", err)
		}
		var head strings.Builder
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return fail("response "+head.String(), err)
			}
		}
		v.reply = httpDate.ReplaceAllString(head.String(), "Date: D\r\n")
		granted = strings.HasPrefix(v.reply, "HTTP/1.1 200 ")
	}
	if granted {
		payload := "payload through " + proto + " to " + host
		if _, err := io.WriteString(c, payload); err != nil {
			return fail("payload", err)
		}
		back := make([]byte, len(payload))
		if _, err := io.ReadFull(br, back); err != nil {
			return fail("echo", err)
		}
		v.echo = string(back)
		_ = c.(*net.TCPConn).CloseWrite()
	}
	// what comes before the end (an HTTP refusal's page), and whether
	// the end was a close (ReadAll's nil) rather than a reset
	rest, err := io.ReadAll(br)
	v.echo += string(rest)
	v.eof = err == nil
	return v
}

// quiet waits, bounded, until s has no connection in any phase and has
// logged the end of every session and every refusal it counted (both
// paths log a session's end after its counters).
func (s *asyncSide) quiet(t *testing.T) {
	t.Helper()
	testkit.WaitFor(t, "the proxy's connections to end", func() bool {
		if s.st.HalfOpen.Load() != 0 || s.st.Sessions.Load() != 0 || s.te.active.Load() != 0 {
			return false
		}
		log := s.log.String()
		return uint64(strings.Count(log, `msg="session closed"`)) == s.st.Success.Load() &&
			uint64(strings.Count(log, `rejected by ruleset" `)) == s.st.RejectRuleset.Load()
	})
}

// counters returns the counters both paths must agree on.
func (s *asyncSide) counters() string {
	st := s.st
	return fmt.Sprintf("request %d success %d rejectRuleset %d rejectTimeout %d rejectUpstream %d accept %d serve %d up %d down %d serverRx %d serverTx %d clientRx %d clientTx %d latencyN %d peak %d",
		st.Request.Load(), st.Success.Load(), st.RejectRuleset.Load(), st.RejectTimeout.Load(), st.RejectUpstream.Load(),
		st.Accept.Load(), st.Serve.Load(), st.BytesUp.Load(), st.BytesDown.Load(),
		st.ServerRx.Load(), st.ServerTx.Load(), st.ClientRx.Load(), st.ClientTx.Load(),
		st.ConnectLatency.Percentiles().N, st.SessionsPeak.Load())
}

// httpDate matches an HTTP response's Date field, which may differ
// between the two daemons by a second.
var httpDate = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

// ports and times differ between the two daemons' log lines.
var (
	logPort = regexp.MustCompile(`:[0-9]{2,5}\b`)
	logTime = regexp.MustCompile(`(time|dur|elapsed)=\S+`)
)

// logLines returns the records logged since from, normalized and sorted
// (the relay's records and the engine's may interleave either way).
func logLines(buf *testkit.SyncBuffer, from int) []string {
	s := buf.String()[from:]
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		l = logTime.ReplaceAllString(l, "$1=T")
		lines = append(lines, logPort.ReplaceAllString(l, ":P"))
	}
	sort.Strings(lines)
	return lines
}

// TestRouteAsyncThroughServer runs the same ruleset under two daemons,
// one serving its connections on goroutines (Route) and one on the event
// loop (RouteAsync and Connect, once core/server asks AsyncRouters), with
// real SOCKS4A, SOCKS5 and HTTP CONNECT clients, and compares what the
// clients saw, the counters and the log records. The loop's daemon must
// really have decided asynchronously.
func TestRouteAsyncThroughServer(t *testing.T) {
	echo := testkit.EchoServer(t)
	dead := testkit.ClosedPort(t).String()
	_, ep, _ := net.SplitHostPort(echo)
	echoPort, _ := strconv.Atoi(ep)
	goSide := startAsyncSide(t, true, echo, dead)
	loopSide := startAsyncSide(t, false, echo, dead)

	targets := []struct {
		host string
		port uint16
	}{
		{"sink.test", uint16(echoPort)}, // libruleset redirect, await.forward
		{"127.0.0.1", uint16(echoPort)}, // route table, direct
		{"www.blocked.test", 80},        // domain list: reject
		{"exact.blocked.test", 80},      // exact list: reject
		{"10.1.2.3", 80},                // subnet list: reject, never dialed
		{"unknown.example", 80},         // the default: reject
		{"failover.test", 80},           // the first chain refuses, the second connects
		{"refuse.test", 80},             // the forward's target refuses
		{"slow.test", 80},               // await.sleep, then await.forward
		{"raise.test", 80},              // the callback raises
		{"nil.test", 80},                // the callback returns nil
		{"plain.test", 80},              // a plain decision: the server dials
	}
	for _, proto := range []string{"socks4a", "socks5", "http"} {
		for _, tg := range targets {
			t.Run(fmt.Sprintf("%s/%s", proto, tg.host), func(t *testing.T) {
				var views [2]clientView
				var logs [2][]string
				for i, s := range []*asyncSide{goSide, loopSide} {
					engineFrom, serverFrom := len(s.te.log.String()), len(s.log.String())
					p := s.proxy
					if proto == "http" {
						p = s.http
					}
					views[i] = request(t, p, proto, tg.host, tg.port)
					s.quiet(t)
					logs[i] = append(logLines(s.te.log, engineFrom), logLines(s.log, serverFrom)...)
				}
				if views[0] != views[1] {
					t.Errorf("goroutines: %+v\nevent loop: %+v", views[0], views[1])
				}
				if g, l := strings.Join(logs[0], "\n"), strings.Join(logs[1], "\n"); g != l {
					t.Errorf("log records differ:\ngoroutines:\n%s\nevent loop:\n%s", g, l)
				}
			})
		}
	}
	if g, l := goSide.counters(), loopSide.counters(); g != l {
		t.Errorf("counters differ:\ngoroutines: %s\nevent loop: %s", g, l)
	}
	if _, async := goSide.srv.LoopDecisions(); async != 0 {
		t.Errorf("the goroutine path's daemon decided %d requests on its loop", async)
	}
	if inline, async := loopSide.srv.LoopDecisions(); async == 0 {
		t.Errorf("the event loop took no decision asynchronously (inline %d): the loop's daemon served the ruleset's requests on goroutines", inline)
	}
}
