//go:build !linux

package evloop

import (
	"context"
	"errors"
)

// Serve needs epoll: on other systems it returns an error.
func Serve(ctx context.Context, c Config) error {
	return errors.New("evloop: needs Linux (epoll)")
}
