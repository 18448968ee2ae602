//go:build linux

package splice

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// spliceFlags: MOVE is a hint (pages are moved rather than copied where
// the kernel can); NONBLOCK makes the pipe side never block, the socket
// side is already non-blocking (the Go runtime sets O_NONBLOCK).
const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

var available = sync.OnceValue(func() bool {
	p, err := pool.get()
	if err != nil {
		return false
	}
	pool.put(p)
	return true
})

// Available reports whether splice can be used on this system: it is
// true on Linux when a pipe can be created (the first one is kept in the
// pool). Copy works either way; without splice it copies through a
// buffer.
func Available() bool { return available() }

// Copy moves bytes from src to dst with splice(2) through a pipe owned by
// this call (taken from a bounded pool and returned when empty), until
// EOF on src or an error, and returns the number of bytes moved. It does
// not close or half-close anything: the caller propagates EOF with
// CloseWrite.
//
// Both sockets stay under the Go netpoller: every splice runs inside a
// syscall.RawConn Read (src) or Write (dst) callback, and EAGAIN parks the
// goroutine until the socket is ready, so no OS thread blocks. Deadlines
// set on either conn are honoured (the error satisfies
// errors.Is(err, os.ErrDeadlineExceeded)), and Close from another
// goroutine makes Copy return an error wrapping net.ErrClosed. Copy waits
// on one socket at a time (src when the pipe is empty, dst when it holds
// data), so to unblock it promptly close both conns, or the one it waits
// on.
//
// When no pipe can be had (descriptor limit), the kernel gives only a
// tiny one (the user's pipe-user-pages-soft budget is spent), or it
// refuses splice for these sockets before any byte moved, Copy falls
// back to a plain read/write copy through a 32 KiB buffer.
func Copy(dst, src *net.TCPConn) (int64, error) {
	return CopyProgress(dst, src, nil)
}

// CopyProgress is Copy that also calls progress (when not nil) with the
// bytes written to dst each time a pipeful has been passed on, at most
// one pipe size apart, so byte counters stay current during long
// transfers. progress runs on the calling goroutine.
func CopyProgress(dst, src *net.TCPConn, progress func(n int64)) (int64, error) {
	c := new(copier)
	if err := c.init(dst, src, progress); err != nil {
		return 0, err
	}
	p, err := pool.get()
	if err != nil {
		return fallback(dst, src, 0, progress)
	}
	if !p.usable() {
		// Over the per-user pipe budget the kernel hands out pipes of
		// a page or two; splicing through those costs more than it
		// saves.
		p.close()
		return fallback(dst, src, 0, progress)
	}
	c.p = p
	n, err := c.run()
	pool.put(p)
	if c.unsupported {
		return fallback(dst, src, n, progress)
	}
	return n, err
}

// fallbackBuf is the buffer size of the plain copy used when splice
// cannot be.
const fallbackBuf = 32 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, fallbackBuf); return &b }}

// fallback finishes with a plain read/write copy through a pooled
// buffer. It deliberately hides ReadFrom/WriteTo: io.Copy between two
// TCPConns would splice through the runtime's own pipes, which fail or
// shrink for the same reasons ours did.
func fallback(dst, src *net.TCPConn, done int64, progress func(int64)) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	w := progressWriter{dst, progress}
	n, err := io.CopyBuffer(w, readerOnly{src}, *bp)
	return done + n, err
}

type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(b []byte) (int, error) { return r.r.Read(b) }

// progressWriter reports each write to progress (when not nil).
type progressWriter struct {
	w        io.Writer
	progress func(int64)
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	if n > 0 && pw.progress != nil {
		pw.progress(int64(n))
	}
	return n, err
}

// copier is the state of one Copy call. Its two callbacks are made once
// per call so that the RawConn calls in the loop do not allocate.
type copier struct {
	src, dst     *net.TCPConn
	srcRC, dstRC syscall.RawConn
	p            *pipe
	progress     func(int64)

	eof         bool  // splice from src returned 0
	sysErr      error // a splice error other than EAGAIN/EINTR
	unsupported bool  // EINVAL before any byte: use io.Copy instead
	moved       int64 // bytes drained by the current dst Write call
	total       int64
	spliced     bool // some splice from src succeeded
}

// init checks the connections and gets their raw access; the pipe is
// the caller's to supply.
func (c *copier) init(dst, src *net.TCPConn, progress func(int64)) error {
	if dst == nil || src == nil {
		return ErrNilConn
	}
	srcRC, err := src.SyscallConn()
	if err != nil {
		return err
	}
	dstRC, err := dst.SyscallConn()
	if err != nil {
		return err
	}
	c.src, c.dst, c.srcRC, c.dstRC, c.progress = src, dst, srcRC, dstRC, progress
	return nil
}

// run alternates between filling the pipe from src and draining it to
// dst, in lock step: it reads only into an empty pipe and writes until
// the pipe is empty again. That keeps EAGAIN unambiguous, which the
// edge-triggered netpoller needs: a fill that gets EAGAIN into an empty
// pipe means src has nothing (never "pipe full", which would leave Copy
// waiting for a readiness edge that already passed), and a drain that
// gets EAGAIN with bytes in the pipe means dst is full. While Copy waits
// on dst, the kernel keeps receiving into src's socket buffer, so the
// sender is not held up by the lock step.
func (c *copier) run() (int64, error) {
	fill := func(fd uintptr) bool { return c.fill(int(fd)) }
	drain := func(fd uintptr) bool { return c.drain(int(fd)) }
	for {
		if err := c.srcRC.Read(fill); err != nil {
			return c.total, err
		}
		if c.sysErr != nil {
			return c.total, c.opError("read", c.src, c.sysErr)
		}
		if c.p.buffered == 0 {
			if c.eof {
				return c.total, nil
			}
			continue
		}
		if err := c.passOn(drain); err != nil {
			return c.total, err
		}
	}
}

// passOn empties the pipe into dst under the netpoller (drain is the
// dstRC.Write callback made from c.drain) and accounts for what moved,
// which it leaves in c.moved.
func (c *copier) passOn(drain func(fd uintptr) bool) error {
	c.moved = 0
	err := c.dstRC.Write(drain)
	c.total += c.moved
	if c.moved > 0 && c.progress != nil {
		c.progress(c.moved)
	}
	if err != nil {
		return err
	}
	if c.sysErr != nil {
		return c.opError("write", c.dst, c.sysErr)
	}
	return nil
}

// fill splices from the socket fd into the empty pipe, as much as the
// pipe holds; EAGAIN asks the netpoller to wait until fd is readable.
func (c *copier) fill(fd int) bool {
	for {
		n, err := rawSplice(fd, c.p.w, c.p.size)
		switch err {
		case nil:
			if n == 0 {
				c.eof = true
			} else {
				c.p.buffered = int(n)
				c.spliced = true
			}
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case unix.EINVAL:
			if !c.spliced {
				// The socket type does not support splice; nothing
				// was consumed, so a plain copy can take over.
				c.unsupported = true
				c.eof = true
				return true
			}
		}
		c.sysErr = err
		return true
	}
}

// drain splices everything buffered in the pipe into the socket fd,
// asking the netpoller to wait for writability whenever the socket's
// send buffer is full.
func (c *copier) drain(fd int) bool {
	for c.p.buffered > 0 {
		n, err := rawSplice(c.p.r, fd, c.p.buffered)
		if n > 0 {
			c.p.buffered -= int(n)
			c.moved += int64(n)
			continue
		}
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case nil:
			// The pipe claimed data but gave none: should not happen.
			c.sysErr = io.ErrNoProgress
			return true
		}
		c.sysErr = err
		return true
	}
	return true
}

func (c *copier) opError(op string, conn *net.TCPConn, err error) error {
	if errno, ok := err.(unix.Errno); ok {
		err = os.NewSyscallError("splice", errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: err}
}
