//go:build !linux

package dial

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// bindToDevice fails outside Linux: SO_BINDTODEVICE is Linux's. The
// daemon's config check refuses --netdev on such systems before a Dialer is
// built; a Dialer given one anyway warns once and dials unbound.
func bindToDevice(int, string) error {
	return fmt.Errorf("SO_BINDTODEVICE: %w outside Linux", errors.ErrUnsupported)
}

// fastOpenConnect fails outside Linux: TCP_FASTOPEN_CONNECT is Linux's. The
// config check refuses --fastopen-connect on such systems; a Dialer given
// it anyway warns once and connects without Fast Open.
func fastOpenConnect(int) error {
	return fmt.Errorf("TCP_FASTOPEN_CONNECT: %w outside Linux", errors.ErrUnsupported)
}

// setIntRaw sets an integer socket option; outside Linux no event loop
// calls it on the daemon's hot path, so the ordinary call does.
func setIntRaw(fd, level, opt, value int) error {
	return unix.SetsockoptInt(fd, level, opt, value)
}
