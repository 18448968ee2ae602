package server

import (
	"context"
	"fmt"
	"net"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

// socks5Bind serves a BIND request (protocols §4.6): listen on the
// wildcard of the client connection's family, report it, accept one
// peer within the half-open deadline, report the peer, relay.
func (s *Server) socks5Bind(h *handshake, req socks5.Request) error {
	c := h.c
	var reply [22]byte
	network, wildcard := "tcp6", "[::]:0"
	if isIPv4Socket(c.LocalAddr()) {
		network, wildcard = "tcp4", "0.0.0.0:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(c.ctx, network, wildcard)
	if err != nil {
		_ = c.write(socks5.AppendReply(reply[:0], socks5.GeneralFailure, addr.Addr{}))
		return fmt.Errorf("bind: %w", err)
	}
	stop := context.AfterFunc(c.ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	if err := c.write(socks5.AppendReply(reply[:0], socks5.Succeeded, boundAddr(ln.Addr()))); err != nil {
		return err
	}
	peer, err := ln.Accept()
	if err != nil {
		switch e := c.phaseError(); failureOf(e) {
		case failTimeout:
			c.writeLate(socks5.AppendReply(reply[:0], socks5.TTLExpired, addr.Addr{}))
			return e
		case failShutdown:
			return e
		}
		_ = c.write(socks5.AppendReply(reply[:0], socks5.GeneralFailure, addr.Addr{}))
		return fmt.Errorf("bind accept: %w", err)
	}
	ln.Close()
	pa := boundAddr(peer.RemoteAddr())
	if !bindPeerMatches(req.Addr, pa) {
		s.log.Warn("bind: unexpected peer "+pa.String(), "client", c.RemoteAddr().String(), "target", req.Addr.String())
	}
	return s.grant(c, h, peer, socks5.AppendReply(reply[:0], socks5.Succeeded, pa))
}

// bindPeerMatches compares the accepted peer with the requested address:
// port 0 and the unspecified address are wildcards; for a domain only the
// port is compared.
func bindPeerMatches(want, got addr.Addr) bool {
	if want.Port() != 0 && want.Port() != got.Port() {
		return false
	}
	if want.Kind() == addr.Domain {
		return true
	}
	ip := want.IP()
	return ip.IsUnspecified() || ip.Unmap() == got.IP().Unmap()
}
