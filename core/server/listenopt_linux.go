package server

import "golang.org/x/sys/unix"

// keepAliveInherited says that a socket accept(2) returns carries the
// listening socket's SO_KEEPALIVE (Linux copies the socket's flags to the
// new connection and arms its keep-alive timer), so that the option is set
// once on the listener rather than by net on every accepted socket: one
// setsockopt(2), through the scheduler's system call path, less per
// connection (cmd/nsbench/EXPERIMENTS.md, section 3).
const keepAliveInherited = true

// setTransparent lets the listening socket fd accept connections to any
// address (TPROXY), so that an accepted socket's local address is the
// client's original destination.
func setTransparent(fd int, network string) error {
	level, opt := unix.SOL_IP, unix.IP_TRANSPARENT
	if network == "tcp6" {
		level, opt = unix.SOL_IPV6, unix.IPV6_TRANSPARENT
	}
	return unix.SetsockoptInt(fd, level, opt, 1)
}

// fastOpenListen enables server-side TCP Fast Open on the listening socket
// fd, with a queue of SOMAXCONN pending Fast Open requests.
func fastOpenListen(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, unix.SOMAXCONN)
}
