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
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/splice"
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
// copy goes through the kernel (splice(2) via TCPConn.ReadFrom, or with
// --pipe via splice.CopyProgress); other pairs use a pooled 16 KiB buffer. BytesUp and BytesDown are updated as
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
	pipe := s.cur.Load().conf.Pipe && splice.Available()
	go r.pump(up, c.Conn, pipe, &s.stats.BytesUp, &r.upN, &r.upErr)
	go r.pump(c.Conn, up, pipe, &s.stats.BytesDown, &r.downN, &r.downErr)
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
func (r *session) pump(dst, src net.Conn, pipe bool, ctr *atomic.Uint64, n *int64, errp *error) {
	*n, *errp = pump(dst, src, pipe, ctr)
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
// bytes to ctr as it goes. With pipe (--pipe) and two plain TCP sockets
// the copy is splice.CopyProgress, which keeps a pipe of its own per
// direction for the whole session.
func pump(dst, src net.Conn, pipe bool, ctr *atomic.Uint64) (int64, error) {
	if pipe {
		if d, ok := dst.(*net.TCPConn); ok {
			if s, ok := src.(*net.TCPConn); ok {
				return splice.CopyProgress(d, s, func(n int64) { ctr.Add(uint64(n)) })
			}
		}
	}
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

// peekMax bounds what one check counts: a burst larger than this is
// spliced in several rounds.
const peekMax = 1 << 20

// peekByte is the buffer a counting peek names; MSG_TRUNC means the kernel
// copies nothing into it, whatever length the call asks for.
var peekByte [1]byte

// check is the syscall.RawConn.Read callback: it reports whether the
// socket has bytes queued or is at EOF (or failed), and asks for a wait
// otherwise. One recv(MSG_PEEK|MSG_TRUNC|MSG_DONTWAIT) tells all three
// apart and counts the queued bytes (up to peekMax) without copying or
// consuming them. Checking before every wait matters: when the FIN came
// with the last data, its readiness event is already consumed, and only
// the check sees the EOF.
func (w *waiter) check(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&peekByte[0])), peekMax,
			unix.MSG_PEEK|unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			w.avail = int(n) // 0 at EOF
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.err = e
		return true
	}
}
