//go:build linux

package splice

import (
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultPipeSize is the capacity requested with F_SETPIPE_SZ for every
// pipe this package creates, unless SetPipeSize chose another one: 1 MiB,
// the default /proc/sys/fs/pipe-max-size, which measured the least CPU
// per byte (see the package documentation). The kernel rounds a size up
// to a power-of-two number of pages; when it refuses one (above
// pipe-max-size, or the user's pipe-user-pages-soft budget is nearly
// spent) a quarter of it is tried, down to the default 64 KiB.
const DefaultPipeSize = 1 << 20

// DefaultPoolSize is how many idle pipes (two descriptors each) are kept
// for reuse between sessions unless SetPoolSize chose another bound.
const DefaultPoolSize = 64

// pipe is one kernel pipe used as the splice buffer of one Copy call.
type pipe struct {
	r, w     int // read and write ends, non-blocking, close-on-exec
	size     int // capacity in bytes as reported by the kernel
	req      int // size requested at creation (pool.reqSize then)
	buffered int // bytes spliced in and not yet spliced out
}

// pipePool is an explicit free list of empty pipes with a bound. A pipe
// that still holds bytes is never pooled: it is closed.
type pipePool struct {
	mu      sync.Mutex
	free    []*pipe
	max     int
	reqSize int
}

var pool = pipePool{max: DefaultPoolSize, reqSize: DefaultPipeSize}

func newPipe(size int) (*pipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	p := &pipe{r: fds[0], w: fds[1], req: size}
	// A refusal (EPERM above pipe-max-size or when the user's pipe
	// budget is nearly spent) is not fatal: try a quarter of the size,
	// down to the kernel default, which the pipe keeps.
	for s := size; s > 0; s /= 4 {
		if _, err := unix.FcntlInt(uintptr(p.r), unix.F_SETPIPE_SZ, s); err == nil || s <= minPipe {
			break
		}
	}
	got, err := unix.FcntlInt(uintptr(p.r), unix.F_GETPIPE_SZ, 0)
	if err != nil || got <= 0 {
		got = 64 << 10
	}
	p.size = got
	return p, nil
}

// minPipe is the capacity below which a pipe is not worth splicing
// through unless that small size was asked for.
const minPipe = 64 << 10

// usable reports whether p is big enough: at least what was requested
// or 64 KiB, whichever is smaller. A refused F_SETPIPE_SZ above
// pipe-max-size leaves the default 64 KiB, which is fine; a pipe made
// after the user's pipe-user-pages-soft budget is spent has one or two
// pages, which is not.
func (p *pipe) usable() bool {
	want := p.req
	if want <= 0 || want > minPipe {
		want = minPipe
	}
	return p.size >= want
}

func (p *pipe) close() {
	_ = unix.Close(p.r)
	_ = unix.Close(p.w)
}

// get returns an empty pipe from the free list or a new one.
func (pp *pipePool) get() (*pipe, error) {
	pp.mu.Lock()
	if n := len(pp.free); n > 0 {
		p := pp.free[n-1]
		pp.free[n-1] = nil
		pp.free = pp.free[:n-1]
		pp.mu.Unlock()
		return p, nil
	}
	size := pp.reqSize
	pp.mu.Unlock()
	return newPipe(size)
}

// put returns p to the free list, or closes it when it holds data, the
// list is full, or it was made with a size that is no longer requested.
func (pp *pipePool) put(p *pipe) {
	if p.buffered != 0 {
		p.close()
		return
	}
	pp.mu.Lock()
	if len(pp.free) < pp.max && p.req == pp.reqSize {
		pp.free = append(pp.free, p)
		pp.mu.Unlock()
		return
	}
	pp.mu.Unlock()
	p.close()
}

// drain closes every idle pipe and returns how many it closed.
func (pp *pipePool) drain() int {
	pp.mu.Lock()
	free := pp.free
	pp.free = nil
	pp.mu.Unlock()
	for _, p := range free {
		p.close()
	}
	return len(free)
}

// SetPipeSize sets the capacity requested for pipes created from now on
// (0 keeps the kernel default of 64 KiB) and closes the idle pipes so
// that later sessions get the new size. It is meant for start-up and
// benchmarks; sessions in flight keep the pipe they have.
func SetPipeSize(bytes int) {
	pool.mu.Lock()
	pool.reqSize = bytes
	pool.mu.Unlock()
	pool.drain()
}

// SetPoolSize bounds how many idle pipes are kept for reuse (0 disables
// pooling: every Copy creates and closes its pipe) and closes the idle
// pipes above the new bound.
func SetPoolSize(n int) {
	if n < 0 {
		n = 0
	}
	pool.mu.Lock()
	pool.max = n
	var extra []*pipe
	if len(pool.free) > n {
		extra = append(extra, pool.free[n:]...)
		clear(pool.free[n:])
		pool.free = pool.free[:n]
	}
	pool.mu.Unlock()
	for _, p := range extra {
		p.close()
	}
}

// Release closes every idle pooled pipe, for example at shutdown. Pipes
// in use by a running Copy are not affected and may be pooled afterwards.
func Release() { pool.drain() }
