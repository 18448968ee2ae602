//go:build linux

package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/rawsock"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// withTunnelsKept bounds the loops a test starts to keep n tunnel
// records for reuse, and restores the default when the test ends.
func withTunnelsKept(t testing.TB, n int) {
	t.Helper()
	was := loopTunnelsKept
	loopTunnelsKept = n
	t.Cleanup(func() { loopTunnelsKept = was })
}

// gatedDialer is a dialer the loop connects with whose lookups of names
// (on a worker: DialTargetNow leaves every name to DialTarget) wait until
// the test opens the name's gate, then answer the name's address. The
// worker's context is not heeded, so that a lookup outlives its tunnel's
// deadline for as long as the test wants.
type gatedDialer struct {
	*dial.Dialer
	to    map[string]netip.AddrPort
	gates map[string]chan struct{}
	asked chan string // each name as its lookup starts
}

func (d gatedDialer) DialTarget(ctx context.Context, first addr.Addr) (netip.AddrPort, error) {
	if first.Kind() != addr.Domain {
		return d.Dialer.DialTarget(ctx, first)
	}
	name := first.Name()
	d.asked <- name
	select {
	case <-d.gates[name]:
	case <-time.After(10 * time.Second): // bounds a failed test, asserts nothing
		return netip.AddrPort{}, errors.New("the test never opened the gate")
	}
	return d.to[name], nil
}

func (d gatedDialer) DialTargetNow(first addr.Addr) (netip.AddrPort, bool, error) {
	if first.Kind() == addr.Domain {
		return netip.AddrPort{}, false, nil
	}
	return d.Dialer.DialTargetNow(first)
}

// namedServer accepts connections, writes name to each and then waits for
// its end.
func namedServer(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	a := testkit.Serve(t, func(c net.Conn) {
		_, _ = c.Write([]byte(name))
		_, _ = io.Copy(io.Discard, c)
	})
	return netip.MustParseAddrPort(a)
}

// socks5Name writes a SOCKS5 greeting and a CONNECT to name:port in one
// write and reads the method reply.
func socks5Name(t *testing.T, c net.Conn, name string, port uint16) {
	t.Helper()
	req := []byte{5, 1, 0, 5, 1, 0, 3, byte(len(name))}
	req = append(append(req, name...), byte(port>>8), byte(port))
	mustWrite(t, c, req)
	if b := readN(t, c, 2); b[0] != 5 || b[1] != 0 {
		t.Fatalf("method reply %v", b)
	}
}

// TestLoopRecycleLookupOutlivesTunnel: a tunnel whose lookup is still on a
// worker when it times out keeps its record until the lookup's answer has
// come back, so that the answer cannot reach the tunnel accepted next. With
// a free list of one, a record retired at the timeout would be the next
// tunnel's, which the stale answer (A's target) would then connect.
func TestLoopRecycleLookupOutlivesTunnel(t *testing.T) {
	withLoop(t, true)
	withTunnelsKept(t, 1)
	x, y := namedServer(t, "X"), namedServer(t, "Y")
	d := gatedDialer{
		Dialer: dial.New(dial.Options{TCPNoDelay: true}),
		to:     map[string]netip.AddrPort{"a.test": x, "b.test": y},
		gates:  map[string]chan struct{}{"a.test": make(chan struct{}), "b.test": make(chan struct{})},
		asked:  make(chan string, 2),
	}
	conf := testConfig()
	conf.Timeout = 0.2
	ts := startServer(t, conf, nil, d)

	// A times out while its lookup waits.
	a := dialProxy(t, ts.addr)
	socks5Name(t, a, "a.test", 1)
	if b := readN(t, a, 10); b[1] != 6 {
		t.Fatalf("A's reply %v, want TTL expired (6)", b)
	}
	expectClosed(t, a)
	if got := <-d.asked; got != "a.test" {
		t.Fatalf("looked up %q, want a.test", got)
	}

	// B, with time to wait, looks up while A's lookup still runs.
	long := *conf
	long.Timeout = 10
	if err := ts.Reconfigure(&long, d); err != nil {
		t.Fatal(err)
	}
	b := dialProxy(t, ts.addr)
	socks5Name(t, b, "b.test", 1)
	if got := <-d.asked; got != "b.test" {
		t.Fatalf("looked up %q, want b.test", got)
	}

	// A's answer first: its worker parks again only after posting it, so
	// the loop takes it before B's, which is posted later.
	idle := ts.workers.Idle()
	close(d.gates["a.test"])
	testkit.WaitFor(t, "A's lookup to be posted", func() bool { return ts.workers.Idle() > idle })
	close(d.gates["b.test"])
	if r := readN(t, b, 10); r[1] != 0 {
		t.Fatalf("B's reply %v, want succeeded", r)
	}
	if got := readN(t, b, 1); string(got) != "Y" {
		t.Fatalf("B reached %q, want Y: A's stale lookup answered B", got)
	}
	b.Close()
	testkit.WaitFor(t, "the tunnels to end", func() bool {
		return ts.stats.Sessions.Load() == 0 && ts.stats.HalfOpen.Load() == 0
	})
	if got := ts.stats.RejectTimeout.Load(); got != 1 {
		t.Errorf("RejectTimeout %d, want 1", got)
	}
}

// TestLoopRecycleStaleEvent drives a loop by hand (no goroutine of its
// own): tunnel A ends, and B, accepted next on the same descriptor number,
// gets A's record (a free list of one). An epoll event of A's registration
// that was still in the batch must not reach B, and no descriptor's entry
// may point at a record's end that holds another descriptor.
func TestLoopRecycleStaleEvent(t *testing.T) {
	withLoop(t, false) // the server runs no loop: this test is the loop
	ts := startServer(t, testConfig(), nil, nil)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(epfd) })
	l := &evloop{
		s: ts.Server, sys: rawsock.New(false), epfd: epfd, wakefd: -1,
		hsFree:  rawsock.FreeList[loopHS]{Max: loopMaxFree},
		tunFree: rawsock.FreeList[ltun]{Max: 1},
		epoch:   time.Now(),
	}
	ll := &loopListener{l: l, proto: "socks", h: ts.serveSOCKS}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// dial connects a client; take has the loop accept it.
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	take := func() *ltun {
		t.Helper()
		var fd int
		var peer netip.AddrPort
		for range 1000 { // the connection is queued once Dial returns
			_ = rc.Control(func(lfd uintptr) { fd, peer, err = l.sys.AcceptFrom(int(lfd)) })
			if err != syscall.EAGAIN {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		l.accepted(ll, fd, peer)
		e := l.ends[fd]
		if e == nil {
			t.Fatal("the loop did not take the connection")
		}
		return e.t
	}

	dial()
	a := take()
	var cb net.Conn
	var b *ltun
	var fd int
	var gen uint32
	for range 20 {
		// B's client socket first, so that the number A's end frees is
		// the lowest free one when the loop accepts B.
		cb = dial()
		fd, gen = a.client.fd, a.client.gen
		l.closeTunnel(a, nil)
		l.recycle()
		b = take()
		if b.client.fd == fd {
			break
		}
		a = b // another try, with this one's number
	}
	if b.client.fd != fd {
		t.Skip("the next accept never got the closed descriptor's number")
	}
	if b != a {
		t.Fatal("B did not get A's record: the loop does not reuse tunnel records")
	}
	if b.client.gen == gen {
		t.Fatalf("B's registration has A's generation %d", gen)
	}

	// A's event, still in the batch: dropped.
	l.ready(fd, gen, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP)
	if b.client.hup || b.client.readable || b.state != ltHandshake {
		t.Errorf("A's stale event reached B: hup %v, readable %v, state %d", b.client.hup, b.client.readable, b.state)
	}
	for i, e := range l.ends {
		if e != nil && e.fd != i {
			t.Errorf("descriptor %d's entry is an end holding %d", i, e.fd)
		}
	}

	// B's own event is served: its greeting is answered.
	mustWrite(t, cb, []byte{5, 1, 0})
	l.ready(fd, b.client.gen, unix.EPOLLIN)
	if r := readN(t, cb, 2); r[0] != 5 || r[1] != 0 {
		t.Errorf("B's method reply %v", r)
	}
	l.closeTunnel(b, nil)
	l.recycle()
}
