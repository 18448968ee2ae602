package dial

import "golang.org/x/sys/unix"

// bindToDevice makes socket fd send only through the interface named dev.
func bindToDevice(fd int, dev string) error {
	return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
}

// fastOpenConnect makes connect(2) on fd defer the SYN to the first write,
// so that the write's data can ride in it (TCP Fast Open).
func fastOpenConnect(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1)
}
