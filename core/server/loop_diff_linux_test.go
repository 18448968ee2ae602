//go:build linux

package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// The differential test: each client script runs against a fresh server
// on the event loop and on the goroutine path, with the same
// configuration and the same upstreams, and everything a client, the
// counters, the logs and the upstreams can observe must be the same.

var (
	diffCount = flag.Int("loopdiff.n", 60, "generated cases of TestLoopDiffGenerated")
	diffSeed  = flag.Uint64("loopdiff.seed", 15, "seed of TestLoopDiffGenerated's cases")
)

// diffOp is one step of a client script.
type diffOp struct {
	conn  int           // which client connection (opened on first use)
	write []byte        // bytes to send, in segments of seg bytes (0: at once)
	seg   int           // segment size; segments are sent 0.5 ms apart
	pause time.Duration // wait before the step
	read  int           // read exactly this many bytes (recorded)
	shut  bool          // half-close the client's write side
	reset bool          // close with a reset (SO_LINGER 0)
	http  bool          // the connection goes to the --http listener
	idle  bool          // wait until the upstreams hold no connection
	// stop shuts the server down, giving its sessions this long to
	// drain (at least a millisecond).
	stop time.Duration
	// act changes the running server (a reload, a new router); conf is a
	// copy of its configuration, d its dialer.
	act func(s *Server, conf config.Config, d Dialer)
}

// diffCase is a script and the configuration it runs under.
type diffCase struct {
	name string
	conf func(*config.Config)
	ops  []diffOp
	// racy, for a case whose timing decides between outcomes either
	// path may show, maps each result to what must not vary.
	racy func(*diffResult)
	// cut, for a case whose half-open timeout may end while its client
	// is still writing, tells whether the timeout cut a result's
	// handshake short and, if so, whether it is what that cut must show
	// (deadlineCut); the paths are then compared in what a cut leaves
	// as it is (maskCut).
	cut func(*diffResult) (bool, error)
	// router, when set, makes the router each run starts with (a fresh
	// one per run).
	router func() route.Router
	// async: on the loop, the case must have taken asynchronous
	// decisions (route.AsyncRouter.RouteAsync).
	async bool
}

// upstreams are the targets shared by both paths of every case.
type upstreams struct {
	echo, sink, closer, refused netip.AddrPort
	resetter, bulk              netip.AddrPort
	hang                        netip.AddrPort // connect(2) to it never completes
	hop                         netip.AddrPort // a SOCKS5 proxy, for chains
	echo6                       netip.AddrPort // an echo on ::1, invalid without IPv6
	mu                          sync.Mutex
	log                         []string // what each ended upstream connection saw
	open                        atomic.Int64
	lag                         atomic.Pointer[chan struct{}] // holdLag's gate
}

// holdLag makes lag.test's lookups wait until the returned function is
// called (or their context ends), for a router that decides while it
// connects there: the decision comes first however late a loaded machine
// runs its timer (a CI flake: a lookup 50 ms late finished before a
// decision 10 ms late, and the goroutine path's Route closed the
// connection the loop's router took as its answer). The router built
// last holds it: the cases run one at a time.
func (u *upstreams) holdLag() func() {
	gate := make(chan struct{})
	u.lag.Store(&gate)
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (u *upstreams) record(kind string, got []byte, err error) {
	end := "eof"
	switch {
	case isReset(err):
		end = "reset"
	case err != nil:
		end = "error"
	}
	u.mu.Lock()
	u.log = append(u.log, fmt.Sprintf("%s got %q then %s", kind, got, end))
	u.mu.Unlock()
}

func (u *upstreams) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.log
	u.log = nil
	slices.Sort(l)
	return l
}

// serveUpstream runs handle on every connection of a loopback listener
// until the test ends.
func (u *upstreams) serveUpstream(t testing.TB, handle func(c *net.TCPConn)) netip.AddrPort {
	return u.serveUpstreamOn(t, "127.0.0.1:0", handle)
}

func (u *upstreams) serveUpstreamOn(t testing.TB, address string, handle func(c *net.TCPConn)) netip.AddrPort {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.open.Add(1)
			wg.Go(func() {
				defer u.open.Add(-1)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c.(*net.TCPConn))
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// echoHandler echoes until EOF, then half-closes.
func echoHandler(u *upstreams) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		var got []byte
		buf := make([]byte, 4096)
		var err error
		for {
			var n int
			n, err = c.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					err = werr
					break
				}
			}
			if err != nil {
				break
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
			_ = c.CloseWrite()
		}
		u.record("echo", got, err)
	}
}

func newUpstreams(t testing.TB) *upstreams {
	u := new(upstreams)
	u.echo = u.serveUpstream(t, echoHandler(u))
	u.sink = u.serveUpstream(t, func(c *net.TCPConn) {
		got, err := io.ReadAll(c)
		_, _ = c.Write([]byte("sunk"))
		u.record("sink", got, err)
	})
	u.closer = u.serveUpstream(t, func(c *net.TCPConn) {
		// Closes first, with data in flight towards the client.
		_, _ = c.Write([]byte("bye"))
		u.record("closer", nil, nil)
	})
	u.resetter = u.serveUpstream(t, func(c *net.TCPConn) {
		// Resets once the first bytes arrive.
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		_ = c.SetLinger(0)
		u.record("resetter", buf[:n], err)
	})
	u.bulk = u.serveUpstream(t, func(c *net.TCPConn) {
		// Sends more than the loop's buffer holds, then half-closes.
		_, err := c.Write(bytes.Repeat([]byte("0123456789abcdef"), bulkSize/16))
		_ = c.CloseWrite()
		var got []byte
		if err == nil {
			got, err = io.ReadAll(c)
		}
		u.record("bulk", got, err)
	})
	// A port bound and not listening refuses connections, and no
	// listener of the test can take it meanwhile.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	ap, err := rawSockname(unix.Getsockname, fd)
	if err != nil {
		t.Fatal(err)
	}
	u.refused = ap
	u.hang = hangingPort(t)
	u.hop = hopServer(func(h func(c *net.TCPConn)) netip.AddrPort { return u.serveUpstream(t, h) })
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		u.echo6 = u.serveUpstreamOn(t, "[::1]:0", echoHandler(u))
	}
	return u
}

// hangingPort returns a loopback port whose listener's queue is full, so
// that a new connection's SYN is dropped and connect(2) waits.
func hangingPort(t testing.TB) netip.AddrPort {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	ap, err := rawSockname(unix.Getsockname, fd)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the queue: connections that complete (into the queue) until
	// one does not within a short while.
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp4", ap.String(), 100*time.Millisecond)
		if err != nil {
			return ap
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the listener's queue never filled")
	return ap
}

// diffDialer is the real dialer with a few test names: *.test names are
// the upstreams (looked up without a resolver, then checked by the real
// block policy), nx.invalid does not resolve, slow.test answers only
// when the half-open phase ends, lag.test is echo.test once a decision
// given while it is looked up lets it go on (holdLag), or 50 ms late.
type diffDialer struct {
	*dial.Dialer
	u *upstreams
}

// bulkSize is what the bulk upstream sends: four times a loop buffer.
const bulkSize = 64 << 10

var errNoName = &dial.Error{Kind: dial.Resolve, Err: errors.New("lookup nx.invalid: no such host")}

func (d diffDialer) name(ctx context.Context, a addr.Addr) (addr.Addr, error) {
	if a.Kind() != addr.Domain {
		return a, offLoopback(a)
	}
	var ap netip.AddrPort
	switch a.Name() {
	case "echo.test":
		ap = d.u.echo
	case "sink.test":
		ap = d.u.sink
	case "closer.test":
		ap = d.u.closer
	case "refused.test":
		ap = d.u.refused
	case "resetter.test":
		ap = d.u.resetter
	case "bulk.test":
		ap = d.u.bulk
	case "nx.invalid":
		return a, errNoName
	case "slow.test":
		<-ctx.Done()
		return a, &dial.Error{Kind: dial.Timeout, Err: ctx.Err()}
	case "lag.test":
		// The echo upstream, once the decision that supersedes the
		// connect has been given, or 50 ms late.
		if gate := d.u.lag.Load(); gate != nil {
			select {
			case <-ctx.Done():
			case <-*gate:
			}
		} else {
			sleep(ctx, 50*time.Millisecond)
		}
		if ctx.Err() != nil {
			return a, &dial.Error{Kind: dial.Timeout, Err: ctx.Err()}
		}
		ap = d.u.echo
	case "localhost":
		return a, nil // the hosts file answers it, on both paths
	default:
		// No other name may reach a resolver.
		return a, &dial.Error{Kind: dial.Resolve, Err: fmt.Errorf("lookup %s: no such host", a.Name())}
	}
	return addr.FromAddrPort(ap), nil
}

// offLoopback refuses an address outside loopback, which the fuzzer and
// the generated cases may name: a test dials nothing else (and what an
// address off this machine does, refuse, time out or be answered by a
// middlebox, is not the same from one run to the next).
func offLoopback(a addr.Addr) error {
	if a.Kind() == addr.Domain || a.IP().Unmap().IsLoopback() {
		return nil
	}
	return &dial.Error{Kind: dial.Blocked, Err: fmt.Errorf("dial %s: not a loopback address (test dialer)", a)}
}

func (d diffDialer) DialTarget(ctx context.Context, first addr.Addr) (netip.AddrPort, error) {
	a, err := d.name(ctx, first)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return d.Dialer.DialTarget(ctx, a)
}

// DialTargetNow answers only what the real dialer answers on both paths
// (addresses, localhost); every other name goes to DialTarget, where the
// test's names are, as it does on the goroutine path through Dial.
func (d diffDialer) DialTargetNow(first addr.Addr) (netip.AddrPort, bool, error) {
	if first.Kind() == addr.Domain && first.Name() != "localhost" {
		return netip.AddrPort{}, false, nil
	}
	if err := offLoopback(first); err != nil {
		return netip.AddrPort{}, true, err
	}
	return d.Dialer.DialTargetNow(first)
}

func (d diffDialer) Dial(ctx context.Context, target addr.Addr, hops route.Chain) (net.Conn, error) {
	a, err := d.name(ctx, target)
	if err != nil {
		return nil, err
	}
	return d.Dialer.Dial(ctx, a, hops)
}

// logRecorder keeps the records a server logs, as text with what varies
// between runs (client ports, durations, dates) masked.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	keep  map[string]bool // addresses that stay as they are
}

var (
	addrPattern = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+`)
	datePattern = regexp.MustCompile(`Date: [^\r]*\r\n`)
)

func (r *logRecorder) mask(s string) string {
	return addrPattern.ReplaceAllStringFunc(s, func(a string) string {
		if r.keep[a] {
			return a
		}
		return "ADDR"
	})
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	if strings.HasPrefix(rec.Message, "listen: ") {
		return nil // the server's start, which names its own ports
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", rec.Level, r.mask(rec.Message))
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "dur" {
			return true
		}
		fmt.Fprintf(&b, " %s=%q", a.Key, r.mask(a.Value.String()))
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	r.lines = nil
	slices.Sort(l)
	return l
}

// diffResult is what one run of a case showed.
type diffResult struct {
	client []string // per connection: the reads and how it ended
	stats  string
	logs   []string
	up     []string
}

func (a diffResult) diff(b diffResult) string {
	var out []string
	if !slices.Equal(a.client, b.client) {
		out = append(out, fmt.Sprintf("client:\n  loop:       %q\n  goroutines: %q", a.client, b.client))
	}
	if a.stats != b.stats {
		out = append(out, fmt.Sprintf("stats:\n  loop:       %s\n  goroutines: %s", a.stats, b.stats))
	}
	if !slices.Equal(a.logs, b.logs) {
		out = append(out, fmt.Sprintf("logs:\n  loop:       %q\n  goroutines: %q", a.logs, b.logs))
	}
	if !slices.Equal(a.up, b.up) {
		out = append(out, fmt.Sprintf("upstreams:\n  loop:       %q\n  goroutines: %q", a.up, b.up))
	}
	return strings.Join(out, "\n")
}

func statsText(c *stats.Counters) string {
	return fmt.Sprintf("accept=%d serve=%d request=%d success=%d reject_ruleset=%d reject_timeout=%d reject_upstream=%d up=%d down=%d rx=%d tx=%d peak=%d halfopen=%d sessions=%d dials=%d",
		c.Accept.Load(), c.Serve.Load(), c.Request.Load(), c.Success.Load(), c.RejectRuleset.Load(),
		c.RejectTimeout.Load(), c.RejectUpstream.Load(), c.BytesUp.Load(), c.BytesDown.Load(),
		c.ServerRx.Load(), c.ServerTx.Load(), c.SessionsPeak.Load(), c.HalfOpen.Load(), c.Sessions.Load(),
		c.ConnectLatency.Percentiles().Count)
}

// maskReply hides the bound port of SOCKS5 success replies (the upstream
// socket's local port) and the date of HTTP pages.
func maskReply(b []byte) []byte {
	b = bytes.Clone(b)
	for _, head := range [][]byte{{5, 0, 0, 1}, {5, 0, 0, 4}} {
		alen := 4
		if head[3] == 4 {
			alen = 16
		}
		for i := 0; ; {
			j := bytes.Index(b[i:], head)
			if j < 0 || i+j+len(head)+alen+2 > len(b) {
				break
			}
			k := i + j + len(head) + alen
			b[k], b[k+1] = 'P', 'P'
			i = k + 2
		}
	}
	return datePattern.ReplaceAll(b, []byte("Date: X\r\n"))
}

// runDiff runs c on one path and returns what it observed.
func runDiff(t *testing.T, u *upstreams, c diffCase, loop bool) diffResult {
	t.Helper()
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	conf.Timeout = 2
	conf.StartupLimitRate = 0
	if c.conf != nil {
		c.conf(conf)
	}
	opts, err := dial.OptionsFrom(conf)
	if err != nil {
		t.Fatal(err)
	}
	st := new(stats.Counters)
	opts.Stats = st
	rec := &logRecorder{keep: map[string]bool{}}
	for _, ap := range []netip.AddrPort{u.echo, u.sink, u.closer, u.refused, u.resetter, u.bulk, u.hang, u.echo6, u.hop} {
		rec.keep[ap.String()] = true
	}
	dd := diffDialer{dial.New(opts), u}
	var router route.Router
	if c.router != nil {
		router = c.router()
	}
	s, err := New(Options{Config: conf, Dialer: dd, Router: router, Stats: st, Logger: slog.New(rec), NoEventLoop: !loop})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	pa, ha := s.Addrs()

	var res diffResult
	conns := map[int]*net.TCPConn{}
	var got []bytes.Buffer
	var ends []string
	connOf := func(i int, http bool) *net.TCPConn {
		if c := conns[i]; c != nil {
			return c
		}
		a := pa.String()
		if http {
			a = ha.String()
		}
		nc, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tc := nc.(*net.TCPConn)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		conns[i] = tc
		for len(got) <= i {
			got = append(got, bytes.Buffer{})
			ends = append(ends, "")
		}
		return tc
	}
	for _, op := range c.ops {
		time.Sleep(op.pause)
		if op.idle {
			waitUpstreamsIdle(t, u)
		}
		if op.act != nil {
			op.act(s, *conf, dd)
			continue
		}
		if op.stop > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), op.stop)
			_ = s.Shutdown(ctx)
			cancel()
			continue
		}
		cc := connOf(op.conn, op.http)
		if len(op.write) > 0 {
			seg := op.seg
			if seg <= 0 {
				seg = len(op.write)
			}
			for b := op.write; len(b) > 0; {
				k := min(seg, len(b))
				if _, err := cc.Write(b[:k]); err != nil {
					fmt.Fprintf(&got[op.conn], "<write: %s>", errClass(err))
					break
				}
				b = b[k:]
				if len(b) > 0 {
					time.Sleep(500 * time.Microsecond)
				}
			}
		}
		if op.read > 0 {
			b := make([]byte, op.read)
			n, err := io.ReadFull(cc, b)
			got[op.conn].Write(b[:n])
			if err != nil {
				fmt.Fprintf(&got[op.conn], "<read: %s>", errClass(err))
			} else {
				got[op.conn].WriteString("|")
			}
		}
		if op.shut {
			_ = cc.CloseWrite()
		}
		if op.reset {
			_ = cc.SetLinger(0)
			_ = cc.Close()
			ends[op.conn] = "reset by client"
		}
	}
	// The rest of every connection, to its end.
	for i, cc := range conns {
		if ends[i] != "" {
			continue
		}
		b, err := io.ReadAll(cc)
		got[i].Write(b)
		ends[i] = "eof"
		if err != nil {
			ends[i] = errClass(err)
		}
		cc.Close()
	}
	for i := range got {
		res.client = append(res.client, fmt.Sprintf("%q %s", maskReply(got[i].Bytes()), ends[i]))
	}
	// Every connection is accepted before the server may count as idle
	// (a client that reset at once is still in the listen queue).
	deadline := time.Now().Add(10 * time.Second)
	for st.Accept.Load() < uint64(len(conns)) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	waitServerIdle(t, s, st)
	waitUpstreamsIdle(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = s.Shutdown(ctx)
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if loop && s.loopServed.Load() == 0 && s.loopHandoffs.Load() == 0 {
		// A case the loop never saw proves nothing (a client that
		// connected only to be refused by a limit is all right).
		if st.Serve.Load() > 0 {
			t.Errorf("the loop served none of the case's connections")
		}
	}
	if ar, ok := router.(*asyncRouter); ok {
		if err := ar.check(); err != nil {
			t.Errorf("the asynchronous router: %v", err)
		}
	}
	if _, async := s.LoopDecisions(); loop && c.async && async == 0 {
		t.Errorf("the loop took no asynchronous decision")
	}
	res.stats = statsText(st)
	res.logs = rec.take()
	res.up = u.take()
	return res
}

func errClass(err error) string {
	switch {
	case isReset(err):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

func waitServerIdle(t *testing.T, s *Server, st *stats.Counters) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		live := len(s.conns) + s.loopLive
		s.mu.Unlock()
		if live == 0 && st.HalfOpen.Load() == 0 && st.Sessions.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not go idle: %d connections, %s", live, statsText(st))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitUpstreamsIdle(t *testing.T, u *upstreams) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for u.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("an upstream connection did not end")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkDiff runs every case on both paths and reports each difference.
func checkDiff(t *testing.T, u *upstreams, cases []diffCase) {
	withLoop(t, true)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := runDiff(t, u, c, true)
			b := runDiff(t, u, c, false)
			if c.racy != nil {
				c.racy(&a)
				c.racy(&b)
			}
			if c.cut != nil {
				acut, aerr := c.cut(&a)
				bcut, berr := c.cut(&b)
				if aerr != nil {
					t.Errorf("loop: %v", aerr)
				}
				if berr != nil {
					t.Errorf("goroutines: %v", berr)
				}
				if acut || bcut {
					maskCut(&a)
					maskCut(&b)
				}
			}
			if d := a.diff(b); d != "" {
				t.Errorf("the paths differ:\n%s", d)
			}
		})
	}
}
