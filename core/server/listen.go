package server

import (
	"context"
	"fmt"
	"net"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
)

// Listen binds the proxy listener (-l) and then the HTTP listener
// (--http): SO_REUSEADDR always, SO_REUSEPORT with --reuseport, TCP Fast
// Open unless disabled (failure only warns), IP_TRANSPARENT on -l with
// --tproxy (failure is an error), buffer sizes, keep-alive per config. It
// logs "listen: <addr>" for each. On error nothing stays bound.
func (s *Server) Listen() error {
	var pl, hl net.Listener
	var err error
	if s.conf.Listen != "" {
		if pl, err = s.listen(s.conf.Listen, s.conf.Transparent); err != nil {
			return err
		}
	}
	if s.conf.HTTPListen != "" {
		if hl, err = s.listen(s.conf.HTTPListen, false); err != nil {
			if pl != nil {
				pl.Close()
			}
			return err
		}
	}
	s.mu.Lock()
	s.proxyLn, s.httpLn = pl, hl
	s.mu.Unlock()
	return nil
}

// listen binds one listener, guarded against descriptor exhaustion
// (GuardListener).
func (s *Server) listen(address string, transparent bool) (net.Listener, error) {
	host, port, err := addr.Split(address)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", address, err)
	}
	lc := net.ListenConfig{Control: s.listenControl(transparent), KeepAlive: -1}
	if s.conf.TCPKeepAlive && !keepAliveInherited {
		// SO_KEEPALIVE with the kernel's probe timings, as the original,
		// set by net on each accepted socket. Where accepted sockets
		// inherit it, listenControl sets it once on the listener.
		lc.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	network := "tcp"
	if host == "" {
		// An empty host is the IPv4 wildcard, the first answer of a
		// passive getaddrinfo on Linux.
		network = "tcp4"
	}
	l, err := lc.Listen(context.Background(), network, net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", address, err)
	}
	if ta, ok := l.Addr().(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.Addr().IsUnspecified() {
			s.log.Warn("binding to wildcard address " + ap.String())
		}
	}
	s.log.Log(context.Background(), config.LevelNotice, "listen: "+l.Addr().String())
	return GuardListener(l, s.log), nil
}

// isIPv4Socket reports whether a (a socket's own address) belongs to an
// AF_INET socket: Go reports those with a 4-byte IP, and AF_INET6 ones
// (IPv4-mapped included) with 16 bytes.
func isIPv4Socket(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return len(a.IP) == net.IPv4len
	case *net.UDPAddr:
		return len(a.IP) == net.IPv4len
	}
	return false
}
