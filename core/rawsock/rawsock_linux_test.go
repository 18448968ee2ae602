package rawsock

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSockaddrRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:65535", "[::ffff:10.0.0.1]:1", "0.0.0.0:0"} {
		ap := netip.MustParseAddrPort(s)
		var sa Sockaddr
		size := sa.Set(ap)
		want := uintptr(unix.SizeofSockaddrInet6)
		if ap.Addr().Is4() {
			want = unix.SizeofSockaddrInet4
		}
		if size != want || sa.AddrPort() != ap {
			t.Errorf("%s: size %d, back %v", s, size, sa.AddrPort())
		}
	}
}

// TestConnectAcceptRelay drives the calls as an event loop does, against
// the kernel: a non-blocking connect to a listener, accept4, the
// connect's outcome from SO_ERROR once epoll says writable, both
// addresses, a write and read each way, a half-close, and EAGAIN.
func TestConnectAcceptRelay(t *testing.T) {
	s := New(false)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lap := netip.MustParseAddrPort(ln.Addr().String())
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(epfd)
	cfd, err := s.Dial(lap)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(cfd)
	if err := s.EpollAdd(epfd, cfd, 7); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 8)
	var n int
	for range 1000 { // the connect to a listener on loopback completes at once
		if n, _ = s.EpollPoll(epfd, events); n > 0 {
			break
		}
	}
	if n != 1 || events[0].Fd != int32(cfd) || events[0].Pad != 7 || events[0].Events&unix.EPOLLOUT == 0 {
		t.Fatalf("events %d %+v", n, events[0])
	}
	if err := s.SoError(cfd); err != nil {
		t.Fatal(err)
	}
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	afd := -1
	var from netip.AddrPort
	_ = rc.Control(func(fd uintptr) { afd, from, err = s.AcceptFrom(int(fd)) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(afd)
	local, err := s.LocalAddr(cfd)
	if err != nil {
		t.Fatal(err)
	}
	if peer, err := s.PeerAddr(afd); err != nil || peer != local || from != local {
		t.Errorf("accepted peer %v (%v), from %v, connecting side %v", peer, err, from, local)
	}
	if err := s.SetInt(afd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, err := s.Read(afd, buf); err != unix.EAGAIN {
		t.Errorf("read of an empty socket: %v, want EAGAIN", err)
	}
	msg := []byte("ping")
	if k, err := s.Write(cfd, msg); k != 4 || err != nil {
		t.Fatal(k, err)
	}
	if err := s.ShutdownWrite(cfd); err != nil {
		t.Fatal(err)
	}
	got := 0
	for range 1000 {
		k, err := s.Read(afd, buf[got:])
		if err == unix.EAGAIN {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
		got += k
	}
	if string(buf[:got]) != "ping" {
		t.Errorf("read %q then EOF, want ping", buf[:got])
	}
	if err := s.EpollDel(epfd, cfd); err != nil {
		t.Error(err)
	}
}

func TestFreeList(t *testing.T) {
	f := FreeList[[4]byte]{Max: 1}
	a, b := f.Get(), f.Get()
	if a == b {
		t.Fatal("two gets returned one value")
	}
	f.Put(a)
	f.Put(b) // over Max: dropped
	f.Put(nil)
	if f.Get() != a || f.Get() == b {
		t.Error("the list kept the wrong values")
	}
}

func TestEdges(t *testing.T) {
	for _, c := range []struct {
		events                  uint32
		hup, readable, writable bool
	}{
		{unix.EPOLLIN, false, true, false},
		{unix.EPOLLOUT, false, false, true},
		{unix.EPOLLRDHUP, true, true, false},
		{unix.EPOLLHUP, true, true, true},
		{unix.EPOLLERR, true, true, true},
		{0, false, false, false},
	} {
		h, r, w := Edges(c.events)
		if h != c.hup || r != c.readable || w != c.writable {
			t.Errorf("Edges(%#x) = %v, %v, %v; want %v, %v, %v", c.events, h, r, w, c.hup, c.readable, c.writable)
		}
	}
}
