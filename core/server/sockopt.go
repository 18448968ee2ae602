package server

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenControl returns the socket-option hook of a listener (cli §5).
func (s *Server) listenControl(transparent bool) func(network, address string, rc syscall.RawConn) error {
	conf := s.conf
	return func(network, address string, rc syscall.RawConn) error {
		var fatal error
		err := rc.Control(func(fd uintptr) {
			f := int(fd)
			// Go sets SO_REUSEADDR on listeners already; set it anyway
			// so the rule holds whatever the runtime does.
			if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				fatal = fmt.Errorf("SO_REUSEADDR: %w", err)
				return
			}
			if conf.ReusePort {
				if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
					fatal = fmt.Errorf("SO_REUSEPORT: %w", err)
					return
				}
			}
			if transparent {
				if err := setTransparent(f, network); err != nil {
					fatal = fmt.Errorf("IP_TRANSPARENT: %w", err)
					return
				}
			}
			if conf.TCPFastOpen {
				if err := fastOpenListen(f); err != nil {
					s.log.Warn("TCP fast open not enabled", "err", err)
				}
			}
			if conf.TCPKeepAlive && keepAliveInherited {
				if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
					s.log.Warn("SO_KEEPALIVE", "err", err)
				}
			}
			// Accepted sockets inherit the listener's buffer sizes.
			if conf.TCPSndBuf > 0 {
				if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_SNDBUF, conf.TCPSndBuf); err != nil {
					s.log.Warn("SO_SNDBUF", "err", err)
				}
			}
			if conf.TCPRcvBuf > 0 {
				if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_RCVBUF, conf.TCPRcvBuf); err != nil {
					s.log.Warn("SO_RCVBUF", "err", err)
				}
			}
		})
		if err != nil {
			return err
		}
		return fatal
	}
}
