//go:build linux

package server

import (
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestLoopSetupAllocations bounds the proxy's allocations per SOCKS5
// set-up on the event loop, as TestSetupAllocations does on the goroutine
// path: with no router, and with a router deciding on a goroutine of its
// own (ownerRouter, whose own allocations are counted too: one closure
// per active forward), forwarding or forwarding actively through
// Request.Connect. The bounds are the counts measured with Go 1.26 plus
// a margin of 1 (the request's Addr, rendered for the router, is two of
// them). Before the loop built its accept function once per listener,
// the counts were 3, 10 and 15: two per wake.
func TestLoopSetupAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	withLoop(t, true)
	echo := echoServer(t)
	req := append([]byte{5, 1, 0}, connectReq(t, echo)...)
	const n = 50
	buf := make([]byte, 512)
	perSetup := func(ts *testServer, proxy string, req []byte, reply int) float64 {
		settled := func() bool {
			return ts == nil || ts.stats.Sessions.Load() == 0 && ts.stats.HalfOpen.Load() == 0
		}
		return mallocsPerSetup(t, n, proxy, req, reply, buf, settled)
	}
	direct := perSetup(nil, echo, nil, -1)
	for _, tc := range []struct {
		name   string
		router func() route.Router
		max    float64
	}{
		{"none", func() route.Router { return nil }, 1 + 1}, // the tunnel
		{"async-forward", func() route.Router { return newOwnerRouter(t, false) }, 4 + 1},
		{"async-active", func() route.Router { return newOwnerRouter(t, true) }, 5 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, testConfig(), tc.router(), nil)
			got := perSetup(ts, ts.addr, req, 12) - direct
			t.Logf("%.1f proxy allocations per set-up", got)
			if got > tc.max {
				t.Errorf("%.1f proxy allocations per set-up, want at most %.0f", got, tc.max)
			}
			if _, async := ts.LoopDecisions(); tc.name != "none" && async == 0 {
				t.Error("the loop took no asynchronous decision")
			}
		})
	}
}
