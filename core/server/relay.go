package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bufSize is the buffer of the fallback copy used when one side is not a
// plain TCP socket.
const bufSize = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// relay ends c's half-open phase and hands c and up to two relay
// goroutines, one per direction, then returns at once: from then on the
// relay owns both connections, and the caller must return without
// touching c or up again (the dispatcher leaves c alone). Handing over
// lets the handler goroutine, whose stack grew during the handshake, exit:
// an idle tunnel holds only two small goroutine stacks.
//
// readAhead (bytes the client sent after its request) is written to up
// first. Each direction propagates EOF as CloseWrite on the other side;
// an error in either direction ends both. Between two *net.TCPConn the
// copy goes through the kernel (splice(2) via TCPConn.ReadFrom); other
// pairs use a pooled 16 KiB buffer. BytesUp and BytesDown are updated as
// data moves; the session counters by startSession/endSession. The last
// direction to finish logs the session and closes both connections.
func (s *Server) relay(c *conn, up net.Conn, readAhead []byte) {
	c.setUpstream(up)
	if !c.endHalfOpen() {
		return
	}
	if len(readAhead) > 0 {
		if _, err := up.Write(readAhead); err != nil {
			s.log.Debug("read-ahead", "client", c.RemoteAddr(), "err", err)
			return
		}
	}
	c.startSession()
	c.detached = true
	s.conndone.Add(1)
	r := &session{c: c, up: up}
	go r.pump(up, c.Conn, &s.stats.BytesUp, &r.upN, &r.upErr)
	go r.pump(c.Conn, up, &s.stats.BytesDown, &r.downN, &r.downErr)
}

// session is a relay in progress.
type session struct {
	c              *conn
	up             net.Conn
	left           atomic.Int32 // directions finished
	upN, downN     int64
	upErr, downErr error
}

// pump runs one direction; the second one to finish ends the session.
func (r *session) pump(dst, src net.Conn, ctr *atomic.Uint64, n *int64, errp *error) {
	*n, *errp = pump(dst, src, ctr)
	settle(dst, src, *errp)
	if r.left.Add(1) < 2 {
		return
	}
	c, s := r.c, r.c.s
	c.endSession()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		err := r.upErr
		if err == nil {
			err = r.downErr
		}
		s.log.Debug("session closed", "client", c.RemoteAddr().String(), "target", c.targetString(),
			"up", r.upN, "down", r.downN, "dur", time.Since(c.start).Round(time.Millisecond), "err", err)
	}
	c.finish()
	s.conndone.Done()
}

// settle finishes one direction: EOF becomes a half-close of dst, an
// error ends both directions.
func settle(dst, src net.Conn, err error) {
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			if cw.CloseWrite() == nil {
				return
			}
		}
	}
	dst.Close()
	src.Close()
}

// pump copies src to dst until EOF (nil error) or an error, adding the
// bytes to ctr as it goes.
func pump(dst, src net.Conn, ctr *atomic.Uint64) (int64, error) {
	if rf, ok := dst.(io.ReaderFrom); ok {
		if tc, ok := src.(*net.TCPConn); ok {
			if rc, err := tc.SyscallConn(); err == nil {
				return spliceLoop(rf, tc, rc, ctr)
			}
		}
	}
	var total int64
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			ctr.Add(uint64(w))
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}

// spliceLoop is the zero-copy direction. TCPConn.ReadFrom splices from a
// TCPConn (also behind an io.LimitedReader) through a pipe taken from the
// runtime's pool, and keeps that pipe while it waits for data. So that an
// idle tunnel holds no pipes (two descriptors and a 1 MiB pipe's kernel
// bookkeeping each), the loop first waits for src to be readable without
// a pipe, then splices exactly the bytes that are queued.
func spliceLoop(dst io.ReaderFrom, src *net.TCPConn, rc syscall.RawConn, ctr *atomic.Uint64) (int64, error) {
	var total int64
	lr := &io.LimitedReader{R: src}
	w := new(waiter)
	check := w.check // one closure for the whole session
	for {
		w.avail, w.err = 0, nil
		if err := rc.Read(check); err != nil {
			return total, err
		}
		if w.err != nil {
			return total, w.err
		}
		if w.avail == 0 {
			return total, nil // EOF
		}
		lr.N = int64(w.avail)
		n, err := dst.ReadFrom(lr)
		total += n
		ctr.Add(uint64(n))
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
	}
}

// waiter is the state of a wait for readable data.
type waiter struct {
	avail int   // bytes queued; 0 at EOF
	err   error // a socket error seen while checking
}

// check is the syscall.RawConn.Read callback: it reports whether the
// socket has bytes queued or is at EOF (or failed), and asks for a wait
// otherwise.
func (w *waiter) check(fd uintptr) bool {
	n, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	if err != nil {
		w.err = err
		return true
	}
	if n > 0 {
		w.avail = n
		return true
	}
	// Nothing queued: EOF, an error, or no data yet. A peek tells them
	// apart. (Waiting first would hang when the FIN came with the last
	// data: its readiness event is already consumed.)
	var b [1]byte
	m, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return false
	case err != nil:
		w.err = err
	case m > 0:
		w.avail = m // a segment arrived since the ioctl
	}
	return true
}
