//go:build !linux

package rawsock

// Supported reports whether this system has the calls of the package:
// it needs epoll, which only Linux has.
const Supported = false
