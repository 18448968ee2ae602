package server

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// hsBufSize is the handshake buffer shared by SOCKS4/4A/5 (protocols §3):
// large enough for the longest greeting, sub-negotiation and request sent
// in one packet.
const hsBufSize = 1032

// hsBuf is the pooled per-handshake memory: the input buffer and room
// for the replies (the longest is a SOCKS5 reply with an IPv6 address).
type hsBuf struct {
	in  [hsBufSize]byte
	out [24]byte
}

var hsPool = sync.Pool{New: func() any { return new(hsBuf) }}

// errGarbage reports a handshake that does not fit the buffer.
var errGarbage = errors.New("garbage after socks header")

// handshake is the buffered reader of a SOCKS negotiation: bytes
// buf[off:n] are received and not yet consumed.
type handshake struct {
	c      *conn
	buf    *hsBuf
	off, n int
	// wipe: a password was read into buf, which release clears before
	// the pool lends it to another handshake (which could not see it:
	// only what it reads is parsed or relayed, buf.in[off:n]).
	wipe bool
}

// fill reads more bytes; it fails when the buffer is full.
func (h *handshake) fill() error {
	if h.n == len(h.buf.in) {
		return errGarbage
	}
	k, err := h.c.read(h.buf.in[h.n:])
	h.n += k
	if k > 0 {
		return nil
	}
	return err
}

// pending returns the unconsumed bytes.
func (h *handshake) pending() []byte { return h.buf.in[h.off:h.n] }

// out returns the reply scratch space, empty.
func (h *handshake) out() []byte { return h.buf.out[:0] }

// readAhead copies the unconsumed bytes out, so that the buffer can go
// back to the pool before relaying.
func (h *handshake) readAhead() []byte {
	if h.off == h.n {
		return nil
	}
	return append([]byte(nil), h.pending()...)
}

func (h *handshake) release() {
	if h.buf != nil {
		if h.wipe {
			clear(h.buf.in[:h.n])
		}
		hsPool.Put(h.buf)
		h.buf = nil
	}
}

// serveSOCKS serves the -l listener in SOCKS mode: the first byte picks
// SOCKS4/4A or SOCKS5; anything else is closed without a reply.
// grant sends the success reply of a handshake and relays between the
// client and up; up is closed if the reply cannot be written.
func (s *Server) grant(c *conn, h *handshake, up net.Conn, reply []byte) error {
	if err := c.write(reply); err != nil {
		up.Close()
		return err
	}
	ra := h.readAhead()
	h.release()
	s.relay(c, up, ra)
	return nil
}

// resumeSOCKS continues a SOCKS negotiation the event loop began: rest
// is what the client sent that the loop did not consume, and serve the
// step the loop stopped at.
func (s *Server) resumeSOCKS(c *conn, proto string, rest []byte, serve func(h *handshake) error) {
	h := handshake{c: c, buf: hsPool.Get().(*hsBuf)}
	defer h.release()
	h.n = copy(h.buf.in[:], rest)
	if err := serve(&h); err != nil {
		s.logFailure(c, proto, err)
	}
}

func (s *Server) serveSOCKS(c *conn) {
	h := handshake{c: c, buf: hsPool.Get().(*hsBuf)}
	defer h.release()
	proto := "socks"
	if err := h.fill(); err != nil {
		s.logFailure(c, proto, err)
		return
	}
	var err error
	switch v := h.buf.in[0]; v {
	case socks4.Version:
		proto, err = "socks4", s.socks4(&h)
	case socks5.Version:
		proto, err = "socks5", s.socks5(&h)
	default:
		err = fmt.Errorf("%w: version 0x%02x", errNotSOCKS, v)
	}
	if err != nil {
		s.logFailure(c, proto, err)
	}
}

// socks4 serves a SOCKS4 or SOCKS4A request (protocols §3).
func (s *Server) socks4(h *handshake) error {
	c := h.c
	var req socks4.Request
	for {
		var k int
		var err error
		req, k, err = socks4.ParseRequest(h.pending())
		if err == nil {
			h.off += k
			break
		}
		if err != socks4.ErrShort {
			// Unsupported command, user id or domain too long.
			_ = c.write(socks4.AppendReply(h.out(), socks4.Rejected))
			return err
		}
		if err := h.fill(); err != nil {
			return err
		}
	}
	c.requestParsed()
	c.dst = req.Addr
	return s.socks4Connect(h, req, route.Credentials{Username: req.UserID, HasUsername: true})
}

// socks4Connect serves a parsed SOCKS4 or SOCKS4A request; the event
// loop's hand-off starts here too.
func (s *Server) socks4Connect(h *handshake, req socks4.Request, cred route.Credentials) error {
	c := h.c
	// The user ID is the username and the password is absent, with or
	// without --auth-required (protocols §3): the ruleset decides whether
	// an ID alone admits a client (libruleset: secrets[id] == true).
	rr := route.Request{Callback: route.CallbackFor(req.Addr.Kind()), Cred: cred}
	up, err := s.connect(c, rr, req.Addr)
	if err != nil {
		switch failureOf(err) {
		case failTimeout, failShutdown:
		default:
			_ = c.write(socks4.AppendReply(h.out(), socks4.Rejected))
		}
		return err
	}
	return s.grant(c, h, up, socks4.AppendReply(h.out(), socks4.Granted))
}

// selectMethod walks the client's methods in its order and picks the
// first acceptable one (protocols §4.1).
func selectMethod(methods []byte, authRequired bool) socks5.Method {
	for _, m := range methods {
		switch socks5.Method(m) {
		case socks5.NoAuth:
			if !authRequired {
				return socks5.NoAuth
			}
		case socks5.UserPass:
			return socks5.UserPass
		}
	}
	return socks5.NoAcceptable
}

// parse5 runs parse over the pending bytes until it stops asking for more.
func parse5[T any](h *handshake, parse func([]byte) (T, int, error)) (T, error) {
	for {
		v, k, err := parse(h.pending())
		if err == nil {
			h.off += k
			return v, nil
		}
		if err != socks5.ErrShort {
			return v, err
		}
		if err := h.fill(); err != nil {
			return v, err
		}
	}
}

type userPass struct{ user, pass string }

func parseUserPass(b []byte) (userPass, int, error) {
	u, p, n, err := socks5.ParseUserPass(b)
	return userPass{u, p}, n, err
}

func parseMethods(b []byte) ([]byte, int, error) { return socks5.ParseMethods(b) }

// socks5 serves a SOCKS5 negotiation and request (protocols §4).
func (s *Server) socks5(h *handshake) error {
	c := h.c
	methods, err := parse5(h, parseMethods)
	if err != nil {
		return err
	}
	m := selectMethod(methods, s.cur.Load().conf.AuthRequired)
	if err := c.write(socks5.AppendMethodReply(h.out(), m)); err != nil {
		return err
	}
	if m == socks5.NoAcceptable {
		return errNoMethod
	}
	var cred route.Credentials
	if m == socks5.UserPass {
		h.wipe = true
		up, err := parse5(h, parseUserPass)
		if err != nil {
			return err
		}
		if up.user == "" || up.pass == "" {
			_ = c.write(socks5.AppendAuthReply(h.out(), 1))
			return errors.New("empty user name or password")
		}
		if err := c.write(socks5.AppendAuthReply(h.out(), 0)); err != nil {
			return err
		}
		cred = route.Credentials{Username: up.user, Password: up.pass, HasUsername: true, HasPassword: true}
	}
	// The command is checked as soon as it arrives.
	for len(h.pending()) < 2 {
		if err := h.fill(); err != nil {
			return err
		}
	}
	if p := h.pending(); p[0] == socks5.Version && !s.commandEnabled(socks5.Command(p[1])) {
		_ = c.write(socks5.AppendReply(h.out(), socks5.CommandNotSupported, addr.Addr{}))
		return fmt.Errorf("%w: %s", errCommand, socks5.Command(p[1]))
	}
	req, err := parse5(h, socks5.ParseRequest)
	if err != nil {
		if err == socks5.ErrAddrType {
			_ = c.write(socks5.AppendReply(h.out(), socks5.AddressTypeNotSupported, addr.Addr{}))
		}
		return err
	}
	c.requestParsed()
	c.dst = req.Addr
	return s.socks5Command(h, req, cred)
}

// socks5Command serves a parsed SOCKS5 request; the event loop's
// hand-off starts here too.
func (s *Server) socks5Command(h *handshake, req socks5.Request, cred route.Credentials) error {
	c := h.c
	switch req.Command {
	case socks5.Bind:
		return s.socks5Bind(h, req)
	case socks5.UDPAssociate:
		return s.socks5UDP(h, req)
	}
	rr := route.Request{Callback: route.CallbackFor(req.Addr.Kind()), Cred: cred}
	up, err := s.connect(c, rr, req.Addr)
	if err != nil {
		switch failureOf(err) {
		case failShutdown:
		case failTimeout:
			c.writeLate(socks5.AppendReply(h.out(), socks5.TTLExpired, addr.Addr{}))
		default:
			_ = c.write(socks5.AppendReply(h.out(), socks5Reply(err), addr.Addr{}))
		}
		return err
	}
	return s.grant(c, h, up, socks5.AppendReply(h.out(), socks5.Succeeded, boundAddr(up.LocalAddr())))
}

// commandEnabled reports whether a SOCKS5 command is served.
func (s *Server) commandEnabled(cmd socks5.Command) bool {
	switch cmd {
	case socks5.Connect:
		return true
	case socks5.Bind:
		return s.conf.SOCKS5Bind
	case socks5.UDPAssociate:
		return s.conf.SOCKS5UDP
	}
	return false
}

// boundAddr converts a socket address for a reply; anything but an IP
// endpoint becomes the zero Addr (0.0.0.0:0).
func boundAddr(a net.Addr) addr.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return addr.FromAddrPort(a.AddrPort())
	case *net.UDPAddr:
		return addr.FromAddrPort(a.AddrPort())
	}
	return addr.Addr{}
}
