package dial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), serveDeadline)
	t.Cleanup(cancel)
	return ctx
}

func wantKind(t testing.TB, err error, kind Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind %v (%s), want %v", e.Kind, e.Detail(), kind)
	}
	if e.Error() != kind.String() {
		t.Fatalf("Error() = %q, want %q", e.Error(), kind.String())
	}
	return e
}

func TestDialDirect(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			ap := serve(t, network, echo)
			st := &stats.Counters{}
			d := New(Options{Stats: st, TCPNoDelay: true, TCPKeepAlive: true})
			c, err := d.Dial(testCtx(t), addr.FromAddrPort(ap), route.Chain{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.(*net.TCPConn); !ok {
				t.Fatalf("conn is %T, want *net.TCPConn", c)
			}
			if la := c.LocalAddr().(*net.TCPAddr).AddrPort(); la.Addr() != ap.Addr() || la.Port() == 0 {
				t.Errorf("LocalAddr %v", la)
			}
			roundTrip(t, c, "hello direct")
			if n := st.ConnectLatency.Percentiles().N; n != 0 {
				t.Errorf("latency samples %d: the proxy server samples its own dials", n)
			}
			if st.DNSQuery.Load() != 0 || st.ClientTx.Load() != 0 {
				t.Errorf("counters touched: dns %d tx %d", st.DNSQuery.Load(), st.ClientTx.Load())
			}
		})
	}
}

func TestDialSocketOptions(t *testing.T) {
	ap := serve(t, "tcp4", echo)
	var logs bytes.Buffer
	d := New(Options{
		SndBuf: 65536, RcvBuf: 65536, FastOpenConnect: true,
		Netdev: "no-such-interface-name-at-all", // truncated to 15 bytes, then fails: only a warning
		Logger: slogTo(&logs),
	})
	if d.netdev != "no-such-interfa" {
		t.Errorf("netdev %q not truncated to IFNAMSIZ-1", d.netdev)
	}
	for i := range 2 {
		c, err := d.Dial(testCtx(t), addr.FromAddrPort(ap), route.Chain{})
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		roundTrip(t, c, "opts")
		tc := c.(*net.TCPConn)
		raw, err := tc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var nodelay, keepalive int
		_ = raw.Control(func(fd uintptr) {
			nodelay, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			keepalive, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		})
		if nodelay != 0 || keepalive != 0 {
			t.Errorf("TCP_NODELAY %d SO_KEEPALIVE %d, want both off", nodelay, keepalive)
		}
		c.Close()
	}
	if n := bytes.Count(logs.Bytes(), []byte("SO_BINDTODEVICE")); n != 1 {
		t.Errorf("SO_BINDTODEVICE warned %d times, want once at warning level:\n%s", n, logs.String())
	}
}

func TestDialErrors(t *testing.T) {
	dead := testkit.ClosedPort(t)
	t.Run("refused", func(t *testing.T) {
		_, err := New(Options{}).Dial(testCtx(t), addr.FromAddrPort(dead), route.Chain{})
		e := wantKind(t, err, Connect)
		if e.Errno != syscall.ECONNREFUSED {
			t.Errorf("errno %v", e.Errno)
		}
	})
	t.Run("blocked loopback", func(t *testing.T) {
		_, err := New(Options{Block: Policy{Loopback: true}}).Dial(testCtx(t), addr.FromAddrPort(dead), route.Chain{})
		wantKind(t, err, Blocked)
	})
	t.Run("blocked first proxy", func(t *testing.T) {
		_, err := New(Options{Block: Policy{Loopback: true}}).Dial(testCtx(t), mustTarget(t, "8.8.8.8:53"), route.MakeChain("socks5://"+dead.String()))
		wantKind(t, err, Blocked)
	})
	t.Run("unspecified always blocked", func(t *testing.T) {
		_, err := New(Options{}).Dial(testCtx(t), mustTarget(t, "0.0.0.0:"+strconv.Itoa(int(dead.Port()))), route.Chain{})
		wantKind(t, err, Blocked)
		_, err = New(Options{}).Dial(testCtx(t), mustTarget(t, "[::]:1"), route.Chain{})
		wantKind(t, err, Blocked)
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(Options{}).Dial(ctx, addr.FromAddrPort(dead), route.Chain{})
		wantKind(t, err, Cancelled)
	})
	t.Run("invalid target", func(t *testing.T) {
		_, err := New(Options{}).Dial(testCtx(t), addr.Addr{}, route.Chain{})
		wantKind(t, err, InvalidAddr)
	})
}

func TestConnectError(t *testing.T) {
	op := func(syscallName string, errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(syscallName, errno)}
	}
	tests := []struct {
		name  string
		err   error
		kind  Kind
		errno syscall.Errno
	}{
		{"refused", op("connect", syscall.ECONNREFUSED), Connect, syscall.ECONNREFUSED},
		{"net unreachable", op("connect", syscall.ENETUNREACH), Connect, syscall.ENETUNREACH},
		{"host unreachable", op("connect", syscall.EHOSTUNREACH), Connect, syscall.EHOSTUNREACH},
		{"timed out", op("connect", syscall.ETIMEDOUT), Connect, syscall.ETIMEDOUT},
		{"socket", op("socket", syscall.EMFILE), System, syscall.EMFILE},
		{"no errno", errors.New("weird"), Connect, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := connectError(context.Background(), tc.err)
			if e.Kind != tc.kind || e.Errno != tc.errno || !errors.Is(e, tc.err) {
				t.Errorf("got %v errno %v (%v)", e.Kind, e.Errno, e.Err)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if e := connectError(ctx, op("connect", syscall.ECONNREFUSED)); e.Kind != Timeout {
		t.Errorf("expired ctx: %v", e.Kind)
	}
}

func bnd4() []byte { return []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90} }

func TestDialProxyHandshakes(t *testing.T) {
	target := "echo.test:7"
	targetReq5 := append(append([]byte{5, 1, 0, 3, 9}, "echo.test"...), 0, 7)
	targetReq4 := append([]byte{4, 1, 0, 7, 0, 0, 0, 0xff}, "\x00echo.test\x00"...)
	v6 := netip.MustParseAddr("2001:db8::7").As16()
	tests := []struct {
		name    string
		proxy   string // scheme://userinfo@ (address appended)
		steps   []exchange
		target  string
		wantBuf bool // the conn must hold read-ahead bytes
	}{
		{"socks5", "socks5://", []exchange{
			{[]byte{5, 1, 0}, []byte{5, 0}},
			{targetReq5, bnd4()},
		}, target, false},
		{"socks5 ipv4 target", "socks5://", []exchange{
			{[]byte{5, 1, 0}, []byte{5, 0}},
			{[]byte{5, 1, 0, 1, 192, 0, 2, 1, 1, 0}, bnd4()},
		}, "192.0.2.1:256", false},
		{"socks5 ipv6 target and bnd", "socks5://", []exchange{
			{[]byte{5, 1, 0}, []byte{5, 0}},
			{append(append([]byte{5, 1, 0, 4}, v6[:]...), 0, 80), append(append([]byte{5, 0, 0, 4}, v6[:]...), 0, 80)},
		}, "[2001:db8::7]:80", false},
		{"socks5 domain bnd", "socks5://", []exchange{
			{[]byte{5, 1, 0}, []byte{5, 0}},
			{targetReq5, append([]byte{5, 0, 0, 3, 4}, "bind\x00\x01"...)},
		}, target, false},
		{"socks5 auth", "socks5://alice:pw@", []exchange{
			{[]byte{5, 2, 0, 2}, []byte{5, 2}},
			{[]byte{1, 5, 'a', 'l', 'i', 'c', 'e', 2, 'p', 'w'}, []byte{1, 0}},
			{targetReq5, bnd4()},
		}, target, false},
		{"socks5 auth empty password", "socks5://bob@", []exchange{
			{[]byte{5, 2, 0, 2}, []byte{5, 2}},
			{[]byte{1, 3, 'b', 'o', 'b', 0}, []byte{1, 0}},
			{targetReq5, bnd4()},
		}, target, false},
		{"socks5 auth offered, none chosen", "socks5://alice:pw@", []exchange{
			{[]byte{5, 2, 0, 2}, []byte{5, 0}},
			{targetReq5, bnd4()},
		}, target, false},
		{"socks5 reply and banner in one segment", "socks5://", []exchange{
			{[]byte{5, 1, 0}, []byte{5, 0}},
			{targetReq5, append(bnd4(), "BANNER"...)},
		}, target, false},
		{"socks4a domain", "socks4a://", []exchange{
			{targetReq4, []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}},
		}, target, false},
		{"socks4 ipv4 user", "socks4a://carol@", []exchange{
			{[]byte{4, 1, 0, 80, 10, 1, 2, 3, 'c', 'a', 'r', 'o', 'l', 0}, []byte{0, 0x5a, 0, 80, 10, 1, 2, 3}},
		}, "10.1.2.3:80", false},
		{"socks4a ipv6 as name", "socks4a://", []exchange{
			{append([]byte{4, 1, 0, 80, 0, 0, 0, 0xff, 0}, "2001:db8::7\x00"...), []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}},
		}, "[2001:db8::7]:80", false},
		{"socks4 reply and banner", "socks4a://", []exchange{
			{targetReq4, []byte("\x00\x5a\x00\x00\x00\x00\x00\x00BANNER")},
		}, target, false},
		{"http", "http://", []exchange{
			{[]byte("CONNECT echo.test:7 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n")},
		}, target, false},
		{"http auth", "http://u:p@", []exchange{
			{[]byte("CONNECT echo.test:7 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n"), []byte("HTTP/1.0 200 OK\r\n\r\n")},
		}, target, false},
		{"http read-ahead", "http://", []exchange{
			{[]byte("CONNECT echo.test:7 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\nBANNER")},
		}, target, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			banner := bytes.HasSuffix(tc.steps[len(tc.steps)-1].reply, []byte("BANNER"))
			ap := serve(t, "tcp4", script(t, tc.steps, echo))
			st := &stats.Counters{}
			d := New(Options{Stats: st})
			c, err := d.DialString(testCtx(t), tc.target, route.MakeChain(tc.proxy+ap.String()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, isTCP := c.(*net.TCPConn); isTCP == tc.wantBuf {
				t.Fatalf("conn is %T (read-ahead expected: %v)", c, tc.wantBuf)
			}
			if la := c.LocalAddr().(*net.TCPAddr).AddrPort(); la.Addr() != ap.Addr() {
				t.Errorf("LocalAddr %v", la)
			}
			if banner {
				_ = c.SetDeadline(time.Now().Add(serveDeadline))
				got := make([]byte, 6)
				if _, err := io.ReadFull(c, got); err != nil || string(got) != "BANNER" {
					t.Fatalf("banner %q %v", got, err)
				}
			}
			roundTrip(t, c, "through "+tc.name)
			var tx, rx uint64
			for i, s := range tc.steps {
				tx += uint64(len(s.expect))
				rx += uint64(len(s.reply))
				if i == len(tc.steps)-1 && banner {
					rx -= 6
				}
			}
			if st.ClientTx.Load() != tx || st.ClientRx.Load() != rx {
				t.Errorf("handshake bytes tx %d rx %d, want %d %d", st.ClientTx.Load(), st.ClientRx.Load(), tx, rx)
			}
		})
	}
}

func TestDialProxyFailures(t *testing.T) {
	req5 := []byte{5, 1, 0, 1, 192, 0, 2, 1, 0, 80}
	req4 := []byte{4, 1, 0, 80, 192, 0, 2, 1, 0}
	reqH := []byte("CONNECT 192.0.2.1:80 HTTP/1.1\r\n\r\n")
	tests := []struct {
		name  string
		proxy string
		steps []exchange
		kind  Kind
	}{
		{"socks5 no acceptable method", "socks5://u:p@", []exchange{{[]byte{5, 2, 0, 2}, []byte{5, 0xff}}}, ProxyAuth},
		{"socks5 unoffered auth", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 2}}}, ProxyProtocol},
		{"socks5 bad version", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{4, 0}}}, ProxyProtocol},
		{"socks5 auth failed", "socks5://u:p@", []exchange{
			{[]byte{5, 2, 0, 2}, []byte{5, 2}}, {[]byte{1, 1, 'u', 1, 'p'}, []byte{1, 1}}}, ProxyAuth},
		{"socks5 not allowed", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 0}}, {req5, []byte{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}}}, ProxyRejected},
		{"socks5 refused", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 0}}, {req5, []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}}}, ProxyRefused},
		{"socks5 general failure", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 0}}, {req5, []byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0}}}, ProxyProtocol},
		{"socks5 host unreachable", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 0}}, {req5, []byte{5, 4, 0, 1}}}, ProxyProtocol},
		{"socks5 user too long", "socks5://" + strings.Repeat("u", 256) + ":p@", []exchange{{[]byte{5, 2, 0, 2}, []byte{5, 2}}}, ProxyAuth},
		{"socks5 password too long", "socks5://u:" + strings.Repeat("p", 256) + "@", []exchange{{[]byte{5, 2, 0, 2}, []byte{5, 2}}}, ProxyAuth},
		{"socks5 eof at once", "socks5://", []exchange{{[]byte{5, 1, 0}, nil}}, UnexpectedEOF},
		{"socks5 eof mid method", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5}}}, UnexpectedEOF},
		{"socks5 eof mid reply", "socks5://", []exchange{{[]byte{5, 1, 0}, []byte{5, 0}}, {req5, []byte{5, 0, 0, 1, 127}}}, UnexpectedEOF},
		{"socks5 eof mid auth", "socks5://u:p@", []exchange{{[]byte{5, 2, 0, 2}, []byte{5, 2}}, {[]byte{1, 1, 'u', 1, 'p'}, []byte{1}}}, UnexpectedEOF},
		{"socks4 rejected", "socks4a://", []exchange{{req4, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}}}, ProxyRefused},
		{"socks4 identd", "socks4a://", []exchange{{req4, []byte{0, 0x5d, 0, 0, 0, 0, 0, 0}}}, ProxyProtocol},
		{"socks4 bad version", "socks4a://", []exchange{{req4, []byte{4, 0x5a, 0, 0, 0, 0, 0, 0}}}, ProxyProtocol},
		{"socks4 eof mid reply", "socks4a://", []exchange{{req4, []byte{0, 0x5a, 0}}}, UnexpectedEOF},
		{"http 407", "http://", []exchange{{reqH, []byte("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")}}, ProxyAuth},
		{"http 403", "http://", []exchange{{reqH, []byte("HTTP/1.1 403 Forbidden\r\n\r\n")}}, ProxyRejected},
		{"http 502", "http://", []exchange{{reqH, []byte("HTTP/1.1 502 Bad Gateway\r\n\r\n")}}, ProxyRefused},
		{"http 503 status line only", "http://", []exchange{{reqH, []byte("HTTP/1.1 503 Service Unavailable\r\n")}}, ProxyRefused},
		{"http 404", "http://", []exchange{{reqH, []byte("HTTP/1.1 404 Not Found\r\n\r\n")}}, ProxyProtocol},
		{"http garbage", "http://", []exchange{{reqH, []byte("SSH-2.0-OpenSSH\r\n")}}, ProxyProtocol},
		{"http eof mid head", "http://", []exchange{{reqH, []byte("HTTP/1.1 200 OK\r\nVia: x\r\n")}}, UnexpectedEOF},
		{"http eof at once", "http://", []exchange{{reqH, nil}}, UnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ap := serve(t, "tcp4", script(t, tc.steps, nil))
			st := &stats.Counters{}
			c, err := New(Options{Stats: st}).DialString(testCtx(t), "192.0.2.1:80", route.MakeChain(tc.proxy+ap.String()))
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			e := wantKind(t, err, tc.kind)
			if !bytes.Contains([]byte(e.Detail()), []byte(ap.String())) {
				t.Errorf("detail does not name the hop: %s", e.Detail())
			}
			if st.ClientTx.Load() == 0 {
				t.Error("handshake bytes not counted")
			}
		})
	}
}

// TestDialChainFakes checks a three-hop chain over fake upstreams: each
// hop must be asked, in order, for the next hop by its address as given.
func TestDialChainFakes(t *testing.T) {
	target := serve(t, "tcp4", echo)
	hop3 := serve(t, "tcp4", script(t, []exchange{
		{[]byte("CONNECT target.test:" + strconv.Itoa(int(target.Port())) + " HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n")},
	}, relayTo(t, target)))
	hop2name := "hop3.test"
	hop2 := serve(t, "tcp4", script(t, []exchange{
		{append(append([]byte{4, 1, byte(hop3.Port() >> 8), byte(hop3.Port()), 0, 0, 0, 0xff}, "u4\x00"...), hop2name+"\x00"...),
			[]byte{0, 0x5a, 0, 0, 0, 0, 0, 0}},
	}, relayTo(t, hop3)))
	h2 := hop2.Addr().As4()
	hop1 := serve(t, "tcp4", script(t, []exchange{
		{[]byte{5, 1, 0}, []byte{5, 0}},
		{[]byte{5, 1, 0, 1, h2[0], h2[1], h2[2], h2[3], byte(hop2.Port() >> 8), byte(hop2.Port())}, bnd4()},
	}, relayTo(t, hop2)))

	d := New(Options{Proxies: []addr.Proxy{mustProxy(t, "socks5://"+hop1.String())}})
	// A context that is never done: the handshakes must not depend on one.
	c, err := d.DialString(context.Background(), "target.test:"+strconv.Itoa(int(target.Port())),
		route.MakeChain("socks4a://u4@"+hop2.String(), "http://"+hop2name+":"+strconv.Itoa(int(hop3.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("conn %T", c)
	}
	roundTrip(t, c, "three hops")
}

func TestDialStringErrors(t *testing.T) {
	d := New(Options{})
	for _, tc := range []struct {
		name, target string
		hops         []string
	}{
		{"bad target", "no-port", nil},
		{"bad port", "a:99999", nil},
		{"bad scheme", "a:1", []string{"socks4://x:1"}},
		{"bad hop", "a:1", []string{"socks5://x:1", "http://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.DialString(testCtx(t), tc.target, route.MakeChain(tc.hops...))
			wantKind(t, err, InvalidAddr)
		})
	}
}

// TestDialReadAhead checks the read-ahead wrapper: buffered bytes come
// first through Read and WriteTo, and the rest of the stream follows.
func TestDialReadAhead(t *testing.T) {
	ap := serve(t, "tcp4", script(t, []exchange{
		{[]byte("CONNECT a.test:1 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\nHELLO")},
		{nil, []byte("WORLD")},
	}, nil))
	sink := make(chan []byte, 1)
	sinkAddr := serve(t, "tcp4", func(c net.Conn) {
		b, _ := io.ReadAll(c)
		sink <- b
	})
	c, err := New(Options{}).DialString(testCtx(t), "a.test:1", route.MakeChain("http://"+ap.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bc, ok := c.(*bufConn)
	if !ok {
		t.Fatalf("conn %T", c)
	}
	first := make([]byte, 2)
	if _, err := io.ReadFull(bc, first); err != nil || string(first) != "HE" {
		t.Fatalf("read %q %v", first, err)
	}
	out, err := net.Dial("tcp4", sinkAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(out, c) // uses bufConn.WriteTo
	if err != nil || n != 8 {
		t.Fatalf("copy %d %v", n, err)
	}
	out.Close()
	if got := <-sink; string(got) != "LLOWORLD" {
		t.Fatalf("sink got %q", got)
	}
}

// TestDialCancelHandshake cancels (or times out) a dial while the proxy
// sits on the request, and checks the dial gives up with the right kind
// and leaves no goroutine behind.
func TestDialCancelHandshake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxy   string
		expect  []byte
		timeout bool
	}{
		{"socks5 cancel", "socks5://", []byte{5, 1, 0}, false},
		{"socks5 timeout", "socks5://", []byte{5, 1, 0}, true},
		{"socks4 cancel", "socks4a://", []byte{4, 1, 0, 1, 1, 2, 3, 4, 0}, false},
		{"http timeout", "http://", []byte("CONNECT 1.2.3.4:1 HTTP/1.1\r\n\r\n"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan struct{})
			finished := make(chan struct{})
			ap := serve(t, "tcp4", func(c net.Conn) {
				defer close(finished)
				script(t, []exchange{{tc.expect, nil}}, nil)(c)
				close(got)
				drain(c) // until the dialer closes the socket
			})
			before := runtime.NumGoroutine()
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.timeout {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				go func() {
					<-got
					cancel()
				}()
			}
			defer cancel()
			c, err := New(Options{}).DialString(ctx, "1.2.3.4:1", route.MakeChain(tc.proxy+ap.String()))
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			want := Cancelled
			if tc.timeout {
				want = Timeout
			}
			wantKind(t, err, want)
			<-finished // the socket was closed, else drain would wait for serveDeadline
			// Goroutines wind down asynchronously; give them a bounded time.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("goroutines: %d before, %d after", before, n)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	dns := startDNS(t, map[string][]netip.Addr{
		"dual.test.": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		"v4.test.":   {netip.MustParseAddr("127.0.0.2")},
	})
	ns := dns.addr.String()
	tests := []struct {
		name string
		pf   int
		host string
		want string // "" with kind set: error
		kind Kind
	}{
		{"ipv4 literal", config.PFInet6, "192.0.2.1", "192.0.2.1", 0},
		{"ipv6 literal", config.PFInet, "2001:db8::1", "2001:db8::1", 0},
		{"bracketed literal", 0, "[::1]", "::1", 0},
		{"mapped literal", 0, "::ffff:1.2.3.4", "::ffff:1.2.3.4", 0},
		{"-4", config.PFInet, "dual.test.", "127.0.0.1", 0},
		{"-6", config.PFInet6, "dual.test.", "::1", 0},
		{"-6 without AAAA", config.PFInet6, "v4.test.", "", Resolve},
		{"unspec", 0, "v4.test.", "127.0.0.2", 0},
		{"nxdomain", 0, "nope.test.", "", Resolve},
		{"empty", 0, "", "", Resolve},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &stats.Counters{}
			d := New(Options{ResolvePF: tc.pf, Nameserver: ns, Stats: st})
			before := dns.count()
			ip, err := d.Resolve(testCtx(t), tc.host)
			if tc.kind != 0 {
				wantKind(t, err, tc.kind)
			} else if err != nil || ip.String() != tc.want {
				t.Fatalf("got %v %v, want %s", ip, err, tc.want)
			}
			literal := tc.want != "" && tc.want == tc.host || tc.host == "[::1]"
			if literal {
				if st.DNSQuery.Load() != 0 || dns.count() != before {
					t.Errorf("literal queried DNS")
				}
				return
			}
			if tc.host == "" {
				if st.DNSQuery.Load() != 0 || dns.count() != before {
					t.Errorf("empty name queried DNS")
				}
				return
			}
			if dns.count() == before {
				t.Errorf("fake nameserver not asked")
			}
			wantOK := uint64(0)
			if tc.kind == 0 {
				wantOK = 1
			}
			if st.DNSQuery.Load() != 1 || st.DNSSuccess.Load() != wantOK {
				t.Errorf("dns counters %d/%d", st.DNSQuery.Load(), st.DNSSuccess.Load())
			}
		})
	}
	t.Run("unspec dual", func(t *testing.T) {
		ip, err := New(Options{Nameserver: ns}).Resolve(testCtx(t), "dual.test.")
		if err != nil || (ip.String() != "127.0.0.1" && ip.String() != "::1") {
			t.Fatalf("got %v %v", ip, err)
		}
	})
	t.Run("system hosts file", func(t *testing.T) {
		ip, err := New(Options{ResolvePF: config.PFInet}).Resolve(testCtx(t), "localhost")
		if err != nil || !ip.IsLoopback() {
			t.Fatalf("got %v %v", ip, err)
		}
	})
}

// TestDialDomainTarget dials a name through the --nameserver resolver: the
// first hop is resolved locally and the policy applies to its address.
func TestDialDomainTarget(t *testing.T) {
	ap := serve(t, "tcp4", echo)
	dns := startDNS(t, map[string][]netip.Addr{"echo.test.": {netip.MustParseAddr("127.0.0.1")}})
	st := &stats.Counters{}
	d := New(Options{Nameserver: dns.addr.String(), ResolvePF: config.PFInet, Stats: st})
	c, err := d.Dial(testCtx(t), addr.FromDomain("echo.test.", ap.Port()), route.Chain{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "by name")
	c.Close()
	if st.DNSQuery.Load() != 1 || st.DNSSuccess.Load() != 1 {
		t.Errorf("dns counters %d/%d", st.DNSQuery.Load(), st.DNSSuccess.Load())
	}
	blocked := New(Options{Nameserver: dns.addr.String(), Block: Policy{Loopback: true}})
	_, err = blocked.Dial(testCtx(t), addr.FromDomain("echo.test.", ap.Port()), route.Chain{})
	wantKind(t, err, Blocked)
	_, err = d.Dial(testCtx(t), addr.FromDomain("missing.test.", ap.Port()), route.Chain{})
	wantKind(t, err, Resolve)
	// A proxy given by name is resolved; the target behind it is not.
	hop := serve(t, "tcp4", script(t, []exchange{
		{[]byte("CONNECT never-resolved.test:9 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n")},
	}, echo))
	c, err = d.DialString(testCtx(t), "never-resolved.test:9", route.MakeChain("http://echo.test.:"+strconv.Itoa(int(hop.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "named proxy")
	c.Close()
}

func TestParseNameservers(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"1.2.3.4", "[1.2.3.4:53]"},
		{"1.2.3.4:5353,,[2001:db8::1]:54", "[1.2.3.4:5353 [2001:db8::1]:54]"},
		{"2001:db8::1", "[[2001:db8::1]:53]"},
		{"[2001:db8::1]", "[[2001:db8::1]:53]"},
		{" 8.8.8.8 , 9.9.9.9 ", "[8.8.8.8:53 9.9.9.9:53]"},
	}
	for _, tc := range tests {
		got, err := ParseNameservers(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if s := fmtList(got); s != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, s, tc.want)
		}
	}
	for _, bad := range []string{"", ",", "example.org", "1.2.3.4:0", "1.2.3.4:x", "[::1", "1.2.3.4:70000"} {
		if _, err := ParseNameservers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var logs bytes.Buffer
	d := New(Options{Nameserver: "bogus", Logger: slogTo(&logs)})
	if d.resolver != net.DefaultResolver || !bytes.Contains(logs.Bytes(), []byte("nameserver")) {
		t.Errorf("bad nameserver: resolver replaced or not logged: %s", logs.String())
	}
}

func fmtList(l []netip.AddrPort) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, ap := range l {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ap.String())
	}
	b.WriteByte(']')
	return b.String()
}

func TestOptionsFrom(t *testing.T) {
	c := config.Default()
	c.ResolvePF = config.PFInet6
	c.Nameserver = "127.0.0.1:5353"
	c.Netdev = "eth9"
	c.BlockLoopback, c.BlockLocal = true, true
	c.TCPFastOpenConnect = true
	c.TCPSndBuf, c.TCPRcvBuf = 32768, 65536
	c.Proxy = "socks5://u:p@127.0.0.1:1080,http://[::1]:3128"
	o, err := OptionsFrom(&c)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(o.Proxies); got != fmt.Sprint([]addr.Proxy{mustProxy(t, "socks5://u:p@127.0.0.1:1080"), mustProxy(t, "http://[::1]:3128")}) {
		t.Errorf("proxies %s", got)
	}
	o.Proxies = nil
	want := Options{ResolvePF: config.PFInet6, Nameserver: "127.0.0.1:5353", Netdev: "eth9",
		Block:      Policy{Loopback: true, Multicast: true, Local: true},
		TCPNoDelay: true, TCPKeepAlive: true, FastOpenConnect: true, SndBuf: 32768, RcvBuf: 65536}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v\nwant %+v", o, want)
	}
	// A -x chain that does not parse fails, whatever else is set.
	for _, bad := range []string{"socks6://nowhere:1", "socks4://x", "socks5://a:1,http://"} {
		c.Proxy = bad
		if _, err := OptionsFrom(&c); err == nil {
			t.Errorf("-x %q accepted", bad)
		}
	}
}

func TestDialUnencodableNames(t *testing.T) {
	ap := serve(t, "tcp4", drain)
	d := New(Options{})
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		name, proxy string
		target      addr.Addr
	}{
		{"socks5 name too long", "socks5://", addr.FromDomain(string(long), 80)},
		{"socks4a name with NUL", "socks4a://", addr.FromDomain("a\x00b", 80)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Dial(testCtx(t), tc.target, route.MakeChain(tc.proxy+ap.String()))
			wantKind(t, err, InvalidAddr)
		})
	}
}

// TestDialTrickle has the proxies send their replies one byte per write,
// so the reply readers must assemble them across many reads.
func TestDialTrickle(t *testing.T) {
	trickle := func(steps []exchange) func(net.Conn) {
		return func(c net.Conn) {
			for _, s := range steps {
				got := make([]byte, len(s.expect))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, s.expect) {
					t.Errorf("got % x %v, want % x", got, err, s.expect)
					return
				}
				for i := range s.reply {
					if _, err := c.Write(s.reply[i : i+1]); err != nil {
						return
					}
				}
			}
			echo(c)
		}
	}
	for _, tc := range []struct {
		name, proxy string
		steps       []exchange
	}{
		{"http", "http://u:p@", []exchange{{[]byte("CONNECT a.test:1 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n"),
			[]byte("HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\nVia: y\r\n\r\n")}}},
		{"socks5", "socks5://u:p@", []exchange{
			{[]byte{5, 2, 0, 2}, []byte{5, 2}},
			{[]byte{1, 1, 'u', 1, 'p'}, []byte{1, 0}},
			{append([]byte{5, 1, 0, 3, 6}, "a.test\x00\x01"...), append([]byte{5, 0, 0, 3, 5}, "bound\x00\x02"...)}}},
		{"socks4a", "socks4a://", []exchange{{append([]byte{4, 1, 0, 1, 0, 0, 0, 0xff, 0}, "a.test\x00"...), []byte{0, 0x5a, 0, 1, 2, 3, 4, 5}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ap := serve(t, "tcp4", trickle(tc.steps))
			c, err := New(Options{}).DialString(testCtx(t), "a.test:1", route.MakeChain(tc.proxy+ap.String()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.(*net.TCPConn); !ok {
				t.Errorf("conn %T", c)
			}
			roundTrip(t, c, "trickled "+tc.name)
		})
	}
}
