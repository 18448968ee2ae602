//go:build linux

package evloop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
	"github.com/neosocksd-go/neosocksd/core/rawsock"
)

const (
	// hsSize holds the largest handshake the codecs accept: an HTTP
	// request head of http.MaxHeadSize bytes and one more, to tell it
	// is too large.
	hsSize = 8192
	// bufSize is a relay direction's buffer, lent while it holds bytes
	// not yet written.
	bufSize = 16 << 10
	// maxEvents is how many events one epoll_wait returns at most.
	maxEvents = 256
	// maxFree bounds each free list, so a burst leaves little behind.
	maxFree = 64
)

type (
	hsBuf    [hsSize]byte
	relayBuf [bufSize]byte
)

// loop is the event loop's state. Every field but those under mu (and
// stopping) is touched only by the loop's goroutine.
type loop struct {
	sys     rawsock.Sys
	epfd    int
	wakefd  int // eventfd: the resolvers' answers and Serve's stop
	lfds    [2]int
	lhttp   [2]bool // the listener of the same index takes HTTP only
	nlisten int
	ends    []*end // by descriptor
	gen     uint32 // the last registration's generation
	events  []unix.EpollEvent
	hsFree  rawsock.FreeList[hsBuf]
	bufFree rawsock.FreeList[relayBuf]
	small   [64]byte // a handshake answer or failure reply
	wakeBuf [8]byte  // the eventfd's counter

	epoch   time.Time
	timeout int64 // half-open limit, in nanoseconds since epoch
	// halfOpen lists the connections still in their handshake, oldest
	// first: all have the same timeout, so it is ordered by deadline.
	head, tail *tunnel

	lookups   chan lookupReq
	lookup    func(ctx context.Context, name string) (netip.Addr, error)
	lookupCtx context.Context
	allow     func(netip.AddrPort) bool
	hosts     hostsTable // nil: every name goes to the resolvers

	mu       sync.Mutex
	answers  []lookupRes // guarded by mu
	spare    []lookupRes // the loop's other answers array, swapped in by takeAnswers
	stopping atomic.Bool
}

// Serve runs the proxy until ctx is done. It opens the listeners, then
// runs the loop on the calling goroutine, locked to its OS thread.
func Serve(ctx context.Context, c Config) error {
	if !c.Park {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	l, err := newLoop(c)
	if err != nil {
		return err
	}
	defer l.closeAll()
	lookupCtx, cancelLookups := context.WithCancel(context.Background())
	l.lookupCtx = lookupCtx
	var wg sync.WaitGroup
	n := c.Resolvers
	if n <= 0 {
		n = 4
	}
	for range n {
		wg.Go(l.resolver)
	}
	// The resolvers write to the eventfd: they must be gone before
	// closeAll closes it.
	defer wg.Wait()
	defer close(l.lookups)
	defer cancelLookups()
	woken := make(chan struct{})
	stopped := context.AfterFunc(ctx, func() {
		l.stopping.Store(true)
		l.wake()
		close(woken)
	})
	// A stop already under way writes to the eventfd: wait for it.
	defer func() {
		if !stopped() {
			<-woken
		}
	}()
	if c.Ready != nil {
		var addrs []netip.AddrPort
		for i := range l.nlisten {
			ap, err := l.sys.LocalAddr(l.lfds[i])
			if err != nil {
				return fmt.Errorf("evloop: listener address: %w", err)
			}
			addrs = append(addrs, ap)
		}
		c.Ready(addrs)
	}
	if c.Park {
		return l.runParked()
	}
	return l.run()
}

func newLoop(c Config) (*loop, error) {
	l := &loop{
		sys:     rawsock.New(c.RuntimeSyscalls),
		hsFree:  rawsock.FreeList[hsBuf]{Max: maxFree},
		bufFree: rawsock.FreeList[relayBuf]{Max: maxFree},
		epfd:    -1,
		wakefd:  -1,
		lfds:    [2]int{-1, -1},
		events:  make([]unix.EpollEvent, maxEvents),
		epoch:   time.Now(),
		timeout: int64(c.Timeout),
		lookups: make(chan lookupReq, 4096),
		lookup:  c.Lookup,
		allow:   c.Allow,
	}
	if l.timeout <= 0 {
		l.timeout = int64(30 * time.Second)
	}
	if l.lookup == nil {
		l.lookup = lookupFirst
	}
	var err error
	if c.Hosts != "" {
		if l.hosts, err = readHosts(c.Hosts); err != nil {
			return nil, err
		}
	}
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("evloop: epoll_create1: %w", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		l.closeAll()
		return nil, fmt.Errorf("evloop: eventfd: %w", err)
	}
	if err := l.sys.EpollAdd(l.epfd, l.wakefd, 0); err != nil {
		l.closeAll()
		return nil, fmt.Errorf("evloop: register eventfd: %w", err)
	}
	for _, ln := range []struct {
		ap   netip.AddrPort
		http bool
	}{{c.Listen, false}, {c.HTTP, true}} {
		if !ln.ap.IsValid() {
			continue
		}
		fd, err := listen(ln.ap)
		if err == nil {
			err = l.sys.EpollAdd(l.epfd, fd, 0)
		}
		if err != nil {
			l.closeAll()
			return nil, fmt.Errorf("evloop: listen on %v: %w", ln.ap, err)
		}
		l.lfds[l.nlisten], l.lhttp[l.nlisten] = fd, ln.http
		l.nlisten++
	}
	if l.nlisten == 0 {
		l.closeAll()
		return nil, errors.New("evloop: no listen address")
	}
	return l, nil
}

// listen opens a non-blocking listening socket on a loopback address.
func listen(ap netip.AddrPort) (int, error) {
	if err := loopback.Check(ap.String()); err != nil {
		return -1, err
	}
	fd, err := unix.Socket(rawsock.Family(ap), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var bindErr error
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		bindErr = err
	} else if ap.Addr().Is4() {
		bindErr = unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
	} else {
		bindErr = unix.Bind(fd, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	}
	if bindErr == nil {
		bindErr = unix.Listen(fd, unix.SOMAXCONN)
	}
	if bindErr != nil {
		unix.Close(fd)
		return -1, bindErr
	}
	return fd, nil
}

// closeAll closes every tunnel, listener and the loop's own descriptors.
func (l *loop) closeAll() {
	for _, e := range l.ends {
		if e != nil {
			l.close(e.t)
		}
	}
	for i := range l.nlisten {
		unix.Close(l.lfds[i])
	}
	if l.wakefd >= 0 {
		unix.Close(l.wakefd)
	}
	if l.epfd >= 0 {
		unix.Close(l.epfd)
	}
	l.nlisten, l.wakefd, l.epfd = 0, -1, -1
}

// now is the loop's clock: nanoseconds since the loop started.
func (l *loop) now() int64 { return int64(time.Since(l.epoch)) }

func (l *loop) run() error {
	for !l.stopping.Load() {
		n, err := unix.EpollWait(l.epfd, l.events, l.waitMillis())
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("evloop: epoll_wait: %w", err)
		}
		l.dispatch(n)
		l.expire()
	}
	return nil
}

// dispatch acts on the first n events of l.events.
func (l *loop) dispatch(n int) {
	for i := range n {
		ev := &l.events[i]
		fd := int(ev.Fd)
		switch {
		case fd == l.wakefd:
			l.takeAnswers()
		case l.isListener(fd):
			l.accept(fd)
		default:
			l.ready(fd, uint32(ev.Pad), ev.Events)
		}
	}
}

// runParked is run for Config.Park: it takes the ready events without
// waiting, and when there are none parks the goroutine on the runtime's
// poller until the epoll descriptor becomes readable (an event is ready)
// or the oldest half-open connection expires.
func (l *loop) runParked() error {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("evloop: epoll descriptor: %w", err)
	}
	// The file takes the descriptor over: closing it takes it out of the
	// runtime's poller too, and closeAll must not close it again.
	f := os.NewFile(uintptr(l.epfd), "epoll")
	defer func() {
		f.Close()
		l.epfd = -1
	}()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("evloop: epoll descriptor: %w", err)
	}
	var armed int64 // the read deadline set on f, on the loop's clock; 0: none
	for !l.stopping.Load() {
		n, err := l.sys.EpollPoll(l.epfd, l.events)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("evloop: epoll_wait: %w", err)
		}
		if n == 0 {
			// The list is oldest first, so its head's deadline only moves
			// later: a deadline is armed once per expiry, not per wait.
			if l.head != nil && (armed == 0 || armed > l.head.deadline) {
				armed = l.head.deadline
				f.SetReadDeadline(l.epoch.Add(time.Duration(armed)))
			}
			err := rc.Read(func(uintptr) bool {
				n, _ = l.sys.EpollPoll(l.epfd, l.events)
				return n > 0 || l.stopping.Load()
			})
			if errors.Is(err, os.ErrDeadlineExceeded) {
				armed = 0
				f.SetReadDeadline(time.Time{})
			} else if err != nil {
				return fmt.Errorf("evloop: waiting on the epoll descriptor: %w", err)
			}
		}
		l.dispatch(n)
		l.expire()
	}
	return nil
}

func (l *loop) isListener(fd int) bool {
	for i := range l.nlisten {
		if l.lfds[i] == fd {
			return true
		}
	}
	return false
}

// waitMillis is epoll_wait's timeout: until the oldest half-open
// connection expires, or forever.
func (l *loop) waitMillis() int {
	if l.head == nil {
		return -1
	}
	d := l.head.deadline - l.now()
	if d <= 0 {
		return 0
	}
	return int(d/int64(time.Millisecond)) + 1
}

// expire closes the half-open connections whose time is up. A SOCKS5
// client waiting for its reply is told TTL expired, as the daemon does.
func (l *loop) expire() {
	if l.head == nil {
		return
	}
	now := l.now()
	for t := l.head; t != nil && t.deadline <= now; t = l.head {
		l.fail(t, errTimeout)
	}
}

// accept takes every pending connection of the listener lfd (it is
// edge-triggered). Running out of descriptors drops the rest of this
// edge: a benchmark core, not a daemon, it does not back off and retry.
func (l *loop) accept(lfd int) {
	httpOnly := false
	for i := range l.nlisten {
		if l.lfds[i] == lfd {
			httpOnly = l.lhttp[i]
		}
	}
	for {
		fd, err := l.sys.Accept(lfd)
		if err != nil {
			return
		}
		t := &tunnel{deadline: l.now() + l.timeout}
		t.up.fd = -1
		if httpOnly {
			t.proto = protoHTTP
		}
		if err := l.register(&t.client, t, fd); err != nil {
			l.sys.Close(fd)
			continue
		}
		l.pushHalfOpen(t)
	}
}

// register makes fd end e of tunnel t and adds it to the epoll set.
func (l *loop) register(e *end, t *tunnel, fd int) error {
	l.gen++
	*e = end{t: t, fd: fd, gen: l.gen}
	if fd >= len(l.ends) {
		l.ends = append(l.ends, make([]*end, fd+1-len(l.ends)+64)...)
	}
	l.ends[fd] = e
	if err := l.sys.EpollAdd(l.epfd, fd, l.gen); err != nil {
		l.ends[fd] = nil
		e.fd = -1
		return err
	}
	return nil
}

// ready records an edge on a tunnel's socket and lets the tunnel act on
// it. An event of an earlier registration of the same descriptor (closed
// and reused within one batch) is dropped by its generation.
func (l *loop) ready(fd int, gen uint32, events uint32) {
	if fd >= len(l.ends) {
		return
	}
	e := l.ends[fd]
	if e == nil || e.gen != gen {
		return
	}
	hup, readable, writable := rawsock.Edges(events)
	e.hup = e.hup || hup
	e.readable = e.readable || readable
	e.writable = e.writable || writable
	l.step(e.t)
}

func (l *loop) step(t *tunnel) {
	switch t.state {
	case stHandshake:
		l.handshake(t)
	case stConnecting:
		if t.up.writable {
			l.connected(t)
		}
	case stRelay:
		l.relay(t)
	}
}

// close ends a tunnel: both descriptors closed (which also takes them out
// of the epoll set) and its buffers returned.
func (l *loop) close(t *tunnel) {
	if t.state == stClosed {
		return
	}
	l.unlinkHalfOpen(t)
	for _, e := range []*end{&t.client, &t.up} {
		if e.fd >= 0 {
			l.ends[e.fd] = nil
			l.sys.Close(e.fd)
			e.fd = -1
		}
	}
	l.putHS(t)
	for d := range t.pend {
		l.putBuf(t.pend[d].buf)
		t.pend[d] = pending{}
	}
	t.state = stClosed
}

func (l *loop) getHS() *hsBuf { return l.hsFree.Get() }

func (l *loop) putHS(t *tunnel) {
	l.hsFree.Put(t.hs)
	t.hs, t.hsLen = nil, 0
}

func (l *loop) getBuf() *relayBuf { return l.bufFree.Get() }

func (l *loop) putBuf(b *relayBuf) { l.bufFree.Put(b) }

func (l *loop) pushHalfOpen(t *tunnel) {
	t.prev, t.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = t
	} else {
		l.head = t
	}
	l.tail = t
	t.listed = true
}

func (l *loop) unlinkHalfOpen(t *tunnel) {
	if !t.listed {
		return
	}
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		l.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		l.tail = t.prev
	}
	t.prev, t.next, t.listed = nil, nil, false
}

// wake makes epoll_wait return: the eventfd becomes readable.
func (l *loop) wake() {
	var one = [8]byte{1}
	_, _ = unix.Write(l.wakefd, one[:])
}

// errTimeout is a half-open connection's expiry.
var errTimeout = errors.New("evloop: handshake timed out")

// lookupFirst resolves name with the default resolver and returns its
// first address.
func lookupFirst(ctx context.Context, name string) (netip.Addr, error) {
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("lookup %s: no address", name)
	}
	return ips[0].Unmap(), nil
}
