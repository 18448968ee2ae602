//go:build linux

package evloop

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sys makes the loop's non-blocking system calls, either straight to the
// kernel or through the scheduler's system call bracket (runtime): the
// experiment's switch between the two.
//
// Every pointer a call hands the kernel points into the heap (the loop's
// scratch, its buffers), never into a goroutine stack: the address travels
// as a uintptr through call, and a stack that grew in between would have
// moved under it.
type sys struct {
	runtime bool
	scratch *scratch
}

// scratch holds the small values system calls read or fill in.
type scratch struct {
	ev      unix.EpollEvent
	optval  int32
	optlen  uint32
	addrlen uint32
	sa      sockaddr
	small   [64]byte // a handshake answer or failure reply
	wakeBuf [8]byte  // the eventfd's counter
}

//go:nosplit
func (s sys) call(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	var r uintptr
	var e syscall.Errno
	if s.runtime {
		r, _, e = syscall.Syscall(trap, a1, a2, a3)
	} else {
		r, _, e = syscall.RawSyscall(trap, a1, a2, a3)
	}
	return r, e
}

//go:nosplit
func (s sys) call6(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, syscall.Errno) {
	var r uintptr
	var e syscall.Errno
	if s.runtime {
		r, _, e = syscall.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	} else {
		r, _, e = syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	}
	return r, e
}

func errOf(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// accept takes one pending connection of lfd as a non-blocking descriptor,
// without asking for the peer's address (which would cost an allocation).
func (s sys) accept(lfd int) (int, error) {
	r, e := s.call6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(r), errOf(e)
}

func (s sys) socket(family int) (int, error) {
	r, e := s.call(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(r), errOf(e)
}

// sockaddr is a socket address in the kernel's layout, kept in the loop so
// that a connect or getsockname allocates nothing.
type sockaddr struct {
	raw unix.RawSockaddrAny
}

func (sa *sockaddr) set(ap netip.AddrPort) (family int, size uintptr) {
	p := ap.Port()
	if ap.Addr().Is4() {
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		*in = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
		port := (*[2]byte)(unsafe.Pointer(&in.Port))
		port[0], port[1] = byte(p>>8), byte(p)
		return unix.AF_INET, unix.SizeofSockaddrInet4
	}
	in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.raw))
	*in = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
	port := (*[2]byte)(unsafe.Pointer(&in.Port))
	port[0], port[1] = byte(p>>8), byte(p)
	return unix.AF_INET6, unix.SizeofSockaddrInet6
}

func (sa *sockaddr) addrPort() netip.AddrPort {
	switch sa.raw.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		port := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(port[0])<<8|uint16(port[1]))
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.raw))
		port := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr), uint16(port[0])<<8|uint16(port[1]))
	}
	return netip.AddrPort{}
}

// dial opens a non-blocking socket and starts connecting it to ap; a nil
// error means connected or in progress (EINPROGRESS).
func (s sys) dial(ap netip.AddrPort) (int, error) {
	family, size := s.scratch.sa.set(ap)
	fd, err := s.socket(family)
	if err != nil {
		return -1, err
	}
	_, e := s.call(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&s.scratch.sa.raw)), size)
	if e != 0 && e != unix.EINPROGRESS {
		s.close(fd)
		return -1, e
	}
	return fd, nil
}

// localAddr is the address fd is bound to (getsockname).
func (s sys) localAddr(fd int) (netip.AddrPort, error) {
	sc := s.scratch
	sc.addrlen = unix.SizeofSockaddrAny
	_, e := s.call(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sc.sa.raw)), uintptr(unsafe.Pointer(&sc.addrlen)))
	if e != 0 {
		return netip.AddrPort{}, e
	}
	return sc.sa.addrPort(), nil
}

// soError reads and clears a socket's pending error: how a non-blocking
// connect reports its outcome.
func (s sys) soError(fd int) error {
	sc := s.scratch
	sc.optval, sc.optlen = 0, 4
	_, e := s.call6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&sc.optval)), uintptr(unsafe.Pointer(&sc.optlen)), 0)
	if e != 0 {
		return e
	}
	return errOf(syscall.Errno(sc.optval))
}

func (s sys) read(fd int, b []byte) (int, error) {
	r, e := s.call(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(r), errOf(e)
}

func (s sys) write(fd int, b []byte) (int, error) {
	r, e := s.call(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(r), errOf(e)
}

func (s sys) shutdownWrite(fd int) error {
	_, e := s.call(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
	return errOf(e)
}

func (s sys) close(fd int) {
	s.call(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// epollAdd registers fd edge-triggered for input, output and the peer's
// half-close, with the descriptor and its generation as the event's data.
func (s sys) epollAdd(epfd, fd int, gen uint32) error {
	ev := &s.scratch.ev
	*ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd), Pad: int32(gen)}
	_, e := s.call6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errOf(e)
}

// epollPoll takes the ready events without waiting (timeout 0), so it
// cannot block and is made as the other non-blocking calls are. It is
// epoll_pwait with no signal mask, which is epoll_wait: arm64 and other
// newer ports have only the former.
func (s sys) epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	r, e := s.call6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	return int(r), errOf(e)
}
