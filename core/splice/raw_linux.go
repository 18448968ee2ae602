//go:build linux

package splice

import (
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The copy loops make their system calls without telling the Go
// scheduler (RawSyscall), because every one of them is non-blocking: the
// sockets are O_NONBLOCK (the runtime sets it), the pipes are opened
// O_NONBLOCK and spliced with SPLICE_F_NONBLOCK. Such a call keeps its
// processor for the tens of microseconds the kernel spends copying and
// running the loopback receive path. Told (unix.Splice, unix.Read), the
// runtime hands a processor that a system call has held for a scheduler
// tick to another thread when it has no idle one, and the calling thread
// then waits to get one back: with GOMAXPROCS=1 that was two thread
// switches for most splices of a bulk transfer. Measured with the
// harness (run.sh -r 3 --phases bulk, the daemon with these calls raw
// against the same build without): one tunnel 1.15x the throughput at
// 0.74x the CPU per GB, eight tunnels unchanged.
//
// What it costs: while one of these calls runs, the runtime can neither
// preempt the goroutine nor stop the world for a collection, so they
// wait for it; a call is bounded by one pipeful (1 MiB by default) or one
// 16 KiB buffer, tens to a few hundred microseconds. A socket lock held by
// another thread (the other direction's call on the same socket) can make
// a call sleep for as long as that thread holds it, which is as short.

// rawSplice moves up to n bytes from in to out.
func rawSplice(in, out, n int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceFlags)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawRead reads from fd into b.
func rawRead(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawSend writes b to the socket fd; MSG_NOSIGNAL turns a peer that is
// gone into EPIPE without a SIGPIPE.
func rawSend(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// CloseWrite half-closes c (shutdown(2) SHUT_WR, which queues a FIN and
// never blocks) like c.CloseWrite, but as a raw system call for the
// reason above: on loopback the call also runs the peer's receive path.
func CloseWrite(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var e unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, e = unix.RawSyscall(unix.SYS_SHUTDOWN, fd, unix.SHUT_WR, 0)
	}); err != nil {
		return err
	}
	if e != 0 {
		return &net.OpError{Op: "close", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("shutdown", e)}
	}
	return nil
}
