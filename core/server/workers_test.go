package server

import (
	"net"
	"runtime/metrics"
	"testing"
)

// goroutinesCreated reads the process's count of goroutines ever created.
func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("runtime does not report /sched/goroutines-created")
	}
	return s[0].Value.Uint64()
}

// TestSetupReusesGoroutines checks that sequential set-ups run their
// handler and both relay directions on parked workers: without reuse each
// set-up starts three goroutines (and grows three fresh stacks).
func TestSetupReusesGoroutines(t *testing.T) {
	echo := echoServer(t)
	ts := startServer(t, testConfig(), nil, nil)
	req := append([]byte{5, 1, 0}, connectReq(t, echo)...)
	cycle := func() {
		c := dialProxy(t, ts.addr)
		defer c.Close()
		request5Raw(t, c, req)
		echoRoundTrip(t, c, "x")
		_ = c.(*net.TCPConn).CloseWrite()
		var one [1]byte
		_, _ = c.Read(one[:]) // EOF once the relay has finished
		waitFor(t, "session to end", func() bool { return ts.stats.Sessions.Load() == 0 })
	}
	for range 3 {
		cycle()
	}
	const n = 20
	before := goroutinesCreated(t)
	for range n {
		cycle()
	}
	// The echo target starts one goroutine per connection; the proxy
	// may start a few while its previous workers are still finishing.
	proxy := goroutinesCreated(t) - before - n
	t.Logf("proxy goroutines: %d", proxy)
	if proxy > n/2 {
		t.Errorf("%d set-ups started %d proxy goroutines, want at most %d", n, proxy, n/2)
	}
}

// request5Raw sends req (greeting and request at once) and requires the
// method reply and a successful SOCKS5 reply.
func request5Raw(t *testing.T, c net.Conn, req []byte) {
	t.Helper()
	mustWrite(t, c, req)
	readN(t, c, 2)
	if r, _ := readReply5(t, c); r != 0 {
		t.Fatalf("reply %v", r)
	}
}
