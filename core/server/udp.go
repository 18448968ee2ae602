package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

var errNoUDP = errors.New("udp associate failed")

// udpBufSize is the receive buffer, and the bound of a reassembled
// fragment sequence.
const udpBufSize = 4096

// socks5UDP serves a UDP ASSOCIATE request (protocols §4.7). The
// association is a session from the moment the reply is sent; it ends when
// the TCP control connection reads EOF or fails.
func (s *Server) socks5UDP(h *handshake, req socks5.Request) error {
	c := h.c
	var reply [22]byte
	network, wildcard := "udp6", "[::]:0"
	if isIPv4Socket(c.LocalAddr()) {
		network, wildcard = "udp4", "0.0.0.0:0"
	}
	pc, err := net.ListenPacket(network, wildcard)
	if err != nil {
		_ = c.write(socks5.AppendReply(reply[:0], socks5.GeneralFailure, addr.Addr{}))
		return fmt.Errorf("%w: %w", errNoUDP, err)
	}
	uc := pc.(*net.UDPConn)
	c.setUpstream(uc)
	if err := c.write(socks5.AppendReply(reply[:0], socks5.Succeeded, boundAddr(uc.LocalAddr()))); err != nil {
		return err
	}
	h.release()
	if !c.endHalfOpen() {
		return errShutdown
	}
	c.startSession()
	defer c.endSession()

	done := make(chan struct{})
	go func() {
		// Extra TCP data is read and ignored; EOF or an error ends the
		// association.
		_, _ = io.Copy(io.Discard, c.Conn)
		uc.Close()
		close(done)
	}()
	s.udpLoop(uc)
	c.Conn.Close()
	<-done
	return nil
}

// udpLoop relays datagrams until uc is closed.
func (s *Server) udpLoop(uc *net.UDPConn) {
	var client netip.AddrPort
	var frag udpFrag
	buf := make([]byte, udpBufSize)
	out := make([]byte, 0, 22+udpBufSize)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if !client.IsValid() {
			client = from
		}
		if from != client {
			// Target → client: prepend the source.
			src := addr.FromAddrPort(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
			out, _ = socks5.AppendUDPHeader(out[:0], socks5.UDPHeader{Addr: src})
			out = append(out, buf[:n]...)
			if _, err := uc.WriteToUDPAddrPort(out, client); err == nil {
				s.stats.BytesDown.Add(uint64(n))
			}
			continue
		}
		hdr, k, err := socks5.ParseUDPHeader(buf[:n])
		if err != nil || hdr.Addr.Kind() == addr.Domain {
			continue // short, unknown or domain address: dropped
		}
		dst, payload := hdr.Addr.AddrPort(), buf[k:n]
		if hdr.Frag != 0 {
			var ok bool
			if dst, payload, ok = frag.add(hdr.Frag, dst, payload); !ok {
				continue
			}
		}
		if _, err := uc.WriteToUDPAddrPort(payload, dst); err == nil {
			s.stats.BytesUp.Add(uint64(len(payload)))
		}
	}
}

// udpFrag reassembles a SOCKS5 UDP fragment sequence.
type udpFrag struct {
	next int // expected fragment number; 0: no sequence
	dst  netip.AddrPort
	buf  []byte
}

// add takes one fragment; when it completes a sequence it returns the
// destination and the whole payload.
func (f *udpFrag) add(frag byte, dst netip.AddrPort, payload []byte) (netip.AddrPort, []byte, bool) {
	num, last := int(frag&0x7f), frag&0x80 != 0
	switch {
	case num == 1:
		f.next, f.dst, f.buf = 1, dst, f.buf[:0]
	case num == 0 || num != f.next:
		f.next = 0
		return netip.AddrPort{}, nil, false
	}
	if len(f.buf)+len(payload) > udpBufSize {
		f.next = 0
		return netip.AddrPort{}, nil, false
	}
	f.buf = append(f.buf, payload...)
	f.next++
	if !last {
		return netip.AddrPort{}, nil, false
	}
	f.next = 0
	return f.dst, f.buf, true
}
