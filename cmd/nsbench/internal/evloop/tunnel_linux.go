//go:build linux

package evloop

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

type state uint8

const (
	stHandshake  state = iota // reading the client's greeting and request
	stResolving               // a resolver goroutine has the name
	stConnecting              // the connect to the target is in progress
	stRelay                   // the reply is sent (or queued): relaying
	stClosed
)

type proto uint8

const (
	protoUnknown proto = iota // the first byte decides
	protoSOCKS5
	protoSOCKS4
	protoHTTP
)

// end is one socket of a tunnel and what its last edges said.
type end struct {
	t        *tunnel
	fd       int
	gen      uint32
	readable bool // input (or end of input) may be waiting
	writable bool // the send buffer may have room
	hup      bool // the peer has shut down or reset: read until the end
	eof      bool // read returned 0
	shut     bool // its write half is shut down
}

// pending is a relay direction's bytes read but not yet written.
type pending struct {
	buf      *relayBuf
	off, end int
}

func (p *pending) empty() bool { return p.off == p.end }

// tunnel is one client connection, from accept to close.
type tunnel struct {
	client, up end
	state      state
	proto      proto
	greeted    bool // SOCKS5: the method is chosen, the request is next
	hs         *hsBuf
	hsLen      int
	port       uint16     // the target's port while its name resolves
	pend       [2]pending // 0: client to target, 1: target to client

	deadline   int64 // of the half-open phase, on the loop's clock
	prev, next *tunnel
	listed     bool // on the half-open list
}

// handshake reads what the client sent and acts on every complete
// message in it.
func (l *loop) handshake(t *tunnel) {
	c := &t.client
	for c.readable {
		if t.hs == nil {
			t.hs = l.getHS()
		}
		space := t.hs[t.hsLen:]
		if len(space) == 0 {
			break // the parser reports the head as too large
		}
		n, err := l.sys.Read(c.fd, space)
		if err == unix.EAGAIN {
			c.readable = false
			break
		}
		if err != nil || n == 0 {
			l.close(t)
			return
		}
		t.hsLen += n
		// A short read emptied the socket: the next byte brings an edge
		// of its own, unless the peer's end of input came with this one.
		if n < len(space) && !c.hup {
			c.readable = false
		}
	}
	l.parse(t)
}

// consume drops the first n bytes of the handshake buffer.
func (t *tunnel) consume(n int) {
	copy(t.hs[:], t.hs[n:t.hsLen])
	t.hsLen -= n
}

// parse acts on the complete messages at the start of the handshake
// buffer, and leaves an incomplete one for the next read.
func (l *loop) parse(t *tunnel) {
	for t.state == stHandshake && t.hsLen > 0 {
		b := t.hs[:t.hsLen]
		if t.proto == protoUnknown {
			switch b[0] {
			case socks5.Version:
				t.proto = protoSOCKS5
			case socks4.Version:
				t.proto = protoSOCKS4
			default:
				t.proto = protoHTTP
			}
		}
		var (
			target addr.Addr
			n      int
			ok     bool
		)
		switch t.proto {
		case protoSOCKS5:
			if !t.greeted {
				if !l.socks5Greeting(t, b) {
					return
				}
				continue
			}
			target, n, ok = l.socks5Request(t, b)
		case protoSOCKS4:
			target, n, ok = l.socks4Request(t, b)
		default:
			target, n, ok = l.httpRequest(t, b)
		}
		if !ok {
			return
		}
		t.consume(n)
		l.route(t, target)
	}
}

// socks5Greeting answers the method offer, and reports whether it was
// complete and acceptable.
func (l *loop) socks5Greeting(t *tunnel, b []byte) bool {
	methods, n, err := socks5.ParseMethods(b)
	if err == socks5.ErrShort {
		return false
	}
	if err != nil {
		l.close(t)
		return false
	}
	if bytes.IndexByte(methods, byte(socks5.NoAuth)) < 0 {
		l.replyAndClose(t, socks5.AppendMethodReply(nil, socks5.NoAcceptable))
		return false
	}
	if !l.writeAll(t, socks5.AppendMethodReply(l.small[:0], socks5.NoAuth)) {
		return false
	}
	t.greeted = true
	t.consume(n)
	return true
}

func (l *loop) socks5Request(t *tunnel, b []byte) (addr.Addr, int, bool) {
	req, n, err := socks5.ParseRequest(b)
	switch {
	case err == socks5.ErrShort:
		return addr.Addr{}, 0, false
	case err == socks5.ErrAddrType:
		l.replyAndClose(t, socks5.AppendReply(nil, socks5.AddressTypeNotSupported, addr.Addr{}))
		return addr.Addr{}, 0, false
	case err != nil:
		l.close(t)
		return addr.Addr{}, 0, false
	case req.Command != socks5.Connect:
		l.replyAndClose(t, socks5.AppendReply(nil, socks5.CommandNotSupported, addr.Addr{}))
		return addr.Addr{}, 0, false
	}
	return req.Addr, n, true
}

func (l *loop) socks4Request(t *tunnel, b []byte) (addr.Addr, int, bool) {
	req, n, err := socks4.ParseRequest(b)
	switch {
	case err == socks4.ErrShort:
		return addr.Addr{}, 0, false
	case err == socks4.ErrCommand:
		l.replyAndClose(t, socks4.AppendReply(nil, socks4.Rejected))
		return addr.Addr{}, 0, false
	case err != nil:
		l.close(t)
		return addr.Addr{}, 0, false
	}
	return req.Addr, n, true
}

// httpRequest takes a CONNECT request head. Other methods (the daemon's
// plain HTTP proxy) are not built: they get 405.
func (l *loop) httpRequest(t *tunnel, b []byte) (addr.Addr, int, bool) {
	h, n, err := http.ParseRequest(b)
	if errors.Is(err, http.ErrShort) {
		return addr.Addr{}, 0, false
	}
	if err != nil {
		l.httpErrorAndClose(t, http.Status(err))
		return addr.Addr{}, 0, false
	}
	if h.Method != "CONNECT" {
		l.httpErrorAndClose(t, 405)
		return addr.Addr{}, 0, false
	}
	target, err := addr.ParseTarget(h.Target)
	if err != nil {
		l.httpErrorAndClose(t, 400)
		return addr.Addr{}, 0, false
	}
	return target, n, true
}

// route starts the connect to an address, or hands a name to the
// resolvers first. A name that is an IP literal needs no lookup.
func (l *loop) route(t *tunnel, target addr.Addr) {
	if target.Kind() != addr.Domain {
		l.connect(t, netip.AddrPortFrom(target.IP(), target.Port()))
		return
	}
	if ip, err := netip.ParseAddr(target.Name()); err == nil && ip.Zone() == "" {
		l.connect(t, netip.AddrPortFrom(ip.Unmap(), target.Port()))
		return
	}
	if ip, ok := l.hosts.lookup(target.Name()); ok {
		l.connect(t, netip.AddrPortFrom(ip, target.Port()))
		return
	}
	t.state, t.port = stResolving, target.Port()
	select {
	case l.lookups <- lookupReq{t: t, name: target.Name()}:
	default:
		l.fail(t, errResolverBusy)
	}
}

// connect starts a non-blocking connect to ap. The outcome arrives as an
// output edge on the new socket.
func (l *loop) connect(t *tunnel, ap netip.AddrPort) {
	if !ap.Addr().IsLoopback() || l.allow != nil && !l.allow(ap) {
		l.fail(t, errNotLoopback)
		return
	}
	fd, err := l.sys.Dial(ap)
	if err != nil {
		l.fail(t, err)
		return
	}
	if err := l.register(&t.up, t, fd); err != nil {
		l.sys.Close(fd)
		l.fail(t, err)
		return
	}
	t.state = stConnecting
}

// connected finishes the connect: on success the reply is queued as the
// first bytes towards the client, any bytes the client sent after its
// request as the first towards the target, and the relay starts.
func (l *loop) connected(t *tunnel) {
	if err := l.sys.SoError(t.up.fd); err != nil {
		l.fail(t, err)
		return
	}
	var reply *relayBuf
	var n int
	switch t.proto {
	case protoSOCKS5:
		bound, err := l.sys.LocalAddr(t.up.fd)
		if err != nil {
			l.fail(t, err)
			return
		}
		reply = l.getBuf()
		n = len(socks5.AppendReply(reply[:0], socks5.Succeeded, addr.FromAddrPort(bound)))
	case protoSOCKS4:
		reply = l.getBuf()
		n = len(socks4.AppendReply(reply[:0], socks4.Granted))
	default:
		reply = l.getBuf()
		n = copy(reply[:], http.ConnectEstablished)
	}
	t.pend[1] = pending{buf: reply, end: n}
	if t.hsLen > 0 {
		early := l.getBuf()
		t.pend[0] = pending{buf: early, end: copy(early[:], t.hs[:t.hsLen])}
	}
	l.putHS(t)
	l.unlinkHalfOpen(t)
	t.state = stRelay
	l.relay(t)
}

// fail answers a request that cannot be served, as the daemon maps the
// error, and closes the connection.
func (l *loop) fail(t *tunnel, err error) {
	switch t.proto {
	case protoSOCKS5:
		if !t.greeted {
			l.close(t)
			return
		}
		l.replyAndClose(t, socks5.AppendReply(l.small[:0], socks5Reply(err), addr.Addr{}))
	case protoSOCKS4:
		l.replyAndClose(t, socks4.AppendReply(l.small[:0], socks4.Rejected))
	case protoHTTP:
		code := 502
		switch err {
		case errTimeout:
			code = 504
		case errNotLoopback:
			code = 403
		}
		l.httpErrorAndClose(t, code)
	default:
		l.close(t)
	}
}

// errNotLoopback refuses a target off the loopback: like the rest of
// nsbench, the core connects nowhere else.
var errNotLoopback = errors.New("evloop: target is not a loopback address")

// socks5Reply is the reply code for a failed request.
func socks5Reply(err error) socks5.Reply {
	var errno syscall.Errno
	switch {
	case err == errTimeout, errors.Is(err, context.DeadlineExceeded):
		// A lookup that ran out of time answers a moment before the
		// loop expires its tunnel: the same timeout either way.
		return socks5.TTLExpired
	case err == errNotLoopback:
		return socks5.NotAllowed
	case errors.As(err, &errno):
		return socks5.ConnectReply(errno)
	case errors.As(err, new(*lookupError)):
		return socks5.HostUnreachable
	}
	return socks5.GeneralFailure
}

func (l *loop) httpErrorAndClose(t *tunnel, code int) {
	b := l.getBuf()
	l.replyAndClose(t, http.AppendErrorPage(b[:0], code, time.Now()))
	l.putBuf(b)
}

// replyAndClose writes a final answer, as far as the socket takes it at
// once, and closes the connection.
func (l *loop) replyAndClose(t *tunnel, b []byte) {
	if t.client.fd >= 0 {
		_, _ = l.sys.Write(t.client.fd, b)
	}
	l.close(t)
}

// writeAll writes a handshake answer whole; a client whose send buffer
// cannot take a few bytes right after it sent its own is dropped.
func (l *loop) writeAll(t *tunnel, b []byte) bool {
	n, err := l.sys.Write(t.client.fd, b)
	if err != nil || n < len(b) {
		l.close(t)
		return false
	}
	return true
}

// relay moves bytes both ways and closes the tunnel once both directions
// have ended and flushed, or at the first error.
func (l *loop) relay(t *tunnel) {
	if !l.pump(t, 0) || !l.pump(t, 1) {
		l.close(t)
		return
	}
	if t.client.shut && t.up.shut {
		l.close(t)
	}
}

// pump moves bytes in one direction (0: client to target) until the
// source has nothing more or the destination takes nothing more. The end
// of the source's input is passed on as a shutdown of the destination's
// write half once everything before it is written. It reports false on
// an error that ends the tunnel.
func (l *loop) pump(t *tunnel, d int) bool {
	src, dst := &t.client, &t.up
	if d == 1 {
		src, dst = dst, src
	}
	p := &t.pend[d]
	for {
		if !p.empty() {
			if !dst.writable {
				return true
			}
			n, err := l.sys.Write(dst.fd, p.buf[p.off:p.end])
			if err == unix.EAGAIN {
				dst.writable = false
				return true
			}
			if err != nil {
				return false
			}
			p.off += n
			if !p.empty() {
				dst.writable = false
				return true
			}
			l.putBuf(p.buf)
			*p = pending{}
		}
		if src.eof {
			if !dst.shut {
				dst.shut = true
				if err := l.sys.ShutdownWrite(dst.fd); err != nil && err != unix.ENOTCONN {
					return false
				}
			}
			return true
		}
		if !src.readable {
			return true
		}
		buf := l.getBuf()
		n, err := l.sys.Read(src.fd, buf[:])
		if err == unix.EAGAIN {
			src.readable = false
			l.putBuf(buf)
			return true
		}
		if err != nil {
			l.putBuf(buf)
			return false
		}
		if n == 0 {
			src.eof = true
			l.putBuf(buf)
			continue
		}
		if n < len(buf) && !src.hup {
			src.readable = false
		}
		*p = pending{buf: buf, end: n}
	}
}
