//go:build !linux

package dial

import (
	"errors"
	"fmt"
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
