// Package testkit holds the fixtures that the tests of several packages
// share: loopback servers (an echo upstream among them), a free or closed
// loopback port, a bounded polling helper, a launcher for third-party
// programs such as microsocks, tinyproxy or danted, and a goroutine-safe
// buffer for captured output.
//
// It lives under core, not in a top-level internal folder, because the
// module's top level is fixed; nothing but tests may import it. It
// depends on the standard library alone, so any
// package of the module may use it without turning the import direction
// (cmd → engines → core) around. Every helper that waits does so under a
// fixed deadline and fails the test when it passes.
package testkit

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Serve listens on an IPv4 loopback port and runs handle on each accepted
// connection in a goroutine of its own, closing the connection when
// handle returns. At the end of the test it closes the listener and waits
// for every handler. It returns the listener's address.
func Serve(tb testing.TB, handle func(c net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// EchoServer echoes every connection until the peer's EOF, then closes
// it. It returns its loopback address.
func EchoServer(tb testing.TB) string {
	tb.Helper()
	return Serve(tb, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// ClosedPort returns an IPv4 loopback address that refuses connections
// for the rest of the test: a TCP socket is bound to it and never
// listens, so a connect gets a reset, and no other listener can take the
// port meanwhile (the socket does not set SO_REUSEADDR, so every other
// bind to the port conflicts). A port merely closed again could be taken
// by another test's listener, and a connect meant to fail would succeed.
func ClosedPort(tb testing.TB) netip.AddrPort {
	tb.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		tb.Fatalf("bound address %T", sa)
	}
	return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port))
}

// FreePort returns a loopback port that was free a moment ago, for a
// program that must be told its port before it starts.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// WaitFor polls cond every 5 ms for up to 5 seconds and fails the test,
// naming what it waited for, when cond has not become true by then.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer that several goroutines may write and read
// at once, for capturing logs and printed output.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// GoroutinesCreated reads the process's count of goroutines ever created
// (runtime/metrics), for tests that check goroutines are reused; it skips
// the test where the runtime does not report it.
func GoroutinesCreated(tb testing.TB) uint64 {
	tb.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		tb.Skip("runtime does not report /sched/goroutines-created")
	}
	return s[0].Value.Uint64()
}

// CPUTime is the process's user and system time so far, for benchmarks
// that report CPU per operation beside wall time: on a shared machine a
// steadier measure of work per operation. It includes the test's client
// and target, the same for every variant of a benchmark.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SetupCycle is one proxy set-up as the set-up benchmarks measure it: it
// connects to proxy, writes req (greeting and request in one write),
// reads and checks the reply, echoes one byte through the tunnel, and
// closes, the client first, waiting for the relay's end. reply is the
// reply's length in bytes (8 a SOCKS4 reply, whose second byte must be
// 0x5a granted; more a SOCKS5 method reply and reply, whose fourth byte
// must be 0 succeeded), 0 for an HTTP head that must say 200, or negative
// for none (a target without a proxy). buf holds the reply; 512 bytes
// serve every protocol.
func SetupCycle(tb testing.TB, proxy string, req []byte, reply int, buf []byte) {
	c, err := net.Dial("tcp4", proxy)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if len(req) > 0 {
		if _, err := c.Write(req); err != nil {
			tb.Fatal(err)
		}
	}
	switch {
	case reply > 0:
		if _, err := io.ReadFull(c, buf[:reply]); err != nil {
			tb.Fatal(err)
		}
		if reply == 8 && buf[1] != 0x5a || reply > 8 && buf[3] != 0 {
			tb.Fatalf("reply % x", buf[:reply])
		}
	case reply == 0:
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			k, err := c.Read(buf[n:])
			if err != nil {
				tb.Fatal(err)
			}
			n += k
		}
		// Compared as bytes: a string would be an allocation of the
		// client's that the direct cycle, subtracted from it, lacks.
		if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200")) {
			tb.Fatalf("reply %q", buf[:n])
		}
	}
	if _, err := c.Write([]byte{'x'}); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil || buf[0] != 'x' {
		tb.Fatalf("echo %q: %v", buf[:1], err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_, _ = c.Read(buf[:1]) // the end of input once the relay has finished
}
