package dial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

// aLongTimeAgo is a deadline in the past: setting it unblocks pending I/O.
var aLongTimeAgo = time.Unix(1, 0)

// handshakes runs the CONNECT handshake of every proxy in chain over c,
// each towards the next hop (the next proxy, or target for the last one).
// ctx cancels it by moving the socket deadline into the past. It returns
// c itself, or a wrapper when the last proxy sent bytes beyond its reply.
func (d *Dialer) handshakes(ctx context.Context, c *net.TCPConn, target addr.Addr, chain []addr.Proxy) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(dl); err != nil {
			return nil, &Error{Kind: System, Err: err}
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	s := stream{c: c}
	var err error
	for i := range chain {
		next := target
		if i+1 < len(chain) {
			next = chain[i+1].Addr
		}
		if err = s.handshake(&chain[i], next); err != nil {
			err = handshakeError(ctx, err, &chain[i], next)
			break
		}
	}
	if st := d.stats; st != nil {
		st.ClientRx.Add(s.rx)
		st.ClientTx.Add(s.tx)
	}
	if !stop() {
		// ctx fired: its callback may be moving the deadline right now,
		// so the socket cannot be handed out.
		if err == nil {
			err = ctxError(ctx, nil)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, &Error{Kind: System, Err: err}
	}
	if len(s.buf) > 0 {
		return &bufConn{TCPConn: c, buf: s.buf}, nil
	}
	return c, nil
}

// handshakeError classifies a failed handshake and names the hop.
func handshakeError(ctx context.Context, err error, p *addr.Proxy, next addr.Addr) error {
	var e *Error
	switch {
	case ctx.Err() != nil:
		e = ctxError(ctx, err)
	case errors.As(err, &e):
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e = &Error{Kind: UnexpectedEOF, Err: err}
	case errors.Is(err, os.ErrDeadlineExceeded):
		e = &Error{Kind: Timeout, Err: err}
	default:
		e = &Error{Kind: System, Err: err}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			e.Errno = errno
		}
	}
	return &Error{Kind: e.Kind, Errno: e.Errno,
		Err: fmt.Errorf("%s://%s towards %s: %w", p.Scheme, p.Addr, next, e.Err)}
}

// stream is the handshake side of an outbound socket: it reads replies
// exactly, keeping any bytes read beyond one in buf, and counts bytes.
type stream struct {
	c      *net.TCPConn
	buf    []byte // read from c, not yet consumed
	rx, tx uint64
	out    []byte // scratch for requests
}

func (s *stream) write(b []byte) error {
	n, err := s.c.Write(b)
	s.tx += uint64(n)
	return err
}

// fill reads until buf holds at least n bytes, never more than n unless
// they were there already.
func (s *stream) fill(n int) error {
	have := len(s.buf)
	if have >= n {
		return nil
	}
	if cap(s.buf) < n {
		nb := make([]byte, have, max(n, 64))
		copy(nb, s.buf)
		s.buf = nb
	}
	k, err := io.ReadFull(s.c, s.buf[have:n])
	s.buf = s.buf[:have+k]
	return err
}

// readSome reads whatever is available (at least one byte) into buf, up
// to http.MaxConnectHeadSize bytes in total.
func (s *stream) readSome() error {
	have := len(s.buf)
	if cap(s.buf)-have < 512 {
		nb := make([]byte, have, min(max(2*cap(s.buf), 1024), http.MaxConnectHeadSize))
		copy(nb, s.buf)
		s.buf = nb
	}
	k, err := s.c.Read(s.buf[have:cap(s.buf)])
	s.buf = s.buf[:have+k]
	if k > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (s *stream) consume(n int) {
	s.rx += uint64(n)
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
	}
}

// readReply reads one fixed-layout reply; parse says how many bytes it
// needs (errShort) or how many it consumed.
func (s *stream) readReply(parse func([]byte) (int, error)) error {
	for {
		n, err := parse(s.buf)
		if err == errShort {
			if n <= len(s.buf) {
				return protoErr("reply parser made no progress")
			}
			if err := s.fill(n); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		s.consume(n)
		return nil
	}
}

// handshake speaks p's protocol to ask for a connection to next.
func (s *stream) handshake(p *addr.Proxy, next addr.Addr) error {
	switch p.Scheme {
	case addr.HTTP:
		return s.httpConnect(p, next)
	case addr.SOCKS4A:
		return s.socks4Connect(p, next)
	case addr.SOCKS5:
		return s.socks5Connect(p, next)
	}
	return protoErr("unknown proxy scheme %d", p.Scheme)
}

func (s *stream) httpConnect(p *addr.Proxy, next addr.Addr) error {
	s.out = http.AppendConnect(s.out[:0], next, p.HasUser, p.User, p.Password)
	if err := s.write(s.out); err != nil {
		return err
	}
	for {
		status, n, err := httpHead(s.buf)
		switch {
		case err == nil:
			s.consume(n)
			if status != 200 {
				return httpStatusError(status)
			}
			return nil
		case err != errShort:
			return err
		case status != 0 && status != 200:
			return httpStatusError(status)
		}
		if err := s.readSome(); err != nil {
			return err
		}
	}
}

func (s *stream) socks4Connect(p *addr.Proxy, next addr.Addr) error {
	if next.Kind() == addr.Domain && strings.IndexByte(next.Name(), 0) >= 0 {
		return &Error{Kind: InvalidAddr, Err: errors.New("socks4a: NUL byte in host name")}
	}
	out, err := socks4.AppendRequest(s.out[:0], socks4.Request{Command: socks4.Connect, Addr: next, UserID: p.User})
	if err != nil {
		// The target was checked above: what does not fit is the user ID.
		return &Error{Kind: ProxyAuth, Err: fmt.Errorf("user ID: %w", err)}
	}
	s.out = out
	if err := s.write(s.out); err != nil {
		return err
	}
	return s.readReply(socks4Reply)
}

func (s *stream) socks5Connect(p *addr.Proxy, next addr.Addr) error {
	if next.Kind() == addr.Domain && len(next.Name()) > addr.MaxDomainLen {
		return &Error{Kind: InvalidAddr, Err: errors.New("socks5: host name longer than 255 bytes")}
	}
	withAuth := p.HasUser
	if withAuth {
		s.out = socks5.AppendMethods(s.out[:0], socks5.NoAuth, socks5.UserPass)
	} else {
		s.out = socks5.AppendMethods(s.out[:0], socks5.NoAuth)
	}
	if err := s.write(s.out); err != nil {
		return err
	}
	var method socks5.Method
	err := s.readReply(func(b []byte) (int, error) {
		m, n, err := socks5Method(b, withAuth)
		method = m
		return n, err
	})
	if err != nil {
		return err
	}
	if method == socks5.UserPass {
		out, err := socks5.AppendUserPass(s.out[:0], p.User, p.Password)
		if err != nil {
			return &Error{Kind: ProxyAuth, Err: errors.New("socks5: user name or password longer than 255 bytes")}
		}
		s.out = out
		if err := s.write(s.out); err != nil {
			return err
		}
		if err := s.readReply(socks5AuthReply); err != nil {
			return err
		}
	}
	// The target's length was checked above, so this cannot fail.
	s.out, _ = socks5.AppendRequest(s.out[:0], socks5.Request{Command: socks5.Connect, Addr: next})
	if err := s.write(s.out); err != nil {
		return err
	}
	return s.readReply(socks5Reply)
}

// bufConn is an outbound socket with bytes that were read ahead during
// the handshake. Read and WriteTo return those bytes first; every other
// method is the socket's own.
type bufConn struct {
	*net.TCPConn
	buf []byte
}

// Read returns buffered bytes first, then reads the socket.
func (c *bufConn) Read(b []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(b, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.TCPConn.Read(b)
}

// WriteTo writes the buffered bytes to w, then hands over to the socket's
// WriteTo, which splices when w allows it.
func (c *bufConn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.buf) > 0 {
		k, err := w.Write(c.buf)
		n += int64(k)
		c.buf = c.buf[k:]
		if err != nil {
			return n, err
		}
	}
	k, err := c.TCPConn.WriteTo(w)
	return n + k, err
}
