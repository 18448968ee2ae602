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
// frees the handler's worker (see workers), whose stack grew during the
// handshake, for the next connection; the relay goroutines start fresh,
// so that an idle tunnel holds only two small stacks, and the session's
// end, whose frames would grow them, is handed back to a worker.
//
// readAhead (bytes the client sent after its request) is written to up
// first. Each direction propagates EOF as a half-close of the other side
// (the last one to end through the close that ends the session); an
// error in either direction ends both. Between two *net.TCPConn the
// copy is splice.CopyBursts, or splice.CopyProgress with --pipe (see
// pump); other pairs use a pooled 16 KiB buffer. BytesUp and BytesDown
// are updated as data moves; the session counters by startSession and
// endSession. The last direction to finish logs the session and closes
// both connections.
func (s *Server) relay(c *conn, up net.Conn, readAhead []byte) {
	c.setUpstream(up)
	if !c.endHalfOpen() {
		return
	}
	if len(readAhead) > 0 {
		if _, err := up.Write(readAhead); err != nil {
			s.log.Debug("read-ahead", "client", c.RemoteAddr().String(), "target", c.targetString(), "err", err)
			return
		}
	}
	c.startSession()
	c.detached = true
	s.conndone.Add(1)
	r := &c.sess
	r.c, r.up = c, up
	r.pipe = s.cur.Load().conf.Pipe && splice.Available()
	r.startPumps()
}

// startPumps starts a goroutine for each direction not yet ended.
func (r *session) startPumps() {
	if r.done[0] && r.done[1] {
		r.c.s.workers.Go(task{c: r.c})
		return
	}
	if !r.done[0] {
		go r.pumpDirection(true)
	}
	if !r.done[1] {
		go r.pumpDirection(false)
	}
}

// pumpDirection runs the client-to-upstream direction (up) or the other.
func (r *session) pumpDirection(up bool) {
	s := r.c.s
	if up {
		r.pump(0, r.up, r.c.Conn, r.pipe, s.countUp, &r.upN, &r.upErr)
	} else {
		r.pump(1, r.c.Conn, r.up, r.pipe, s.countDown, &r.downN, &r.downErr)
	}
}

// session is a relay in progress. It lives in its conn (conn.sess), so
// that starting one allocates nothing of its own.
type session struct {
	c              *conn
	up             net.Conn
	pipe           bool         // splice.CopyProgress (--pipe) rather than CopyBursts
	left           atomic.Int32 // directions finished
	upN, downN     int64
	upErr, downErr error

	// A session the event loop started (graduate) carries what the loop
	// held, per direction (0: client to upstream): bytes read and not
	// yet written, whether they are the client's read-ahead (written
	// but not counted, as relay writes it), and whether the source had
	// ended.
	ahead          [2][]byte
	aheadUncounted [2]bool
	eof            [2]bool
	done           [2]bool // ended on the loop, half-close passed on (counted in left)
}

// pump runs one direction; the second one to finish ends the session.
func (r *session) pump(d int, dst, src net.Conn, pipe bool, count func(int64), n *int64, errp *error) {
	var err error
	if b := r.ahead[d]; len(b) > 0 {
		r.ahead[d] = nil
		var w int
		w, err = dst.Write(b)
		if !r.aheadUncounted[d] {
			count(int64(w))
			*n += int64(w)
		}
	}
	if err == nil && !r.eof[d] {
		var k int64
		k, err = pump(dst, src, pipe, count)
		*n += k
	}
	*errp = err
	// When the other direction has already ended, this one needs no
	// half-close: finish closes dst right after. If the other ended at
	// EOF, close(2) sends the same FIN, since dst's read side has reached
	// EOF and holds no unread byte that would turn it into a reset; if it
	// ended with an error, both sockets are closed already. That saves a
	// shutdown(2) per session. Both may miss each other and half-close as
	// before.
	if *errp != nil || r.left.Load() == 0 {
		settle(dst, src, *errp)
	}
	if r.left.Add(1) < 2 {
		return
	}
	// The end (log, close, bookkeeping) runs on a worker whose stack has
	// already grown, rather than growing this small one for its frames.
	s := r.c.s
	s.workers.Go(task{c: r.c})
}

// end is the epilogue of the direction that finishes last: it logs the
// session and closes it. It is a function of its own so that its frame
// (the log call's arguments) is not part of pump's: an idle relay
// goroutine waits inside pump, and with that frame its stack outgrows
// the initial 2 KiB, doubling what an idle tunnel's two goroutines hold.
func (r *session) end() {
	c, s := r.c, r.c.s
	c.endSession()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("client", c.RemoteAddr().String()), slog.String("target", c.targetString()),
			slog.Int64("up", r.upN), slog.Int64("down", r.downN),
			slog.Duration("dur", time.Since(c.start).Round(time.Millisecond)),
		}
		// A session that ended cleanly has no err attribute at all. A
		// direction that failed closes both sockets, and the other one
		// then fails on a closed connection: that is not what happened,
		// so the failure that came first is the one recorded.
		err := r.upErr
		if err == nil || errors.Is(err, net.ErrClosed) && r.downErr != nil {
			err = r.downErr
		}
		if errors.Is(err, net.ErrClosed) && s.forcing.Load() {
			err = errForcedClose
		}
		if err != nil {
			attrs = append(attrs, slog.String("err", err.Error()))
		}
		s.log.LogAttrs(context.Background(), slog.LevelDebug, "session closed", attrs...)
	}
	c.finish()
	s.conndone.Done()
}

// errForcedClose is the error a session's record gives when Shutdown
// closed it because its context ended first, on both connection paths.
var errForcedClose = errors.New("closed by shutdown")

// settle finishes one direction: EOF becomes a half-close of dst, an
// error ends both directions. A dst that is no longer connected (its peer
// reset it) is left to the other direction, which reads that reset (or
// the end) from it and so reports what happened, as the event loop does,
// rather than failing on a socket closed under it.
func settle(dst, src net.Conn, err error) {
	if err == nil {
		switch d := dst.(type) {
		case *net.TCPConn:
			if err := splice.CloseWrite(d); err == nil || errors.Is(err, syscall.ENOTCONN) {
				return
			}
		case interface{ CloseWrite() error }:
			if d.CloseWrite() == nil {
				return
			}
		}
	}
	dst.Close()
	src.Close()
}

// pump copies src to dst until EOF (nil error) or an error, adding the
// bytes through count as it goes. Between two plain TCP sockets the copy is
// splice.CopyProgress with --pipe (a pipe per direction for the whole
// session, as the original's --pipe) and splice.CopyBursts otherwise
// (small bursts through a pooled buffer, bulk spliced through a pipe lent
// per burst, nothing held while idle); other pairs use a pooled buffer.
func pump(dst, src net.Conn, pipe bool, count func(int64)) (int64, error) {
	if d, ok := dst.(*net.TCPConn); ok {
		if s, ok := src.(*net.TCPConn); ok {
			if pipe {
				return splice.CopyProgress(d, s, count)
			}
			return splice.CopyBursts(d, s, count)
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
			count(int64(w))
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
