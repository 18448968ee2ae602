//go:build linux

package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/rawsock"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/splice"
)

// A tunnel on the loop, from accept to the end of its session: the same
// steps as serveSOCKS, socks4, socks5, connect and relay take on the
// goroutine path, as a state machine driven by edges.

type ltState uint8

const (
	ltHandshake  ltState = iota // reading the greeting, credentials and request
	ltRouting                   // an asynchronous router decides (loopasync_linux.go)
	ltResolving                 // the target is resolved (on the loop, or by a worker)
	ltConnecting                // connect(2) in progress
	ltRelay                     // a session
	ltGone                      // closed, handed off or graduated
)

// SOCKS5 negotiation stages on the loop.
const (
	s5Greeting = iota
	s5Auth
	s5Request
)

// loopHS is a SOCKS handshake's input buffer, the size of the goroutine
// path's; httpHead an HTTP request head's, the goroutine path's limit.
type (
	loopHS   [hsBufSize]byte
	httpHead [http.MaxHeadSize + 1]byte
)

// getHS lends t a handshake buffer for its protocol.
func (l *evloop) getHS(t *ltun) {
	if t.proto == "http" {
		t.hsHTTP = l.headFree.Get()
		t.hs = t.hsHTTP[:]
		// Reads fill what serveHTTP's buffer would hold at first; see
		// httpRequest.
		t.hsCap = inbufSize
		return
	}
	t.hsSOCKS = l.hsFree.Get()
	t.hs = t.hsSOCKS[:]
	t.hsCap = len(t.hs)
}

// putHS takes t's handshake buffer back.
func (l *evloop) putHS(t *ltun) {
	if t.wipe {
		clear(t.hs[:t.hsCap])
		t.wipe = false
	}
	l.hsFree.Put(t.hsSOCKS)
	l.headFree.Put(t.hsHTTP)
	t.hs, t.hsSOCKS, t.hsHTTP, t.hsLen, t.hsCap = nil, nil, nil, 0, 0
}

// lend is one socket of a tunnel and what its last edges said.
type lend struct {
	t        *ltun
	fd       int
	gen      uint32
	readable bool // input (or its end) may be waiting
	writable bool // the send buffer may have room
	hup      bool // the peer has shut down or reset: read until the end
	eof      bool // read returned 0
	rerr     error
	shut     bool // its write half is shut down
}

// lpend is a relay direction's bytes read but not yet written.
type lpend struct {
	buf      *relayBuf
	off, end int
	ahead    bool // the client's read-ahead: written, but not counted as payload
}

func (p *lpend) empty() bool { return p.off == p.end }

// ltun is a connection the loop serves. Its record is lent from the
// loop's free list (tunFree) and goes back when nothing can reach it any
// more (retire).
type ltun struct {
	client, up lend
	peer       netip.AddrPort // the client's address
	ll         *loopListener
	state      ltState
	stage      uint8   // SOCKS5 negotiation stage
	proto      string  // "socks", "socks4" or "socks5", as logFailure names it
	hs         []byte  // the handshake buffer: hsSOCKS's or hsHTTP's
	hsSOCKS    *loopHS // lent while the handshake lasts
	hsHTTP     *httpHead
	hsLen      int
	hsCap      int  // reads go to hs[hsLen:hsCap]
	halfOpen   bool // counted in HalfOpen
	parsed     bool // Request counted
	// wipe: credentials were read into hs (a Proxy-Authorization header,
	// a SOCKS5 password), which putHS clears before the buffer is lent
	// to another client. That client could not see them (only what it
	// sends is read, parsed or handed on: hs[:hsLen]), but a kept buffer
	// would hold them in the process for no purpose.
	wipe bool
	// lookingUp: a worker looks t.via up (it reads t.via and t.dialer
	// until it posts).
	lookingUp bool
	dst       addr.Addr // what the client asked for
	via       addr.Addr // what the loop dials: dst, or the router's Forward target
	pre       *decided  // a decision the goroutine path carries out after a hand-off
	text      string    // the target as the client wrote it (HTTP), for logs
	cred      route.Credentials
	dialer    loopDialer     // the dialer the target is dialed with
	upAP      netip.AddrPort // what t.up connects to
	dialStart time.Time
	start     time.Time
	expires   time.Time // start plus the half-open timeout
	deadline  int64     // expires on the loop's clock
	pend      [2]lpend
	n         [2]int64 // payload relayed: up (client to target), down

	list       *halfOpenList
	prev, next *ltun

	rt *ltRoute // lent while a router decides (loopasync_linux.go)

	// escaped: an asynchronous router was given t (as the request's
	// Receiver and Connector), so the record is never reused; see retire.
	escaped bool
	// retired: queued for reuse (retire); set once.
	retired bool
}

// RemoteAddr is the client's address, for logs (as accept4 gave it: a
// reset socket no longer says).
func (t *ltun) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(t.peer) }

// rawSockname reads a socket's own or peer address.
func rawSockname(get func(int) (unix.Sockaddr, error), fd int) (netip.AddrPort, error) {
	sa, err := get(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, errors.New("not an IP socket")
}

// netError is the error net would have returned for op failing with err on
// the client socket, so that logs read as on the goroutine path.
func (t *ltun) netError(op string, err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	local, _ := rawSockname(unix.Getsockname, t.client.fd)
	return &net.OpError{Op: op, Net: "tcp", Source: net.TCPAddrFromAddrPort(local), Addr: t.RemoteAddr(), Err: err}
}

func (l *evloop) step(t *ltun) {
	switch t.state {
	case ltHandshake:
		l.handshake(t)
	case ltConnecting:
		if t.up.writable {
			l.connected(t)
		}
	case ltRelay:
		l.relay(t)
	}
}

// handshake reads what the client sent and acts on every complete
// message in it.
func (l *evloop) handshake(t *ltun) {
	c := &t.client
	for c.readable && !c.eof && c.rerr == nil {
		if t.hs == nil {
			l.getHS(t)
		}
		space := t.hs[t.hsLen:t.hsCap]
		if len(space) == 0 {
			break
		}
		n, err := l.sys.Read(c.fd, space)
		if err == unix.EAGAIN {
			c.readable = false
			break
		}
		if err != nil {
			c.rerr = t.netError("read", err)
			break
		}
		if n == 0 {
			c.eof = true
			break
		}
		l.s.stats.ServerRx.Add(uint64(n))
		t.hsLen += n
		// A short read emptied the socket: the next byte brings an edge
		// of its own, unless the peer's end of input came with this one.
		if n < len(space) && !c.hup {
			c.readable = false
		}
	}
	l.parse(t)
}

// more is called when a message is incomplete: the handshake fails if no
// more can come (the buffer is full, the client closed or failed).
func (l *evloop) more(t *ltun) {
	if t.proto == "http" {
		if t.client.eof || t.client.rerr != nil {
			l.closeTunnel(t, nil) // as readHead's failures: no answer, no record
		}
		return
	}
	switch {
	case t.hs != nil && t.hsLen == len(t.hs):
		l.fail(t, errGarbage)
	case t.client.rerr != nil:
		l.fail(t, t.client.rerr)
	case t.client.eof:
		l.fail(t, io.EOF)
	}
}

// consume drops the first n bytes of the handshake buffer.
func (t *ltun) consume(n int) {
	copy(t.hs, t.hs[n:t.hsLen])
	t.hsLen -= n
}

// parse acts on the complete messages at the start of the handshake
// buffer, and leaves an incomplete one for the next read.
func (l *evloop) parse(t *ltun) {
	for t.state == ltHandshake {
		if t.hsLen == 0 {
			l.more(t)
			return
		}
		b := t.hs[:t.hsLen]
		if t.proto == "socks" {
			switch v := b[0]; v {
			case socks4.Version:
				t.proto = "socks4"
			case socks5.Version:
				t.proto = "socks5"
			default:
				t.proto = "socks"
				l.fail(t, fmt.Errorf("%w: version 0x%02x", errNotSOCKS, v))
				return
			}
		}
		if t.proto == "socks4" {
			l.socks4(t, b)
			return
		}
		if t.proto == "http" {
			l.httpRequest(t, b)
			return
		}
		if !l.socks5(t, b) {
			return
		}
	}
}

// httpRequest takes a request head on the --http listener. CONNECT is
// served on the loop, as httpConnect serves it; everything else (plain
// proxying, a 407 to answer, a head or target that does not parse) goes
// to serveHTTP from the start, with the bytes read so far.
func (l *evloop) httpRequest(t *ltun, b []byte) {
	// The head's string is the intern table's when it was seen lately,
	// its headers are in the loop's array: head and p must not outlive
	// this call (a hand-off rebuilds what it needs from t). A head that
	// may carry credentials is made a string the table does not keep
	// (see internTable), and what t keeps of it is cut out of it with
	// clone: when the tunnel ends, nothing holds the head any more. Only
	// an authenticated CONNECT pays for that, which also pays for its
	// credentials' strings; the common one keeps its zero allocations.
	str, secret := l.nameStr, http.MayHaveField(b, "Proxy-Authorization")
	if secret {
		str, t.wipe = nil, true
		defer clear(l.headers[:cap(l.headers)])
	}
	head, k, err := http.ParseRequestWith(b, str, l.headers)
	if errors.Is(err, http.ErrShort) && t.hsLen == t.hsCap && t.hsCap < len(t.hs) {
		// serveHTTP reads into a 4 KiB buffer and grows it to the head
		// limit only when a head does not fit: reading as much here
		// keeps the bytes pipelined after a head on the same side of
		// the handshake (ServerRx, read-ahead) and of the relay
		// (BytesUp) on both paths.
		t.hsCap = len(t.hs)
		l.handshake(t)
		return
	}
	if errors.Is(err, http.ErrShort) {
		// As readHead's failures: a full buffer, the client's end or a
		// read error close the connection without an answer.
		if t.hsLen == len(t.hs) || t.client.eof || t.client.rerr != nil {
			l.closeTunnel(t, nil)
		}
		return
	}
	if err != nil {
		l.handoffHTTP(t)
		return
	}
	p, err := head.Proxy()
	if err != nil || !p.Connect {
		l.handoffHTTP(t)
		return
	}
	var cred route.Credentials
	if p.HasAuth {
		if u, pw, ok := http.ParseBasic(p.Auth); ok {
			cred = route.Credentials{Username: u, Password: pw, HasUsername: true, HasPassword: true}
		}
	}
	text := p.Target
	if secret {
		text = l.names.clone(text)
	}
	target, err := addr.ParseTarget(text)
	if err != nil || l.s.cur.Load().conf.AuthRequired && !cred.HasPassword {
		l.handoffHTTP(t)
		return
	}
	t.consume(k)
	l.requestParsed(t, target)
	t.text = text
	t.cred = cred
	l.routed(t, route.Request{Callback: route.Resolve, Addr: text, Cred: cred})
}

// routed asks the router about t's CONNECT request (decide) and acts on
// the answer: the loop dials, or the goroutine path takes over (resume),
// or t has failed or waits for an asynchronous decision.
func (l *evloop) routed(t *ltun, req route.Request) {
	dial, handoff := l.decide(t, req)
	if handoff {
		l.resume(t)
	}
	if dial {
		l.dial(t)
	}
}

// resume hands a parsed CONNECT request (SOCKS4/4A, SOCKS5 or HTTP) to
// the goroutine path where connect would now be called, with the decision
// taken so far (t.pre) so that the router is not asked twice. The request
// is rebuilt from what t keeps: the target, its text and the credentials.
func (l *evloop) resume(t *ltun) {
	proto, rest, cred, dst, text := t.proto, t.rest(), t.cred, t.dst, t.text
	switch proto {
	case "http":
		l.handoff(t, func(c *conn) {
			s := c.s
			in := clientInbuf(c)
			defer in.release()
			in.buf = append(in.buf, rest...)
			p := http.ProxyRequest{RequestHead: http.RequestHead{Method: "CONNECT", Target: text}, Connect: true, ContentLength: -1}
			if err := s.httpConnect(c, &p, cred, in); err != nil {
				s.httpFail(c, err)
			}
		})
	case "socks4":
		req := socks4.Request{Command: socks4.Connect, Addr: dst, UserID: cred.Username}
		l.handoff(t, func(c *conn) {
			s := c.s
			s.resumeSOCKS(c, proto, rest, func(h *handshake) error { return s.socks4Connect(h, req, cred) })
		})
	default:
		req := socks5.Request{Command: socks5.Connect, Addr: dst}
		l.handoff(t, func(c *conn) {
			s := c.s
			s.resumeSOCKS(c, proto, rest, func(h *handshake) error { return s.socks5Command(h, req, cred) })
		})
	}
}

// handoffHTTP gives the connection to serveHTTP from the start.
func (l *evloop) handoffHTTP(t *ltun) {
	pre := t.rest()
	l.handoff(t, func(c *conn) { c.s.serveHTTPFrom(c, pre) })
}

// socks4 takes a SOCKS4 or SOCKS4A request, as socks4 on the goroutine
// path does.
func (l *evloop) socks4(t *ltun, b []byte) {
	req, k, err := socks4.ParseRequestWith(b, l.nameStr)
	if err == socks4.ErrShort {
		l.more(t)
		return
	}
	if err != nil {
		// Unsupported command, user id or domain too long.
		_ = l.write(t, socks4.AppendReply(l.small[:0], socks4.Rejected))
		l.fail(t, err)
		return
	}
	t.consume(k)
	l.requestParsed(t, req.Addr)
	t.cred = route.Credentials{Username: req.UserID, HasUsername: true}
	l.routed(t, route.Request{Callback: route.CallbackFor(req.Addr.Kind()), Cred: t.cred})
}

// socks5 takes one step of a SOCKS5 negotiation, as socks5 on the
// goroutine path does; it reports whether parsing may go on.
func (l *evloop) socks5(t *ltun, b []byte) bool {
	s := l.s
	switch t.stage {
	case s5Greeting:
		methods, k, err := socks5.ParseMethods(b)
		if err == socks5.ErrShort {
			l.more(t)
			return false
		}
		if err != nil {
			l.fail(t, err)
			return false
		}
		m := selectMethod(methods, s.cur.Load().conf.AuthRequired)
		t.consume(k)
		if !l.reply(t, socks5.AppendMethodReply(l.small[:0], m)) {
			return false
		}
		if m == socks5.NoAcceptable {
			l.fail(t, errNoMethod)
			return false
		}
		t.stage = s5Request
		if m == socks5.UserPass {
			t.stage = s5Auth
		}
		return true
	case s5Auth:
		t.wipe = true
		u, p, k, err := socks5.ParseUserPass(b)
		if err == socks5.ErrShort {
			l.more(t)
			return false
		}
		if err != nil {
			l.fail(t, err)
			return false
		}
		t.consume(k)
		if u == "" || p == "" {
			_ = l.write(t, socks5.AppendAuthReply(l.small[:0], 1))
			l.fail(t, errors.New("empty user name or password"))
			return false
		}
		if !l.reply(t, socks5.AppendAuthReply(l.small[:0], 0)) {
			return false
		}
		t.cred = route.Credentials{Username: u, Password: p, HasUsername: true, HasPassword: true}
		t.stage = s5Request
		return true
	}
	// The command is checked as soon as it arrives.
	if len(b) < 2 {
		l.more(t)
		return false
	}
	if b[0] == socks5.Version && !s.commandEnabled(socks5.Command(b[1])) {
		_ = l.write(t, socks5.AppendReply(l.small[:0], socks5.CommandNotSupported, addr.Addr{}))
		l.fail(t, fmt.Errorf("%w: %s", errCommand, socks5.Command(b[1])))
		return false
	}
	req, k, err := socks5.ParseRequestWith(b, l.nameStr)
	if err == socks5.ErrShort {
		l.more(t)
		return false
	}
	if err != nil {
		if err == socks5.ErrAddrType {
			_ = l.write(t, socks5.AppendReply(l.small[:0], socks5.AddressTypeNotSupported, addr.Addr{}))
		}
		l.fail(t, err)
		return false
	}
	t.consume(k)
	l.requestParsed(t, req.Addr)
	if req.Command == socks5.Connect {
		l.routed(t, route.Request{Callback: route.CallbackFor(req.Addr.Kind()), Cred: t.cred})
		return false
	}
	// BIND and UDP ASSOCIATE: the goroutine path takes over where socks5
	// would be now.
	proto, rest, cred := t.proto, t.rest(), t.cred
	l.handoff(t, func(c *conn) {
		s := c.s
		s.resumeSOCKS(c, proto, rest, func(h *handshake) error { return s.socks5Command(h, req, cred) })
	})
	return false
}

// requestParsed counts a complete request, as conn.requestParsed.
func (l *evloop) requestParsed(t *ltun, dst addr.Addr) {
	if !t.parsed {
		t.parsed = true
		l.s.stats.Request.Add(1)
	}
	t.dst = dst
}

// target renders the requested target for logs, as conn.targetString.
func (t *ltun) target() string {
	if t.text != "" || !t.dst.IsValid() {
		return t.text
	}
	return t.dst.String()
}

// rest copies the unconsumed handshake bytes out (for a hand-off, on the
// loop before the buffer goes back).
func (t *ltun) rest() []byte {
	return append([]byte(nil), t.hs[:t.hsLen]...)
}

// decide takes t's routing decision on the loop, as connect does on the
// goroutine path: with no router the loop dials what the client asked
// for; an inline router (route.InlineRouter) that can answer now is asked
// here, its refusals answered here (connect's classes, through
// Server.decision) and a Forward without a chain dialed here. dial says
// the loop dials t.via; handoff that the goroutine path must take over:
// the dialer has a -x chain, the router must block, or the decision (kept
// in t.pre, so that the router is not asked twice) names a chain or a
// connection the engine dialed. Neither: t has failed.
func (l *evloop) decide(t *ltun, req route.Request) (dial, handoff bool) {
	s := l.s
	ld, ok := s.loopDialerOf(s.cur.Load())
	t.dialer = ld
	if !ok {
		return false, true
	}
	t.via = t.dst
	r := s.currentRouter()
	if r == nil {
		return true, false
	}
	// The request lives in a record the loop lends (ltRoute): it must
	// outlive an asynchronous decision, and the routers get a pointer to
	// it rather than to a copy the call would move to the heap.
	rt := l.routeFree.Get()
	rt.req = req
	q := &rt.req
	if q.Addr == "" {
		q.Addr = t.dst.String()
	}
	if ir, ok := r.(route.InlineRouter); ok {
		q.Dial = s.hook
		if d, ok := ir.RouteNow(q); ok {
			l.putRoute(rt)
			s.loopRouted.Add(1)
			return l.carryOut(t, d, nil)
		}
		q.Dial = nil
	}
	t.rt = rt
	if ar, ok := r.(route.AsyncRouter); ok && l.routeAsync(t, ar) {
		return false, false
	}
	t.rt = nil
	l.putRoute(rt)
	return false, true
}

// carryOut classifies a decision taken for t (d, or the error the router
// returned) as decide reports it: refusals answered here, a Forward
// without a chain dialed here (t.via), anything else handed off with the
// decision in t.pre.
func (l *evloop) carryOut(t *ltun, d route.Decision, err error) (dial, handoff bool) {
	up, target, hops, err := l.s.decision(d, err)
	switch {
	case err != nil:
		l.fail(t, err)
		return false, false
	case up != nil || hops != (route.Chain{}):
		t.pre = &decided{d: d}
		return false, true
	}
	t.via = target
	return true, false
}

// write writes a handshake answer, counted in ServerTx, as conn.write. A
// client whose send buffer cannot take a few bytes right after it sent its
// own fails (the goroutine path would wait for room until the deadline).
func (l *evloop) write(t *ltun, b []byte) error {
	n, err := l.sys.Write(t.client.fd, b)
	if n > 0 {
		l.s.stats.ServerTx.Add(uint64(n))
	}
	if err == nil && n < len(b) {
		err = unix.EAGAIN
	}
	if err == unix.EPIPE && errors.Is(t.client.rerr, unix.ECONNRESET) {
		// The loop reads ahead of the messages it answers, so its read
		// took the reset the kernel gives the first call after it; the
		// goroutine path, which answers before reading on, gets it
		// from this write.
		err = unix.ECONNRESET
	}
	if err != nil {
		return t.netError("write", err)
	}
	return nil
}

// reply writes an answer the handshake goes on after; a failure fails it.
func (l *evloop) reply(t *ltun, b []byte) bool {
	if err := l.write(t, b); err != nil {
		l.fail(t, err)
		return false
	}
	return true
}

// dial starts the server-driven dial of t.dst: an address, or a name
// the hosts file answers, is resolved and checked against the block
// policy here (dial.Dialer.DialTargetNow); any other name goes to a
// worker, since the resolver blocks (dial.Dialer.DialTarget).
func (l *evloop) dial(t *ltun) {
	t.dialStart = time.Now()
	t.state = ltResolving
	if ap, answered, err := t.dialer.DialTargetNow(t.via); answered {
		l.resolved(t, ap, err)
		return
	}
	t.lookingUp = true
	l.lookups++
	l.s.loopLookups.Add(1)
	l.s.workers.Go(task{job: t})
}

// run is a worker's part of a tunnel: the lookup, whose answer goes back
// to the loop. It touches nothing of t the loop changes meanwhile.
func (t *ltun) run(s *Server) {
	ctx, cancel := context.WithDeadline(s.ctx, t.expires)
	ap, err := t.dialer.DialTarget(ctx, t.via)
	cancel()
	s.loop.post(loopPost{t: t, kind: postLookup, ap: ap, err: err})
}

// resolved connects to ap, or fails the request with the dialer's error.
func (l *evloop) resolved(t *ltun, ap netip.AddrPort, err error) {
	if t.state != ltResolving {
		return // expired or shut down meanwhile
	}
	if err != nil {
		l.dialFailed(t, err)
		return
	}
	fd, err := l.sys.Socket(rawsock.Family(ap))
	if err != nil {
		l.dialFailed(t, &dial.Error{Kind: dial.System, Errno: err.(syscall.Errno), Err: os.NewSyscallError("socket", err)})
		return
	}
	t.dialer.SetSocketOptions(fd, true)
	if err := l.sys.Connect(fd, ap); err != nil {
		l.sys.Close(fd)
		l.dialFailed(t, dial.ConnectFailed(ap, err.(syscall.Errno)))
		return
	}
	if err := l.register(&t.up, t, fd); err != nil {
		l.sys.Close(fd)
		t.up.fd = -1
		l.dialFailed(t, &dial.Error{Kind: dial.System, Errno: err.(syscall.Errno), Err: os.NewSyscallError("epoll_ctl", err)})
		return
	}
	t.upAP = ap
	t.state = ltConnecting
}

// dialFailed is dialUpstream's failure: counted in RejectUpstream unless
// the phase ended, answered and logged as a failed dial.
func (l *evloop) dialFailed(t *ltun, err error) {
	if t.engineDialing() {
		l.endConnect(t, err)
		return
	}
	if l.s.ctx.Err() != nil {
		l.fail(t, &connectError{failShutdown, errShutdown})
		return
	}
	if l.now() >= t.deadline {
		l.fail(t, &connectError{failTimeout, errTimeout})
		return
	}
	l.s.stats.RejectUpstream.Add(1)
	l.fail(t, &connectError{failDial, fmt.Errorf("dial %s: %w", t.via, err)})
}

// connected finishes the connect: the reply goes to the client, the
// client's read-ahead towards the target, and the session starts.
func (l *evloop) connected(t *ltun) {
	s := l.s
	if err := l.sys.SoError(t.up.fd); err != nil {
		if err == unix.EINPROGRESS || err == unix.EALREADY {
			return
		}
		l.dialFailed(t, dial.ConnectFailed(t.upAP, err.(syscall.Errno)))
		return
	}
	s.stats.ConnectLatency.Add(time.Since(t.dialStart))
	if t.engineDialing() {
		l.engineConnected(t)
		return
	}
	l.established(t)
}

// established starts the session over t.up, connected: the reply goes to
// the client, the client's read-ahead towards the target.
func (l *evloop) established(t *ltun) {
	s := l.s
	if s.ctx.Err() != nil {
		l.fail(t, &connectError{failShutdown, errShutdown})
		return
	}
	if l.now() >= t.deadline {
		l.fail(t, &connectError{failTimeout, errTimeout})
		return
	}
	var reply []byte
	switch t.proto {
	case "http":
		reply = connectEstablished
	case "socks4":
		reply = socks4.AppendReply(l.small[:0], socks4.Granted)
	default:
		bound, _ := l.sys.LocalAddr(t.up.fd)
		reply = socks5.AppendReply(l.small[:0], socks5.Succeeded, addr.FromAddrPort(bound))
	}
	if !l.reply(t, reply) {
		return
	}
	if t.hsLen > 0 {
		b := l.bufFree.Get()
		t.pend[0] = lpend{buf: b, end: copy(b[:], t.hs[:t.hsLen]), ahead: true}
	}
	l.putHS(t)
	l.unlinkHalfOpen(t)
	t.halfOpen = false
	s.stats.HalfOpen.Add(-1)
	s.stats.SessionStarted()
	t.state = ltRelay
	if st := s.cur.Load(); st.conf.Pipe && splice.Available() {
		// --pipe keeps a pipe per direction for the session: that is the
		// goroutine relay's.
		l.graduate(t)
		return
	}
	// What the client sent after its request, or its end, may have come
	// with the handshake's last edge.
	t.client.readable = t.client.readable || t.client.eof
	l.relay(t)
}

// timedOut ends a half-open tunnel at its deadline, as the goroutine path
// does when its deadline passes: a SOCKS5 client whose request was parsed
// is told 06; before the request, it is a handshake timeout.
func (l *evloop) timedOut(t *ltun) {
	if !t.parsed && t.proto == "http" {
		l.closeTunnel(t, nil) // readHead's timeout: no answer, no record
		return
	}
	if !t.parsed {
		l.fail(t, t.netError("read", os.ErrDeadlineExceeded))
		return
	}
	l.fail(t, &connectError{failTimeout, errTimeout})
}

// fail ends a tunnel that did not become a session: the protocol's
// failure reply, the log record, the close, as socks4, socks5 and
// logFailure do on the goroutine path.
func (l *evloop) fail(t *ltun, err error) {
	if t.state == ltGone {
		return
	}
	if t.parsed {
		switch failureOf(err) {
		case failNone, failShutdown:
		case failTimeout:
			if t.proto == "socks5" {
				_ = l.write(t, socks5.AppendReply(l.small[:0], socks5.TTLExpired, addr.Addr{}))
			}
		default:
			var ce *connectError
			if errors.As(err, &ce) {
				switch t.proto {
				case "socks5":
					_ = l.write(t, socks5.AppendReply(l.small[:0], socks5Reply(err), addr.Addr{}))
				case "socks4":
					_ = l.write(t, socks4.AppendReply(l.small[:0], socks4.Rejected))
				case "http":
					// The error page, the linger and the record are
					// httpFail's, which may block: on a worker.
					text := t.text
					l.handoff(t, func(c *conn) {
						c.target = text
						c.s.httpFail(c, err)
					})
					return
				}
			}
		}
	}
	if t.state == ltGone {
		return
	}
	l.s.logRequestFailure(t.proto, err, t.parsed, t, t.target())
	l.closeTunnel(t, nil)
}

// closeTunnel closes both sockets and does what conn.finish does for a
// connection that never became a session, or what session.end does for
// one that did (err is then the session's).
func (l *evloop) closeTunnel(t *ltun, err error) {
	if t.state == ltGone {
		return
	}
	s := l.s
	if t.state == ltRelay {
		s.stats.SessionEnded()
		l.logSession(t, err)
	}
	if t.halfOpen {
		t.halfOpen = false
		s.stats.HalfOpen.Add(-1)
		if s.ctx.Err() == nil && l.now() >= t.deadline {
			s.stats.RejectTimeout.Add(1)
		}
	}
	l.drop(t)
	l.release(&t.client, false)
	l.release(&t.up, false)
	s.mu.Lock()
	s.loopLive--
	s.connRemoved()
	s.mu.Unlock()
}

// drop takes t off the loop: its lists and buffers, its count, what an
// asynchronous router started for it.
func (l *evloop) drop(t *ltun) {
	l.stopEngine(t)
	l.unlinkHalfOpen(t)
	l.putHS(t)
	for d := range t.pend {
		l.bufFree.Put(t.pend[d].buf)
		t.pend[d] = lpend{}
	}
	t.state = ltGone
	l.live--
	l.retire(t)
}

// retire queues t's record for reuse once the loop is done with it and
// nothing outside the loop can reach it any more; a record something may
// still reach is left to the collector, or retired later by whatever
// reaches it last. What can reach a record:
//
//   - a worker's lookup (lookingUp): it reads t and posts t back, so the
//     record waits for the post (lookedUp retires it);
//   - an asynchronous router (escaped): it holds t as the request's
//     Receiver and Connector, and an abandoned request's routine may still
//     call Connect (route.Connector), with a post naming t; the loop
//     cannot know when the router forgets t, so such a record is never
//     reused. Its workers' dials (engineDial) and ltRoute go with it;
//   - the descriptor table (l.ends) and the half-open list: drop, and
//     the release of both ends by its caller, take t out of both within
//     the call that retires it, so before the batch ends; an epoll event
//     of an earlier registration of a descriptor is told apart by its
//     generation (ready), not by its record;
//   - the goroutine path after a hand-off or graduation, the log records
//     (RemoteAddr) and the hand-off's closures: they are given copies of
//     what they need (conn's fields, the read-ahead, the target's text),
//     never t.
//
// The record is reused only after the batch of events in which it was
// retired (recycle): code up the stack that ended the tunnel may still
// look at it (t.state is ltGone until then).
func (l *evloop) retire(t *ltun) {
	if t.state != ltGone || t.lookingUp || t.escaped || t.retired {
		return
	}
	t.retired = true
	// Until the record is lent again, the client's credentials must not
	// stay reachable from the free list.
	t.cred = route.Credentials{}
	l.retired = append(l.retired, t)
}

// recycle puts the records retired during the last batch of events on
// the free list, for the next accept.
func (l *evloop) recycle() {
	for i, t := range l.retired {
		l.tunFree.Put(t)
		l.retired[i] = nil
	}
	l.retired = l.retired[:0]
}

// logSession is session.end's record of a session.
func (l *evloop) logSession(t *ltun, err error) {
	s := l.s
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("client", t.RemoteAddr().String()), slog.String("target", t.target()),
		slog.Int64("up", t.n[0]), slog.Int64("down", t.n[1]),
		slog.Duration("dur", time.Since(t.start).Round(time.Millisecond)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "session closed", attrs...)
}

// relay moves bytes both ways and ends the session once both directions
// have ended and flushed, or at the first error.
func (l *evloop) relay(t *ltun) {
	for d := range 2 {
		bulk, err := l.pump(t, d)
		if err != nil {
			l.closeTunnel(t, err)
			return
		}
		if bulk {
			l.graduate(t)
			return
		}
	}
	if t.client.shut && t.up.shut {
		l.closeTunnel(t, nil)
	}
}

// pump moves bytes in one direction (0: client to target) until the
// source has nothing more or the destination takes nothing more. The end
// of the source's input is passed on as a shutdown of the destination's
// write half once everything before it is written. bulk reports a read
// that filled the buffer: the tunnel should graduate.
func (l *evloop) pump(t *ltun, d int) (bulk bool, err error) {
	src, dst := &t.client, &t.up
	srcPeer, dstPeer := t.peer, t.upAP
	count := &l.s.stats.BytesUp
	if d == 1 {
		src, dst = dst, src
		srcPeer, dstPeer = dstPeer, srcPeer
		count = &l.s.stats.BytesDown
	}
	p := &t.pend[d]
	for {
		if !p.empty() {
			if !dst.writable {
				return false, nil
			}
			n, err := l.sys.Write(dst.fd, p.buf[p.off:p.end])
			if err == unix.EAGAIN {
				dst.writable = false
				return false, nil
			}
			if err != nil {
				return false, relayError("write", dst.fd, dstPeer, err)
			}
			p.off += n
			if !p.ahead {
				count.Add(uint64(n))
				t.n[d] += int64(n)
			}
			if !p.empty() {
				dst.writable = false
				return false, nil
			}
			l.bufFree.Put(p.buf)
			*p = lpend{}
		}
		if src.eof {
			if !dst.shut {
				dst.shut = true
				if err := l.sys.ShutdownWrite(dst.fd); err != nil && err != unix.ENOTCONN {
					return false, os.NewSyscallError("shutdown", err)
				}
			}
			return false, nil
		}
		if !src.readable {
			return false, nil
		}
		buf := l.bufFree.Get()
		n, err := l.sys.Read(src.fd, buf[:])
		if err == unix.EAGAIN {
			src.readable = false
			l.bufFree.Put(buf)
			return false, nil
		}
		if err != nil {
			l.bufFree.Put(buf)
			return false, relayError("read", src.fd, srcPeer, err)
		}
		if n == 0 {
			src.eof = true
			l.bufFree.Put(buf)
			continue
		}
		*p = lpend{buf: buf, end: n}
		if n == len(buf) {
			return true, nil
		}
		if !src.hup {
			src.readable = false
		}
	}
}

// relayError is the error the goroutine relay (core/splice) reports when
// op fails with errno on the socket fd connected to peer, so that the
// session's record reads the same on both paths: the operation, both
// addresses and "splice" as the system call.
func relayError(op string, fd int, peer netip.AddrPort, errno error) error {
	var local net.Addr
	if ap, err := rawSockname(unix.Getsockname, fd); err == nil {
		local = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: local, Addr: net.TCPAddrFromAddrPort(peer), Err: os.NewSyscallError("splice", errno)}
}

// fileConn turns the loop's descriptor of e into a net.Conn of the
// goroutine path (a duplicate; the loop's own is closed). net.FileConn
// turns TCP_NODELAY and keep-alive (15 s) on, as for any socket net
// makes: the socket's own settings, which the goroutine path would have
// given it, are put back.
func (l *evloop) fileConn(e *lend) (net.Conn, error) {
	saved := saveSockOpts(e.fd)
	f := os.NewFile(uintptr(e.fd), "")
	nc, err := net.FileConn(f)
	if err == nil {
		saved.restore(e.fd)
	}
	// The file owns e.fd now; closing it closes the loop's descriptor,
	// after it left the epoll set (the duplicate keeps the socket open).
	l.ends[e.fd] = nil
	_ = l.sys.EpollDel(l.epfd, e.fd)
	f.Close()
	e.fd = -1
	return nc, err
}

// sockOpts are the options net.FileConn changes on a socket.
type sockOpts [5]int

var sockOptNames = [5]struct{ level, opt int }{
	{unix.IPPROTO_TCP, unix.TCP_NODELAY},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE},
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
	{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL},
	{unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
}

func saveSockOpts(fd int) sockOpts {
	var o sockOpts
	for i, n := range sockOptNames {
		o[i], _ = unix.GetsockoptInt(fd, n.level, n.opt)
	}
	return o
}

// restore sets back what changed; only latency or a probe's timing is at
// stake, so failures are ignored.
func (o sockOpts) restore(fd int) {
	now := saveSockOpts(fd)
	for i, n := range sockOptNames {
		if now[i] != o[i] {
			_ = unix.SetsockoptInt(fd, n.level, n.opt, o[i])
		}
	}
}

// handoff gives a half-open connection to the goroutine path: h continues
// where the loop stopped, with the connection's start, deadline and what
// was counted and learned so far.
func (l *evloop) handoff(t *ltun, h func(*conn)) {
	s := l.s
	pre := t.pre
	t.pre = nil
	nc, err := l.fileConn(&t.client)
	if err != nil {
		s.log.Warn("event loop: hand-off", "err", err)
		pre.close()
		l.closeTunnel(t, nil)
		return
	}
	deadline := t.expires
	c := &conn{Conn: nc, s: s, start: t.start, deadline: deadline, halfOpen: true, parsed: t.parsed, dst: t.dst, pre: pre}
	c.ctx, c.cancel = context.WithDeadline(s.ctx, deadline)
	_ = nc.SetDeadline(deadline)
	s.mu.Lock()
	if s.closing {
		// Shutdown has begun and may have aborted the half-open
		// connections already: this one is closed as they were.
		s.mu.Unlock()
		c.cancel()
		nc.Close()
		pre.close()
		l.closeTunnel(t, nil)
		return
	}
	t.halfOpen = false // c carries the count now
	l.release(&t.up, false)
	l.drop(t)
	s.loopLive--
	s.conns[c] = struct{}{}
	s.conndone.Add(1)
	s.mu.Unlock()
	s.loopHandoffs.Add(1)
	s.workers.Go(task{c: c, h: h})
}

// graduate gives a session to the goroutine relay (splice for bulk, the
// pipes of --pipe), with the bytes the loop holds and its counts.
func (l *evloop) graduate(t *ltun) {
	s := l.s
	cc, err := l.fileConn(&t.client)
	var up net.Conn
	if err == nil {
		up, err = l.fileConn(&t.up)
		if err != nil {
			cc.Close()
		}
	}
	if err != nil {
		l.release(&t.client, false)
		l.release(&t.up, false)
		l.closeTunnel(t, err)
		return
	}
	c := &conn{Conn: cc, s: s, start: t.start, active: true, up: up, dst: t.dst, detached: true, cancel: func() {}}
	r := &c.sess
	r.c, r.up = c, up
	r.pipe = s.cur.Load().conf.Pipe && splice.Available()
	r.upN, r.downN = t.n[0], t.n[1]
	for d := range 2 {
		src, dst := &t.client, &t.up
		if d == 1 {
			src, dst = dst, src
		}
		if p := &t.pend[d]; !p.empty() {
			r.ahead[d] = append([]byte(nil), p.buf[p.off:p.end]...)
			r.aheadUncounted[d] = p.ahead
		}
		r.eof[d] = src.eof
		if src.eof && dst.shut {
			r.done[d] = true
			r.left.Add(1)
		}
	}
	s.mu.Lock()
	if l.forced.Load() {
		// Shutdown is closing the sessions and may have passed the
		// goroutine path's already: this one is closed by it too, and
		// its record says so, as theirs do.
		s.mu.Unlock()
		cc.Close()
		up.Close()
		l.closeTunnel(t, errForcedClose)
		return
	}
	l.drop(t)
	s.loopLive--
	s.conns[c] = struct{}{}
	s.conndone.Add(1)
	s.mu.Unlock()
	s.loopGraduated.Add(1)
	r.startPumps()
}
