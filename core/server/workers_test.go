package server

import (
	"net"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestSetupReusesGoroutines checks that sequential set-ups run their
// handlers on parked workers: each set-up then starts only its two relay
// goroutines (which stay small), where without reuse it starts three and
// grows the handler's fresh stack.
func TestSetupReusesGoroutines(t *testing.T) {
	withLoop(t, false) // the goroutine path's handlers; the loop starts none
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
		testkit.WaitFor(t, "the set-up to settle", func() bool {
			return ts.stats.Sessions.Load() == 0 && ts.workers.Idle() > 0
		})
	}
	for range 3 {
		cycle()
	}
	const n = 20
	before := testkit.GoroutinesCreated(t)
	for range n {
		cycle()
	}
	// The echo target starts one goroutine per connection, the proxy two
	// relay goroutines per set-up.
	// A worker counts itself idle just before it waits on the task
	// channel; a set-up that comes in that window starts a goroutine of
	// its own (correct, only not reused). The settle check cannot see the
	// window, so a few such starts are allowed: a handler started per
	// set-up would be n.
	handlers := int64(testkit.GoroutinesCreated(t)-before) - 3*n
	if handlers > n/4 {
		t.Errorf("%d set-ups started %d goroutines beyond their relays'", n, handlers)
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
