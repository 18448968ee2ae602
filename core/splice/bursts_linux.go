//go:build linux

package splice

import (
	"io"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// BurstBuffer is the buffer a burst starts with in CopyBursts: a burst
// that fits in it is copied through it; one that fills it is spliced.
const BurstBuffer = 16 << 10

var burstPool = sync.Pool{New: func() any { b := make([]byte, BurstBuffer); return &b }}

// CopyBursts copies src to dst until EOF on src or an error, like
// CopyProgress, but holds neither a pipe nor a buffer while src is idle:
// an idle tunnel costs its two sockets and nothing else, which is what the
// proxy wants by default (--pipe keeps a pipe per direction instead).
//
// The data comes in bursts (what src has queued when it wakes the copy).
// A burst starts with one read(2) into a pooled BurstBuffer-sized buffer
// and a send(2) of it: for the few bytes of a request or a reply that is
// two system calls, where splice needs two as well plus the pipe's page
// bookkeeping. A read that fills the buffer means bulk: the rest of the
// burst is spliced through a pipe taken from the pool, in the same lock
// step as Copy, and the pipe goes back to the pool when the burst ends
// (src has nothing queued and the pipe is empty). A burst that moved at
// least BurstBuffer bytes makes the next one start with splice as well,
// so a sustained stream is spliced throughout and pays one pool
// round-trip per wake-up, not a copy.
//
// Everything else is as for Copy: the sockets stay under the netpoller,
// deadlines and Close from another goroutine are honoured, src and dst
// are never closed or half-closed, and without a usable pipe (or when
// the kernel refuses splice for these sockets) it copies through the
// buffer.
func CopyBursts(dst, src *net.TCPConn, progress func(n int64)) (int64, error) {
	b := new(burster)
	if err := b.init(dst, src, progress); err != nil {
		return 0, err
	}
	return b.run()
}

// burster is the state of one CopyBursts call.
type burster struct {
	copier         // the splice state; p is nil between bursts
	buf    *[]byte // the read buffer while a read holds bytes, else nil
	n      int     // bytes read into buf
	off    int     // bytes of buf written
	bulk   bool    // splice rather than read
	noPipe bool    // splice is unavailable: always read
	burst  int64   // bytes moved in the current burst

	// callback is the one RawConn callback of the call (made once, so
	// that the loop does not allocate); op selects what it does next.
	callback func(fd uintptr) bool
	op       byte
}

// The operations of burster.callback.
const (
	opRead  byte = iota // readable: fill the buffer or the pipe from src
	opDrain             // drain: empty the pipe into dst
	opSend              // sendBuffered: write the buffer to dst
)

// run waits for src and moves each burst, reading or splicing.
func (b *burster) run() (int64, error) {
	b.callback = func(fd uintptr) bool {
		switch b.op {
		case opDrain:
			return b.drain(int(fd))
		case opSend:
			return b.sendBuffered(int(fd))
		}
		return b.readable(int(fd))
	}
	defer b.release()
	for {
		b.op = opRead
		if err := b.srcRC.Read(b.callback); err != nil {
			return b.total, err
		}
		if b.sysErr != nil {
			return b.total, b.opError("read", b.src, b.sysErr)
		}
		if b.buf != nil {
			if err := b.writeBuffer(); err != nil {
				return b.total, err
			}
			continue
		}
		if b.p == nil || b.p.buffered == 0 {
			if b.eof {
				return b.total, nil
			}
			continue
		}
		b.op = opDrain
		err := b.passOn(b.callback)
		b.burst += b.moved
		if err != nil {
			return b.total, err
		}
	}
}

// readable is the srcRC.Read callback. It moves what src has queued into
// the buffer or the pipe and reports true, or, when src has nothing,
// closes the burst (returning buffer and pipe) and reports false so that
// the netpoller waits. Every call makes a system call on src before it
// can report false, which the netpoller needs: RawConn.Read clears the
// readiness it saw before the call, so only an EAGAIN seen in this call
// proves that a wait will end.
func (b *burster) readable(fd int) bool {
	if b.bulk && !b.noPipe {
		if b.p == nil && !b.takePipe() {
			return b.readable(fd)
		}
		if b.fill(fd) {
			if b.unsupported {
				// EINVAL before any byte: nothing was consumed.
				b.unsupported, b.eof, b.noPipe, b.bulk = false, false, true, false
				b.putPipe()
				return b.readable(fd)
			}
			return true
		}
		b.endBurst()
		return false
	}
	bp := burstPool.Get().(*[]byte)
	for {
		n, err := rawRead(fd, *bp)
		switch {
		case n > 0:
			b.buf, b.n = bp, n
			return true
		case err == nil:
			b.eof = true
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			burstPool.Put(bp)
			b.endBurst()
			return false
		default:
			b.sysErr = err
		}
		burstPool.Put(bp)
		return true
	}
}

// writeBuffer writes what a read put into the buffer and returns the
// buffer. A full buffer switches the rest of the burst to splice.
func (b *burster) writeBuffer() error {
	b.off, b.op = 0, opSend
	err := b.dstRC.Write(b.callback)
	n := b.off
	full := b.n == BurstBuffer
	burstPool.Put(b.buf)
	b.buf = nil
	b.total += int64(n)
	b.burst += int64(n)
	if n > 0 && b.progress != nil {
		b.progress(int64(n))
	}
	if err != nil {
		return err
	}
	if b.sysErr != nil {
		return b.opError("write", b.dst, b.sysErr)
	}
	if full {
		b.bulk = true
	}
	return nil
}

// sendBuffered is the dstRC.Write callback of writeBuffer: it writes the
// buffer from b.off on, asking the netpoller to wait while the socket's
// send buffer is full.
func (b *burster) sendBuffered(fd int) bool {
	buf := (*b.buf)[:b.n]
	for b.off < len(buf) {
		n, err := rawSend(fd, buf[b.off:])
		switch {
		case n > 0:
			b.off += n
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return false
		case err == nil:
			b.sysErr = io.ErrShortWrite
			return true
		default:
			b.sysErr = err
			return true
		}
	}
	return true
}

// endBurst is called when src has nothing queued: the pipe (empty in
// lock step) goes back to the pool, and the next burst starts the way
// this one's size suggests.
func (b *burster) endBurst() {
	b.putPipe()
	b.bulk = b.burst >= BurstBuffer
	b.burst = 0
}

// takePipe gets a pipe for a spliced burst; without a usable one the copy
// reads from now on.
func (b *burster) takePipe() bool {
	p, err := pool.get()
	if err == nil && p.usable() {
		b.p = p
		return true
	}
	if err == nil {
		p.close()
	}
	b.noPipe, b.bulk = true, false
	return false
}

func (b *burster) putPipe() {
	if b.p != nil {
		pool.put(b.p)
		b.p = nil
	}
}

// release returns what an ending copy still holds; a pipe with bytes
// left in it after an error is closed by the pool.
func (b *burster) release() {
	b.putPipe()
	if b.buf != nil {
		burstPool.Put(b.buf)
		b.buf = nil
	}
}
