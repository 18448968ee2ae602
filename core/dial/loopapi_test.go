package dial

import (
	"net/netip"
	"syscall"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
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

// TestDialTargetNow checks the non-blocking first hop against DialTarget,
// the oracle: the same address or error and the same DNS counters where it
// answers (addresses, names of the hosts file, blocked answers, an empty
// name), and no answer and nothing counted where only the resolver can
// tell.
func TestDialTargetNow(t *testing.T) {
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere (GODEBUG netdns, LOCALDOMAIN, ...)")
	}
	hosts, _, _ := writeFiles(t, "127.0.0.7 cached.test\n224.0.0.9 group.test\n", "hosts: files dns\n", "nameserver 127.0.0.1\n")
	newDialer := func() (*Dialer, *stats.Counters) {
		st := &stats.Counters{}
		d := New(Options{Stats: st, Block: Policy{Multicast: true}})
		d.hosts = hosts
		return d, st
	}
	for _, target := range []addr.Addr{
		addr.FromDomain("cached.test", 80),
		addr.FromDomain("CACHED.test", 81),
		addr.FromDomain("group.test", 82),
		addr.FromDomain("", 83),
		addr.FromAddrPort(netip.MustParseAddrPort("127.0.0.1:84")),
		addr.FromAddrPort(netip.MustParseAddrPort("[ff02::1]:85")),
	} {
		now, nowSt := newDialer()
		ap, answered, err := now.DialTargetNow(target)
		if !answered {
			t.Errorf("%v: not answered", target)
			continue
		}
		oracle, oracleSt := newDialer()
		wantAP, wantErr := oracle.DialTarget(testCtx(t), target)
		if ap != wantAP || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Errorf("%v: DialTargetNow = %v, %v; DialTarget = %v, %v", target, ap, err, wantAP, wantErr)
		}
		if q, s := nowSt.DNSQuery.Load(), nowSt.DNSSuccess.Load(); q != oracleSt.DNSQuery.Load() || s != oracleSt.DNSSuccess.Load() {
			t.Errorf("%v: counted %d queries, %d successes; DialTarget %d, %d", target, q, s, oracleSt.DNSQuery.Load(), oracleSt.DNSSuccess.Load())
		}
	}

	// A name the hosts file lacks is the resolver's: not answered, not
	// counted (DialTarget, which the caller asks next, counts it).
	d, st := newDialer()
	if ap, answered, err := d.DialTargetNow(addr.FromDomain("absent.test", 80)); answered {
		t.Errorf("absent.test answered %v, %v", ap, err)
	}
	if q := st.DNSQuery.Load(); q != 0 {
		t.Errorf("an unanswered name counted %d queries", q)
	}
}
