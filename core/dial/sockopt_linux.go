package dial

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// bindToDevice makes socket fd send only through the interface named dev.
func bindToDevice(fd int, dev string) error {
	return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
}

// fastOpenConnect makes connect(2) on fd defer the SYN to the first write,
// so that the write's data can ride in it (TCP Fast Open).
func fastOpenConnect(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1)
}

// setIntRaw sets an integer socket option straight to the kernel, outside
// the scheduler's system call bracket: setsockopt(2) of TCP_NODELAY or
// SO_KEEPALIVE never blocks, and the bracket wakes the runtime's sysmon
// thread whenever it sleeps because every processor was idle. An event
// loop that parks between bursts meets it asleep at nearly every dial, and
// each such wake-up cost the daemon about six thread switches of sysmon's
// 20 µs polling before it slept again.
func setIntRaw(fd, level, opt, value int) error {
	v := int32(value)
	// The pointer travels as a uintptr in the call's own argument list, to
	// an assembly function: the compiler keeps v alive and in place.
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), unsafe.Sizeof(v), 0)
	if e != 0 {
		return e
	}
	return nil
}
