package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// sinkServer counts the bytes of each connection until EOF and answers
// with the count (8 bytes, big endian).
func sinkServer(tb testing.TB) string {
	tb.Helper()
	return testkit.Serve(tb, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		_ = binary.Write(c, binary.BigEndian, n)
	})
}

// relayFunc relays between an accepted client and a dialed upstream.
type relayFunc func(client, up *net.TCPConn)

// bareRelay is a plain TCP relay with relay as the copy loop: the
// baseline the proxy's relay is measured against.
func bareRelay(tb testing.TB, to string, relay relayFunc) string {
	tb.Helper()
	return testkit.Serve(tb, func(c net.Conn) {
		up, err := net.Dial("tcp4", to)
		if err != nil {
			return
		}
		defer up.Close()
		relay(c.(*net.TCPConn), up.(*net.TCPConn))
	})
}

// ioCopyPair is the obvious Go relay: io.Copy both ways. Between two
// TCPConns io.Copy splices too.
func ioCopyPair(client, up *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, client)
		_ = up.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(client, up)
	_ = client.CloseWrite()
	<-done
}

// hidden strips every method but Read or Write, so io.Copy must use a
// user-space buffer.
type hiddenReader struct{ io.Reader }
type hiddenWriter struct{ io.Writer }

// userCopyPair copies through user-space buffers.
func userCopyPair(client, up *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(hiddenWriter{up}, hiddenReader{client})
		_ = up.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(hiddenWriter{client}, hiddenReader{up})
	_ = client.CloseWrite()
	<-done
}

// pumpThrough sends b.N chunks through a tunnel on c and checks the
// sink's count.
func pumpThrough(b *testing.B, c net.Conn) {
	chunk := make([]byte, 256<<10)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	cpu0 := testkit.CPUTime()
	defer func() {
		b.ReportMetric(float64(testkit.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n != int64(b.N)*int64(len(chunk)) {
		b.Fatalf("sink got %d bytes", n)
	}
}

// BenchmarkRelay measures bulk throughput client → relay → sink over
// loopback: the proxy's relay (after a SOCKS5 handshake), a bare io.Copy
// pair (which also splices) and a user-space copy for reference.
func BenchmarkRelay(b *testing.B) {
	sink := sinkServer(b)
	b.Run("proxy", func(b *testing.B) {
		ts := startServer(b, testConfig(), nil, nil)
		c := dialProxy(b, ts.addr)
		_ = c.SetDeadline(noDeadline)
		mustWrite(b, c, append([]byte{5, 1, 0}, connectReq(b, sink)...))
		readN(b, c, 2)
		if r, _ := readReply5(b, c); r != socks5.Succeeded {
			b.Fatal(r)
		}
		pumpThrough(b, c)
	})
	for _, v := range []struct {
		name string
		f    relayFunc
	}{{"io.Copy", ioCopyPair}, {"userspace", userCopyPair}} {
		b.Run(v.name, func(b *testing.B) {
			c := dialProxy(b, bareRelay(b, sink, v.f))
			_ = c.SetDeadline(noDeadline)
			pumpThrough(b, c)
		})
	}
}

// minimalSOCKS5 is a straightforward Go SOCKS5 CONNECT relay (bufio,
// per-connection goroutines, io.Copy): the set-up rate baseline.
func minimalSOCKS5(tb testing.TB) string {
	tb.Helper()
	return testkit.Serve(tb, func(c net.Conn) {
		r := bufio.NewReader(c)
		buf := make([]byte, 262)
		if _, err := io.ReadFull(r, buf[:2]); err != nil {
			return
		}
		if _, err := io.ReadFull(r, buf[:buf[1]]); err != nil {
			return
		}
		if _, err := c.Write([]byte{5, 0}); err != nil {
			return
		}
		if _, err := io.ReadFull(r, buf[:10]); err != nil || buf[3] != 1 {
			return
		}
		req, _, err := socks5.ParseRequest(buf[:10])
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", req.Addr.String())
		if err != nil {
			return
		}
		defer up.Close()
		if _, err := c.Write(socks5.AppendReply(nil, socks5.Succeeded, boundAddr(up.LocalAddr()))); err != nil {
			return
		}
		ioCopyPair(c.(*net.TCPConn), up.(*net.TCPConn))
	})
}

// openTunnel connects to a SOCKS5 proxy, sends req (greeting and CONNECT
// request at once) and requires a successful reply for an IPv4 address.
func openTunnel(b testing.TB, proxyAddr string, req []byte) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp4", proxyAddr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	var reply [12]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil || reply[3] != 0 {
		b.Fatalf("reply % x: %v", reply, err)
	}
	return c
}

// BenchmarkHandshake measures a SOCKS5 greeting + CONNECT + close cycle
// against an echo target, for the proxy and for a minimal Go relay.
func BenchmarkHandshake(b *testing.B) {
	echo := echoServer(b)
	req := append([]byte{5, 1, 0}, connectReq(b, echo)...)
	cycle := func(b *testing.B, proxyAddr string) {
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := testkit.CPUTime()
		defer func() {
			b.ReportMetric(float64(testkit.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		}()
		for i := 0; i < b.N; i++ {
			c := openTunnel(b, proxyAddr, req)
			c.(*net.TCPConn).CloseWrite()
			var one [1]byte
			_, _ = c.Read(one[:]) // wait for the relay to finish
			c.Close()
		}
	}
	b.Run("proxy", func(b *testing.B) {
		ts := startServer(b, testConfig(), nil, nil)
		cycle(b, ts.addr)
	})
	b.Run("minimal", func(b *testing.B) { cycle(b, minimalSOCKS5(b)) })
}

// BenchmarkIdleTunnel reports the memory (heap and goroutine stacks) the
// proxy holds per established, idle tunnel: its two sockets, the relay
// goroutines and the session state. The test's own client socket and the
// echo target's goroutine live in the same process; their cost, measured
// with direct connections to the target, is subtracted.
func BenchmarkIdleTunnel(b *testing.B) {
	echo := echoServer(b)
	ts := startServer(b, testConfig(), nil, nil)
	const n = 200
	req := append([]byte{5, 1, 0}, connectReq(b, echo)...)
	measure := func(open func() net.Conn) float64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		conns := make([]net.Conn, 0, n)
		for j := 0; j < n; j++ {
			conns = append(conns, open())
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		for _, c := range conns {
			c.Close()
		}
		return float64(int64(m1.HeapInuse+m1.StackInuse)-int64(m0.HeapInuse+m0.StackInuse)) / n
	}
	direct := func() net.Conn {
		c, err := net.Dial("tcp4", echo)
		if err != nil {
			b.Fatal(err)
		}
		echoRoundTrip(b, c, "x")
		return c
	}
	tunnel := func() net.Conn {
		c := openTunnel(b, ts.addr, req)
		echoRoundTrip(b, c, "x")
		return c
	}
	var base, all float64
	for i := 0; i < b.N; i++ {
		base += measure(direct)
		all += measure(tunnel)
		testkit.WaitFor(b, "sessions to end", func() bool { return ts.stats.Sessions.Load() == 0 })
	}
	b.ReportMetric((all-base)/float64(b.N), "B/tunnel")
}

// BenchmarkRoutedChain measures a SOCKS5 CONNECT that a router sends
// through two proxy hops (both the minimal relay above) to an echo
// target, plus close. Its allocations per operation show whether the
// hop URIs of a decision are parsed again for every request.
func BenchmarkRoutedChain(b *testing.B) {
	echo := echoServer(b)
	hop1, hop2 := minimalSOCKS5(b), minimalSOCKS5(b)
	chain := route.MakeChain("socks5://"+hop1, "socks5://"+hop2)
	r := route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		return route.Decision{Verdict: route.Forward, Target: req.Addr, Chain: chain}, nil
	})
	ts := startServer(b, testConfig(), r, nil)
	req := append([]byte{5, 1, 0}, connectReq(b, echo)...)
	b.ReportAllocs()
	for b.Loop() {
		c := openTunnel(b, ts.addr, req)
		c.(*net.TCPConn).CloseWrite()
		var one [1]byte
		_, _ = c.Read(one[:]) // wait for the relay to finish
		c.Close()
	}
}
