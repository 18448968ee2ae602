package dial

import (
	"io"
	"net"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// abort closes c with a reset, so that benchmarks do not pile up sockets
// in TIME_WAIT and run out of ephemeral ports.
func abort(b *testing.B, c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		b.Fatalf("conn %T", c)
	}
	_ = tc.SetLinger(0)
	tc.Close()
}

// BenchmarkDialDirect measures a direct dial (policy check, connect,
// latency sample) plus close.
func BenchmarkDialDirect(b *testing.B) {
	ap := serve(b, "tcp4", drain)
	d := New(Options{Stats: &stats.Counters{}, TCPNoDelay: true, TCPKeepAlive: true})
	target := addr.FromAddrPort(ap)
	ctx := testCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.Dial(ctx, target, route.Chain{})
		if err != nil {
			b.Fatal(err)
		}
		abort(b, c)
	}
}

// socks5Server answers one SOCKS5 CONNECT with username/password
// authentication and a domain target, then waits for the client to close.
func socks5Server(c net.Conn) {
	buf := make([]byte, 512)
	read := func(n int) []byte {
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return nil
		}
		return buf[:n]
	}
	if read(4) == nil { // 05 02 00 02
		return
	}
	c.Write([]byte{5, 2})
	h := read(2) // 01 ULEN
	if h == nil {
		return
	}
	u := read(int(h[1]) + 1) // user PLEN
	if u == nil || read(int(u[len(u)-1])) == nil {
		return
	}
	c.Write([]byte{1, 0})
	r := read(5) // 05 01 00 03 LEN
	if r == nil || read(int(r[4])+2) == nil {
		return
	}
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80})
	drain(c)
}

// BenchmarkDialSOCKS5 measures a dial through one SOCKS5 proxy with
// username/password authentication and a domain target: connect, three
// handshake round trips, close.
func BenchmarkDialSOCKS5(b *testing.B) {
	ap := serve(b, "tcp4", socks5Server)
	base := []addr.Proxy{mustProxy(b, "socks5://user:password@"+ap.String())}
	d := New(Options{Proxies: base, Stats: &stats.Counters{}, TCPNoDelay: true, TCPKeepAlive: true})
	ctx := testCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.DialString(ctx, "www.example.org:443", route.Chain{})
		if err != nil {
			b.Fatal(err)
		}
		abort(b, c)
	}
}
