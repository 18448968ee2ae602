//go:build !linux

package server

import (
	"errors"
	"fmt"
)

// keepAliveInherited is false outside Linux: whether an accepted socket
// carries the listener's SO_KEEPALIVE is not relied on there, and net sets
// it on each accepted socket.
const keepAliveInherited = false

// setTransparent fails outside Linux, which alone has IP_TRANSPARENT. The
// daemon's config check refuses --tproxy on such systems before any
// listener is made; this keeps a Server configured directly from binding a
// listener that would not see original destinations.
func setTransparent(int, string) error {
	return fmt.Errorf("%w outside Linux", errors.ErrUnsupported)
}

// fastOpenListen does nothing outside Linux: server-side TCP Fast Open, on
// by default, is simply not set there, as the original built without its
// Linux socket features does not set it either.
func fastOpenListen(int) error { return nil }
