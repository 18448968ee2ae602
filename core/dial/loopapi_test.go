package dial

import (
	"net/netip"
	"syscall"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestLoopAPI checks the pieces an event loop dials with against Dial
// itself, the oracle: Direct, DialTarget's address and errors, and
// ConnectFailed's error, kind, errno and text.
func TestLoopAPI(t *testing.T) {
	if !New(Options{}).Direct() {
		t.Error("a dialer without -x is not Direct")
	}
	via := New(Options{Proxies: []addr.Proxy{mustProxy(t, "socks5://127.0.0.1:1")}})
	if via.Direct() {
		t.Error("a dialer with -x is Direct")
	}

	ap := serve(t, "tcp4", echo)
	got, err := New(Options{}).DialTarget(testCtx(t), addr.FromAddrPort(ap))
	if err != nil || got != ap {
		t.Errorf("DialTarget(%v) = %v, %v", ap, got, err)
	}
	name := addr.FromDomain("localhost", ap.Port())
	if got, err := New(Options{ResolvePF: config.PFInet}).DialTarget(testCtx(t), name); err != nil || !got.Addr().IsLoopback() || got.Port() != ap.Port() {
		t.Errorf("DialTarget(localhost) = %v, %v", got, err)
	}

	// A blocked target fails both the same way.
	blocking := New(Options{Block: Policy{Loopback: true}})
	_, dialErr := blocking.Dial(testCtx(t), addr.FromAddrPort(ap), route.Chain{})
	_, targetErr := blocking.DialTarget(testCtx(t), addr.FromAddrPort(ap))
	wantKind(t, targetErr, Blocked)
	if dialErr == nil || targetErr.Error() != dialErr.Error() || targetErr.(*Error).Detail() != dialErr.(*Error).Detail() {
		t.Errorf("DialTarget's error %v, Dial's %v", targetErr, dialErr)
	}

	// A refused connect: ConnectFailed says what Dial says.
	dead := testkit.ClosedPort(t)
	_, dialErr = New(Options{}).Dial(testCtx(t), addr.FromAddrPort(dead), route.Chain{})
	de := wantKind(t, dialErr, Connect)
	le := ConnectFailed(netip.AddrPortFrom(dead.Addr(), dead.Port()), syscall.ECONNREFUSED)
	if le.Kind != de.Kind || le.Errno != de.Errno || le.Detail() != de.Detail() {
		t.Errorf("ConnectFailed %v %v %q, Dial %v %v %q", le.Kind, le.Errno, le.Detail(), de.Kind, de.Errno, de.Detail())
	}
}

// TestSetSocketOptionsRaw checks that a raw socket gets TCP_NODELAY and
// SO_KEEPALIVE only where the configuration departs from the kernel's
// defaults (both off), as net's sockets end up after Dial.
func TestSetSocketOptionsRaw(t *testing.T) {
	for _, tc := range []struct{ nodelay, keepalive bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		New(Options{TCPNoDelay: tc.nodelay, TCPKeepAlive: tc.keepalive}).SetSocketOptions(fd, true)
		nodelay, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		keepalive, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		syscall.Close(fd)
		if (nodelay != 0) != tc.nodelay || (keepalive != 0) != tc.keepalive {
			t.Errorf("%+v: TCP_NODELAY %d, SO_KEEPALIVE %d", tc, nodelay, keepalive)
		}
	}
}
