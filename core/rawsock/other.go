//go:build !linux

package rawsock

import "golang.org/x/sys/unix"

// Supported reports whether this system has the calls of the package:
// it needs epoll, which only Linux has.
const Supported = false

// SetIntRaw sets an integer socket option; outside Linux no event loop
// calls it on the daemon's hot path, so the ordinary call does.
func SetIntRaw(fd, level, opt, value int) error {
	return unix.SetsockoptInt(fd, level, opt, value)
}
