//go:build linux

package splice

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// chain is one relayed path: client ⇄ (relayIn | relayOut) ⇄ sink, all
// loopback TCP. Relay code copies between relayIn and relayOut.
type chain struct {
	client, relayIn, relayOut, sink *net.TCPConn
}

func (c *chain) close() {
	for _, x := range []*net.TCPConn{c.client, c.relayIn, c.relayOut, c.sink} {
		if x != nil {
			_ = x.Close()
		}
	}
}

// tcpPair returns the two ends of one loopback TCP connection.
func tcpPair(tb testing.TB) (dialed, accepted *net.TCPConn) {
	tb.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   *net.TCPConn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.AcceptTCP()
		ch <- res{c, err}
	}()
	d, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		tb.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		tb.Fatal(r.err)
	}
	return d, r.c
}

func newChain(tb testing.TB) *chain {
	tb.Helper()
	client, relayIn := tcpPair(tb)
	relayOut, sink := tcpPair(tb)
	c := &chain{client: client, relayIn: relayIn, relayOut: relayOut, sink: sink}
	tb.Cleanup(c.close)
	return c
}

// openFDs counts this process's open descriptors.
func openFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("cannot list descriptors: %v", err)
	}
	return len(ents)
}

// settleGoroutines waits (bounded) for the goroutine count to drop to
// at most want and returns the last count seen.
func settleGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}
