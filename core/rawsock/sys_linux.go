//go:build linux

package rawsock

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether this system has the calls of the package.
const Supported = true

// Sys makes non-blocking system calls, straight to the kernel or, when
// built with runtime set, through the scheduler's system call bracket.
// Its methods share one scratch area: a Sys belongs to one goroutine.
type Sys struct {
	runtime bool
	scratch *scratch
}

// scratch holds the small values system calls read or fill in.
type scratch struct {
	ev      unix.EpollEvent
	optval  int32
	optlen  uint32
	addrlen uint32
	sa      Sockaddr
}

// New returns a Sys with its own scratch area; runtime makes the calls
// through syscall.Syscall rather than syscall.RawSyscall.
func New(runtime bool) Sys { return Sys{runtime: runtime, scratch: new(scratch)} }

//go:nosplit
func (s Sys) call(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
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
func (s Sys) call6(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, syscall.Errno) {
	var r uintptr
	var e syscall.Errno
	if s.runtime {
		r, _, e = syscall.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	} else {
		r, _, e = syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	}
	return r, e
}

// errOf turns an errno into an error, nil for 0; the error is the
// syscall.Errno itself, so callers compare it with unix.EAGAIN and the
// like.
func errOf(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Accept takes one pending connection of lfd as a non-blocking,
// close-on-exec descriptor, without asking for the peer's address (which
// would cost an allocation).
func (s Sys) Accept(lfd int) (int, error) {
	r, e := s.call6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(r), errOf(e)
}

// AcceptFrom is Accept that also returns the peer's address, which the
// kernel fills in at no extra cost (kept in the scratch area, so nothing
// is allocated).
func (s Sys) AcceptFrom(lfd int) (int, netip.AddrPort, error) {
	sc := s.scratch
	sc.addrlen = unix.SizeofSockaddrAny
	r, e := s.call6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&sc.sa.raw)), uintptr(unsafe.Pointer(&sc.addrlen)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	return int(r), sc.sa.AddrPort(), nil
}

// Socket opens a non-blocking, close-on-exec TCP socket of family.
func (s Sys) Socket(family int) (int, error) {
	r, e := s.call(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(r), errOf(e)
}

// Family is the address family of a socket that connects to ap.
func Family(ap netip.AddrPort) int {
	if ap.Addr().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// Connect starts connecting fd to ap; a nil error means connected or in
// progress (EINPROGRESS), and the outcome is then SoError's once fd is
// writable.
func (s Sys) Connect(fd int, ap netip.AddrPort) error {
	size := s.scratch.sa.Set(ap)
	_, e := s.call(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&s.scratch.sa.raw)), size)
	if e != 0 && e != unix.EINPROGRESS {
		return e
	}
	return nil
}

// Dial opens a non-blocking socket and starts connecting it to ap (see
// Connect); on failure nothing stays open.
func (s Sys) Dial(ap netip.AddrPort) (int, error) {
	fd, err := s.Socket(Family(ap))
	if err != nil {
		return -1, err
	}
	if err := s.Connect(fd, ap); err != nil {
		s.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Sockaddr is a socket address in the kernel's layout.
type Sockaddr struct {
	raw unix.RawSockaddrAny
}

// Set stores ap and returns the size of the address the kernel reads.
func (sa *Sockaddr) Set(ap netip.AddrPort) uintptr {
	p := ap.Port()
	if ap.Addr().Is4() {
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		*in = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
		port := (*[2]byte)(unsafe.Pointer(&in.Port))
		port[0], port[1] = byte(p>>8), byte(p)
		return unix.SizeofSockaddrInet4
	}
	in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.raw))
	*in = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
	port := (*[2]byte)(unsafe.Pointer(&in.Port))
	port[0], port[1] = byte(p>>8), byte(p)
	return unix.SizeofSockaddrInet6
}

// AddrPort returns the stored address; the zero AddrPort for anything
// but IPv4 and IPv6.
func (sa *Sockaddr) AddrPort() netip.AddrPort {
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

// LocalAddr is the address fd is bound to (getsockname).
func (s Sys) LocalAddr(fd int) (netip.AddrPort, error) {
	return s.sockname(unix.SYS_GETSOCKNAME, fd)
}

// PeerAddr is the address fd is connected to (getpeername).
func (s Sys) PeerAddr(fd int) (netip.AddrPort, error) {
	return s.sockname(unix.SYS_GETPEERNAME, fd)
}

func (s Sys) sockname(trap uintptr, fd int) (netip.AddrPort, error) {
	sc := s.scratch
	sc.addrlen = unix.SizeofSockaddrAny
	_, e := s.call(trap, uintptr(fd), uintptr(unsafe.Pointer(&sc.sa.raw)), uintptr(unsafe.Pointer(&sc.addrlen)))
	if e != 0 {
		return netip.AddrPort{}, e
	}
	return sc.sa.AddrPort(), nil
}

// SoError reads and clears a socket's pending error: how a non-blocking
// connect reports its outcome.
func (s Sys) SoError(fd int) error {
	sc := s.scratch
	sc.optval, sc.optlen = 0, 4
	_, e := s.call6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&sc.optval)), uintptr(unsafe.Pointer(&sc.optlen)), 0)
	if e != 0 {
		return e
	}
	return errOf(syscall.Errno(sc.optval))
}

// SetInt sets an integer socket option.
func (s Sys) SetInt(fd, level, opt, value int) error {
	if !s.runtime {
		return SetIntRaw(fd, level, opt, value)
	}
	sc := s.scratch
	sc.optval = int32(value)
	_, e := s.call6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&sc.optval)), 4, 0)
	return errOf(e)
}

// Read reads into b; b must be heap memory.
func (s Sys) Read(fd int, b []byte) (int, error) {
	r, e := s.call(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(r), errOf(e)
}

// Write writes b; b must be heap memory.
func (s Sys) Write(fd int, b []byte) (int, error) {
	r, e := s.call(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(r), errOf(e)
}

// ShutdownWrite shuts the write half of fd down (the peer reads EOF).
func (s Sys) ShutdownWrite(fd int) error {
	_, e := s.call(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
	return errOf(e)
}

// Close closes fd; its error is of no use to an event loop.
func (s Sys) Close(fd int) {
	s.call(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// EpollAdd registers fd edge-triggered for input, output and the peer's
// half-close, with fd and tag as the event's data (Fd and Pad).
func (s Sys) EpollAdd(epfd, fd int, tag uint32) error {
	ev := &s.scratch.ev
	*ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd), Pad: int32(tag)}
	_, e := s.call6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errOf(e)
}

// EpollDel takes fd out of the epoll set: needed before fd is closed when
// a duplicate of it lives on, since the set forgets a descriptor only
// when its last duplicate is closed.
func (s Sys) EpollDel(epfd, fd int) error {
	ev := &s.scratch.ev
	*ev = unix.EpollEvent{}
	_, e := s.call6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_DEL, uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errOf(e)
}

// EpollPoll takes the ready events without waiting (timeout 0), so it
// cannot block. It is epoll_pwait with no signal mask, which is
// epoll_wait: arm64 and other newer ports have only the former.
func (s Sys) EpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	r, e := s.call6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	return int(r), errOf(e)
}

// Edges decodes an edge-triggered epoll event into what the descriptor's
// owner acts on: hup (the peer hung up or the socket failed), readable (a
// read will not block, if only to report EOF or the error) and writable
// (likewise for a write).
func Edges(events uint32) (hup, readable, writable bool) {
	hup = events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	readable = events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	writable = events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
	return hup, readable, writable
}

// SetIntRaw sets an integer socket option straight to the kernel, outside
// the scheduler's system call bracket, with no Sys: any goroutine may call
// it (a shared dialer does, for the loop's outbound sockets).
// setsockopt(2) of an integer option never blocks, and the bracket wakes
// the runtime's sysmon thread whenever it sleeps because every processor
// was idle: an event loop that parks between bursts meets it asleep at
// nearly every dial, and each such wake-up cost the daemon about six
// thread switches of sysmon's 20 µs polling before it slept again.
func SetIntRaw(fd, level, opt, value int) error {
	v := int32(value)
	// The pointer travels as a uintptr in the argument list of a call to
	// an assembly function, so the compiler keeps v alive and in place
	// (unlike through call6, a Go function: hence Sys's scratch).
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), unsafe.Sizeof(v), 0)
	return errOf(e)
}
