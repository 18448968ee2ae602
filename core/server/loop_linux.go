//go:build linux

package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/rawsock"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// The event loop: one goroutine that serves the SOCKS listener's
// connections from accept to the end of their session with non-blocking
// system calls (core/rawsock) on descriptors registered once, edge-
// triggered, in an epoll set of its own. It serves a connection only when
// nothing in it can block or run user code: no router and a dialer that
// connects by itself (loopDialer). Everything else stays with the
// goroutine path, which the loop hands a connection to (handoff) when it
// meets such a case mid-handshake, and a tunnel that carries bulk data
// graduates to the goroutine relay, which splices (graduate).
//
// Between bursts the loop parks on the Go runtime's poller, which watches
// the loop's epoll descriptor, with a read deadline for the oldest
// half-open connection: no thread of its own, so the goroutines it posts
// lookups to run on the same thread while it waits.

const (
	// loopBufSize is a relay direction's buffer, lent only while the
	// direction holds bytes not yet written. A read that fills it is bulk:
	// the tunnel graduates to the goroutine relay.
	loopBufSize = 16 << 10
	// loopMaxEvents is how many events one poll takes at most.
	loopMaxEvents = 256
	// loopMaxFree bounds each free list, so that a burst leaves little
	// behind.
	loopMaxFree = 64
	// loopHeaders is how many headers of a CONNECT head the loop parses
	// into an array of its own.
	loopHeaders = 16
	// listenerTag marks a listener's events (Pad = listenerTag + index);
	// tunnels' generations stay below it.
	listenerTag = 1 << 30
)

type relayBuf [loopBufSize]byte

// loopDialer is what the loop needs of a dialer to connect by itself;
// *dial.Dialer has it. A Dialer without it (a test's) keeps every
// connection on the goroutine path. A wrapper that embeds *dial.Dialer
// gets these methods too: if its own Dial must see every connection, its
// Direct must say false.
type loopDialer interface {
	Dialer
	Direct() bool
	SetSocketOptions(fd int, raw bool)
	DialTarget(ctx context.Context, first addr.Addr) (netip.AddrPort, error)
	DialTargetNow(first addr.Addr) (ap netip.AddrPort, answered bool, err error)
}

// loopEnabled turns the loop off for the whole package (the tests run
// the goroutine path with it).
var loopEnabled = true

// loopTunnelsKept bounds the loop's free list of tunnel records
// (tunFree); a test sets it to 1 so that the next accept is certain to
// reuse the record the last tunnel left.
var loopTunnelsKept = loopMaxFree

// loopSupported says that this system has the event loop.
const loopSupported = true

// loopDialerOf returns the current dialer if the loop can connect with it.
func (s *Server) loopDialerOf(st *settings) (loopDialer, bool) {
	ld, ok := st.dialer.(loopDialer)
	if !ok || !ld.Direct() {
		return nil, false
	}
	return ld, true
}

// loopServes reports whether a connection accepted now is the loop's:
// no router, or one the loop can ask without blocking (an inline or an
// asynchronous router), and a dialer that connects by itself.
func (s *Server) loopServes() bool {
	switch s.currentRouter().(type) {
	case nil, route.InlineRouter, route.AsyncRouter:
	default:
		return false
	}
	_, ok := s.loopDialerOf(s.cur.Load())
	return ok
}

// loopListener is a listener the loop may own. Exactly one acceptor is
// active at a time: the loop while loopOwns is set, the Go accept loop
// otherwise (see acceptLoop and ownership).
type loopListener struct {
	g        *guardedListener
	rc       syscall.RawConn
	h        func(*conn) // the goroutine path's handler
	proto    string      // for logs before the first byte
	loopOwns atomic.Bool
	handback chan struct{} // the loop gives the listener back
	l        *evloop
	owned    bool  // the loop accepts on it (the loop's own view)
	dead     bool  // closed: never accepted on again
	retryAt  int64 // exhausted: when to accept again (0: not)
	// accept is the function acceptOn gives rc.Control, built once (a
	// closure per call would be an allocation per wake); it leaves in
	// exhausted why it stopped, when descriptors ran out.
	accept    func(lfd uintptr)
	exhausted error
}

// halfOpenList is the deadline list of the half-open connections that
// share one timeout: in arrival order, which is deadline order.
type halfOpenList struct {
	timeout    int64
	head, tail *ltun
}

// evloop is the loop's state. Only the loop goroutine touches it, except
// what mu guards and the atomics.
type evloop struct {
	s      *Server
	sys    rawsock.Sys
	epfd   int
	wakefd int
	events []unix.EpollEvent
	ends   []*lend // by descriptor
	gen    uint32
	lns    []*loopListener
	lists  []*halfOpenList
	hsFree rawsock.FreeList[loopHS]
	// tunFree lends tunnel records (ltun), which retire queues in retired
	// once nothing can reach them any more; recycle moves them here after
	// the batch of events in which they ended.
	tunFree rawsock.FreeList[ltun]
	retired []*ltun
	// routeFree lends routed requests' records (ltRoute).
	routeFree rawsock.FreeList[ltRoute]
	headFree  rawsock.FreeList[httpHead]
	bufFree   rawsock.FreeList[relayBuf]
	epoch     time.Time
	// names hands out the strings of parsed requests (intern): nameStr
	// is its str, built once so that a parse is not given a new method
	// value each time.
	names   *internTable
	nameStr func([]byte) string
	// headers holds an HTTP request head's headers while httpRequest
	// parses it (loopHeaders of them; a longer head gets an array of its
	// own).
	headers []http.Header
	live    int // tunnels open (or waiting for a lookup)
	lookups int // lookups and engines' dials in flight on workers
	// decisions counts the asynchronous decisions the loop waits for:
	// started and neither taken nor abandoned (loopasync_linux.go).
	decisions int
	wakeBuf   [8]byte
	small     [24]byte // a SOCKS reply

	mu      sync.Mutex
	posts   []loopPost // guarded by mu
	spare   []loopPost
	closed  bool // guarded by mu: wakefd is closed
	stopped atomic.Bool
	forced  atomic.Bool
}

// postKind says what a post brings the loop.
type postKind uint8

const (
	postLookup  postKind = iota // a worker's name lookup: ap, err
	postDialed                  // a worker's dial for an engine's Connect: conn, err
	postDecided                 // an asynchronous router's decision: d, err
	postConnect                 // an engine's Connect: target, chain, result
)

// loopPost is what another goroutine hands the loop: a worker's answer
// or an asynchronous router's call. It names its tunnel, whose record the
// loop does not reuse while a post may still name it (retire), so a post
// finds it even after it ended: the loop then closes what the post
// carries, or answers it as the tunnel's end dictates.
type loopPost struct {
	t      *ltun
	kind   postKind
	ap     netip.AddrPort
	conn   net.Conn
	d      route.Decision
	err    error
	target string
	chain  route.Chain
	result func(error)
}

// newLoop builds the loop for the listeners it may own; nil when there
// is none (forward and TPROXY modes) or the loop is off.
func (s *Server) newLoop() (*evloop, error) {
	if !loopEnabled {
		return nil, nil
	}
	type candidate struct {
		ln    net.Listener
		h     func(*conn)
		proto string
	}
	var cands []candidate
	if s.proxyLn != nil && !s.fwdMode && !s.conf.Transparent {
		cands = append(cands, candidate{s.proxyLn, s.serveSOCKS, "socks"})
	}
	if s.httpLn != nil {
		cands = append(cands, candidate{s.httpLn, s.serveHTTP, "http"})
	}
	if len(cands) == 0 {
		return nil, nil
	}
	l := &evloop{
		s: s, sys: rawsock.New(false), epfd: -1, wakefd: -1,
		events:    make([]unix.EpollEvent, loopMaxEvents),
		hsFree:    rawsock.FreeList[loopHS]{Max: loopMaxFree},
		tunFree:   rawsock.FreeList[ltun]{Max: loopTunnelsKept},
		routeFree: rawsock.FreeList[ltRoute]{Max: loopMaxFree},
		headFree:  rawsock.FreeList[httpHead]{Max: loopMaxFree},
		bufFree:   rawsock.FreeList[relayBuf]{Max: loopMaxFree},
		epoch:     time.Now(),
		names:     newInternTable(),
		headers:   make([]http.Header, 0, loopHeaders),
	}
	l.nameStr = l.names.str
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("event loop: epoll_create1: %w", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		unix.Close(l.epfd)
		return nil, fmt.Errorf("event loop: eventfd: %w", err)
	}
	if err := l.sys.EpollAdd(l.epfd, l.wakefd, 0); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("event loop: register eventfd: %w", err)
	}
	for _, c := range cands {
		g, ok := c.ln.(*guardedListener)
		if !ok {
			continue
		}
		sc, ok := g.Listener.(syscall.Conn)
		if !ok {
			continue
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		ll := &loopListener{g: g, rc: rc, h: c.h, proto: c.proto, handback: make(chan struct{}, 1), l: l}
		ll.accept = func(lfd uintptr) { l.acceptBurst(ll, int(lfd)) }
		tag := uint32(listenerTag + len(l.lns))
		var regErr error
		if err := rc.Control(func(fd uintptr) { regErr = l.sys.EpollAdd(l.epfd, int(fd), tag) }); err != nil || regErr != nil {
			l.closeFDs()
			return nil, fmt.Errorf("event loop: register listener: %w", errors.Join(err, regErr))
		}
		l.lns = append(l.lns, ll)
	}
	if len(l.lns) == 0 {
		l.closeFDs()
		return nil, nil
	}
	return l, nil
}

// listenerOf returns the loop's record of listener g, nil if the loop
// does not serve it.
func (l *evloop) listenerOf(g any) *loopListener {
	if l == nil {
		return nil
	}
	for _, ll := range l.lns {
		if any(ll.g) == g {
			return ll
		}
	}
	return nil
}

func (l *evloop) closeFDs() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.drainPosts()
	if l.wakefd >= 0 {
		unix.Close(l.wakefd)
	}
	if l.epfd >= 0 {
		unix.Close(l.epfd)
	}
	l.wakefd, l.epfd = -1, -1
}

// wakeOne is what wake writes: the eventfd's counter increment, 1 in the
// host's byte order. Read-only, and not on a stack, as a raw write's
// buffer must be.
var wakeOne = func() (b [8]byte) {
	binary.NativeEndian.PutUint64(b[:], 1)
	return b
}()

// wake makes the loop look at its posts, its listeners' ownership and
// the server's state. Any goroutine may call it, at any time.
//
// The write is the loop's raw one (l.sys, outside the scheduler's system
// call bracket; it uses no scratch, so any goroutine may make it): an
// eventfd write never blocks (EFD_NONBLOCK, and the counter cannot
// fill), and the bracket would wake the runtime's sysmon thread whenever
// it sleeps because every processor was idle, which with a Lua ruleset
// is at nearly every decision posted back (EXPERIMENTS.md section 16).
func (l *evloop) wake() {
	l.mu.Lock()
	if !l.closed {
		_, _ = l.sys.Write(l.wakefd, wakeOne[:])
	}
	l.mu.Unlock()
}

// stop begins the loop's part of Shutdown: no more accepts, half-open
// connections closed, sessions left to drain.
func (l *evloop) stop() {
	l.stopped.Store(true)
	l.wake()
}

// forceClose ends the sessions still relaying (Shutdown's context is
// done).
func (l *evloop) forceClose() {
	l.forced.Store(true)
	l.wake()
}

// now is the loop's clock: nanoseconds since it started.
func (l *evloop) now() int64 { return int64(time.Since(l.epoch)) }

// run is the loop's goroutine. It returns once Shutdown has stopped it
// and every tunnel and lookup has ended, with every descriptor closed.
func (l *evloop) run() {
	defer l.s.conndone.Done()
	defer l.closeFDs()
	if err := l.serve(); err != nil {
		l.s.log.Error("event loop stopped", "err", err)
		// Nothing more is accepted here: give the listeners back.
		for _, ll := range l.lns {
			l.giveBack(ll)
		}
		l.closeAll(err)
		for l.lookups > 0 || l.decisions > 0 {
			l.waitPosts()
		}
	}
}

// serve polls and dispatches until the loop may exit.
func (l *evloop) serve() error {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("epoll descriptor: %w", err)
	}
	// The file takes the descriptor over: closing it also takes it out of
	// the runtime's poller, and closeFDs must not close it again.
	f := os.NewFile(uintptr(l.epfd), "epoll")
	defer func() {
		f.Close()
		l.epfd = -1
	}()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("epoll descriptor: %w", err)
	}
	var armed int64 // the read deadline set on f, on the loop's clock; 0: none
	for {
		if l.stopped.Load() && l.live == 0 && l.lookups == 0 && l.decisions == 0 {
			return nil
		}
		n, err := l.sys.EpollPoll(l.epfd, l.events)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("epoll_pwait: %w", err)
		}
		if n <= 0 {
			if next := l.nextDeadline(); next != 0 && (armed == 0 || armed > next) {
				armed = next
				_ = f.SetReadDeadline(l.epoch.Add(time.Duration(armed)))
			}
			err := rc.Read(func(uintptr) bool {
				n, _ = l.sys.EpollPoll(l.epfd, l.events)
				return n > 0
			})
			if errors.Is(err, os.ErrDeadlineExceeded) {
				armed = 0
				_ = f.SetReadDeadline(time.Time{})
			} else if err != nil {
				return fmt.Errorf("waiting on the epoll descriptor: %w", err)
			}
		}
		l.dispatch(max(n, 0))
		l.expire()
		l.recycle()
	}
}

// waitPosts blocks until a post arrives and takes it (used only when the
// loop failed and waits for its lookups before closing the eventfd).
func (l *evloop) waitPosts() {
	time.Sleep(time.Millisecond)
	l.takePosts()
}

// dispatch acts on the first n events.
func (l *evloop) dispatch(n int) {
	for i := range n {
		ev := &l.events[i]
		fd, tag := int(ev.Fd), uint32(ev.Pad)
		switch {
		case fd == l.wakefd && tag == 0:
			l.woken()
		case tag >= listenerTag:
			if i := int(tag - listenerTag); i < len(l.lns) {
				l.acceptOn(l.lns[i])
			}
		default:
			l.ready(fd, tag, ev.Events)
		}
	}
}

// woken drains the eventfd and acts on what may have changed: posts,
// the listeners' ownership, Shutdown. A listener is looked at only when
// its ownership changed or the loop no longer serves new connections:
// most wakes are posts, and an accept4 that finds nothing is a system
// call per post for nothing (the listener's own edges bring the loop its
// connections).
func (l *evloop) woken() {
	for {
		if _, err := l.sys.Read(l.wakefd, l.wakeBuf[:]); err != nil {
			break
		}
	}
	l.takePosts()
	if l.stopped.Load() {
		l.shutdown()
		return
	}
	for _, ll := range l.lns {
		if owns := ll.loopOwns.Load(); owns != ll.owned || owns && !l.s.loopServes() {
			l.acceptOn(ll)
		}
	}
}

// shutdown closes the half-open tunnels (no reply, as Shutdown does on the
// goroutine path) and, once forced, the sessions.
func (l *evloop) shutdown() {
	for _, ll := range l.lns {
		ll.owned = false
	}
	for _, hl := range l.lists {
		for hl.head != nil {
			l.closeTunnel(hl.head, nil)
		}
	}
	if l.forced.Load() {
		l.closeAll(errForcedClose)
	}
}

// closeAll closes every tunnel; err is what the sessions' records give
// as the reason.
func (l *evloop) closeAll(err error) {
	for _, e := range l.ends {
		if e != nil {
			l.closeTunnel(e.t, err)
		}
	}
	for _, hl := range l.lists {
		for hl.head != nil {
			l.closeTunnel(hl.head, nil)
		}
	}
}

// acceptOn takes the pending connections of ll while the loop owns it
// (the listener is edge-triggered: until accept4 says EAGAIN), and gives
// it back to the Go accept loop when the loop no longer serves new
// connections.
func (l *evloop) acceptOn(ll *loopListener) {
	if ll.dead || l.stopped.Load() {
		return
	}
	if !ll.loopOwns.Load() {
		ll.owned = false
		return
	}
	if !l.s.loopServes() {
		l.giveBack(ll)
		if !ll.loopOwns.Load() {
			return
		}
	}
	ll.owned = true
	ll.retryAt = 0
	ll.exhausted = nil
	err := ll.rc.Control(ll.accept)
	exhausted := ll.exhausted
	if err != nil {
		ll.dead, ll.owned = true, false // the listener is closed
		return
	}
	if exhausted != nil {
		// The guarded listener's spare descriptor refuses the queued
		// clients, as on the goroutine path; when it cannot, accepting is
		// tried again a little later rather than pausing the loop.
		if ll.g.shedNow(os.NewSyscallError("accept4", exhausted)) == 0 {
			ll.retryAt = l.now() + int64(exhaustedPause)
		} else {
			ll.retryAt = l.now()
		}
	}
}

// acceptBurst accepts on the listener's descriptor lfd until it has no
// connection left, or a burst's worth.
func (l *evloop) acceptBurst(ll *loopListener, lfd int) {
	for range maxRefuseBurst {
		fd, peer, err := l.sys.AcceptFrom(lfd)
		switch err {
		case nil:
			l.accepted(ll, fd, peer)
			continue
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EMFILE, unix.ENFILE:
			ll.exhausted = err
		}
		return
	}
}

// giveBack hands ll to the Go accept loop: the deadline that stopped its
// Accept is cleared first. If the fast path came back meanwhile, the loop
// keeps it (a SetRouter or Reconfigure in between found the loop owning it
// and woke the loop rather than kicking Accept).
func (l *evloop) giveBack(ll *loopListener) {
	ll.owned = false
	ll.loopOwns.Store(false)
	ll.g.clearDeadline()
	if l.s.loopServes() && !l.stopped.Load() && !ll.dead {
		ll.loopOwns.Store(true)
		return
	}
	select {
	case ll.handback <- struct{}{}:
	default:
	}
}

// accepted starts serving a connection the loop accepted.
func (l *evloop) accepted(ll *loopListener, fd int, peer netip.AddrPort) {
	s := l.s
	if !s.Admit() {
		l.sys.Close(fd)
		return
	}
	st := s.cur.Load()
	now := time.Now()
	// The record is a retired one when there is one: every field is set
	// anew, so that nothing of its last tunnel is left in it.
	// expires and deadline are one instant on two clocks (a worker's
	// context ends at expires, the loop compares its own clock with
	// deadline), so both come from now: read apart, deadline fell after
	// expires, and a dial the context ended at the deadline could be
	// taken for a failure rather than the half-open timeout.
	t := l.tunFree.Get()
	*t = ltun{ll: ll, peer: peer, proto: ll.proto, start: now, expires: now.Add(st.timeout), deadline: int64(now.Sub(l.epoch)) + int64(st.timeout)}
	t.up.fd = -1
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.sys.Close(fd)
		return
	}
	s.loopLive++
	s.connAdded()
	s.mu.Unlock()
	s.stats.HalfOpen.Add(1)
	t.halfOpen = true
	l.live++
	if err := l.register(&t.client, t, fd); err != nil {
		l.sys.Close(fd)
		t.client.fd = -1
		l.closeTunnel(t, nil)
		return
	}
	if st.conf.TCPNoDelay {
		// The kernel's default is off, which is the setting's default too.
		_ = l.sys.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	l.pushHalfOpen(t, int64(st.timeout))
	if !s.loopServes() {
		// The fast path ended between the check and this accept: the
		// connection is the goroutine path's, as if it had accepted it.
		l.handoff(t, ll.h)
		return
	}
	s.loopServed.Add(1)
}

// register makes fd end e of tunnel t and adds it to the epoll set.
func (l *evloop) register(e *lend, t *ltun, fd int) error {
	l.gen++
	if l.gen >= listenerTag {
		l.gen = 1
	}
	*e = lend{t: t, fd: fd, gen: l.gen}
	if fd >= len(l.ends) {
		l.ends = append(l.ends, make([]*lend, fd+1-len(l.ends)+64)...)
	}
	l.ends[fd] = e
	if err := l.sys.EpollAdd(l.epfd, fd, l.gen); err != nil {
		l.ends[fd] = nil
		return err
	}
	return nil
}

// release forgets fd; with keep it stays open (its duplicate lives on in
// the goroutine path) and is only taken out of the epoll set.
func (l *evloop) release(e *lend, keep bool) {
	if e.fd < 0 {
		return
	}
	l.ends[e.fd] = nil
	if keep {
		_ = l.sys.EpollDel(l.epfd, e.fd)
	}
	l.sys.Close(e.fd)
	e.fd = -1
}

// ready records an edge on a tunnel's socket and lets the tunnel act on
// it. An event of an earlier registration of the same descriptor (closed
// and reused within one batch) is dropped by its generation.
func (l *evloop) ready(fd int, gen uint32, events uint32) {
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

// nextDeadline is the earliest time the loop must wake without an event:
// the oldest half-open connection of each timeout, a listener to accept on
// again after exhaustion. 0: none.
func (l *evloop) nextDeadline() int64 {
	var next int64
	for _, hl := range l.lists {
		if hl.head != nil && (next == 0 || hl.head.deadline < next) {
			next = hl.head.deadline
		}
	}
	for _, ll := range l.lns {
		if ll.retryAt != 0 && (next == 0 || ll.retryAt < next) {
			next = ll.retryAt
		}
	}
	return next
}

// expire ends the half-open connections whose time is up, and accepts
// again where exhaustion paused it.
func (l *evloop) expire() {
	now := l.now()
	for _, hl := range l.lists {
		for t := hl.head; t != nil && t.deadline <= now; t = hl.head {
			l.timedOut(t)
		}
	}
	for _, ll := range l.lns {
		if ll.retryAt != 0 && ll.retryAt <= now {
			l.acceptOn(ll)
		}
	}
}

// pushHalfOpen lists t under its timeout; a reload that changes the
// timeout starts a list of its own, so that each stays in deadline order.
func (l *evloop) pushHalfOpen(t *ltun, timeout int64) {
	var hl *halfOpenList
	for _, x := range l.lists {
		if x.timeout == timeout {
			hl = x
			break
		}
	}
	if hl == nil {
		hl = &halfOpenList{timeout: timeout}
		l.lists = append(l.lists, hl)
	}
	t.list, t.prev, t.next = hl, hl.tail, nil
	if hl.tail != nil {
		hl.tail.next = t
	} else {
		hl.head = t
	}
	hl.tail = t
}

func (l *evloop) unlinkHalfOpen(t *ltun) {
	hl := t.list
	if hl == nil {
		return
	}
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		hl.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		hl.tail = t.prev
	}
	t.prev, t.next, t.list = nil, nil, nil
}

// takePosts acts on every post: lookups and dials that answered,
// decisions taken, engines' connects.
func (l *evloop) takePosts() {
	l.mu.Lock()
	posts := l.posts
	l.posts = l.spare[:0]
	l.mu.Unlock()
	for i, p := range posts {
		posts[i] = loopPost{}
		switch p.kind {
		case postLookup:
			l.lookups--
			l.lookedUp(p.t, p.ap, p.err)
		case postDialed:
			l.lookups--
			l.engineDialed(p.t, p.conn, p.err)
		case postDecided:
			l.decided(p.t, p.d, p.err)
		case postConnect:
			l.engineConnect(p.t, p.target, p.chain, p.result)
		}
	}
	l.spare = posts[:0]
}

// post hands p to the loop; any goroutine may call it. It returns false,
// having posted nothing, once the loop has exited.
func (l *evloop) post(p loopPost) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	first := len(l.posts) == 0
	l.posts = append(l.posts, p)
	l.mu.Unlock()
	if first {
		l.wake()
	}
	return true
}

// yieldToLoop is the Go accept loop's side of ownership, called before
// each Accept: while the loop serves new connections, the listener is the
// loop's and the Go accept loop waits for it to be given back. It returns
// false when the listeners are closed.
func (s *Server) yieldToLoop(ll *loopListener) bool {
	for s.loopServes() {
		ll.loopOwns.Store(true)
		s.loop.wake()
		select {
		case <-ll.handback:
		case <-s.serving:
			return false
		}
	}
	return true
}

// acceptTimedOut is the Go accept loop's answer to an Accept stopped by
// kick: the deadline is cleared before ownership is looked at again, so
// that a kick after the look is not lost.
func (s *Server) acceptTimedOut(ll *loopListener) { ll.g.clearDeadline() }

// ownershipChanged tells the active acceptor of each listener the loop may
// own that the router or the dialer changed: the loop is woken to give its
// listeners back, or the Go Accept kicked to hand them over.
func (s *Server) ownershipChanged() {
	s.mu.Lock()
	l := s.loop
	s.mu.Unlock()
	if l == nil {
		return
	}
	for _, ll := range l.lns {
		if ll.loopOwns.Load() {
			l.wake()
		} else if s.loopServes() {
			ll.g.kick()
		}
	}
}
