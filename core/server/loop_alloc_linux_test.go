//go:build linux

package server

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestLoopSetupAllocations bounds the proxy's allocations per set-up on
// the event loop, as TestSetupAllocations does on the goroutine path: the
// process's allocations per set-up cycle less the same cycle without the
// proxy (the test's client and echo target alone). With no router, a
// SOCKS5 set-up by IP and a SOCKS5, SOCKS4A or HTTP CONNECT set-up to a
// name of the hosts file allocate nothing: the tunnel's record comes from
// the loop's free list, the name's and the user ID's strings (the whole
// head's for HTTP) from its intern table, the head's headers go to an
// array of the loop's. That holds for the head curl sends too (a
// User-Agent, Proxy-Connection: Keep-Alive). The same head with
// Proxy-Authorization (accepted: credentials are required, and there is
// no router to refuse them) allocates three objects, by design: the
// head's string, which the intern table must not keep, and the user's
// and the password's.
// Their bound, 0.5, fails an allocation every set-up makes and lets one
// that only some make (a free list growing after the warm-up) pass. With a router deciding on a goroutine
// of its own (ownerRouter, whose own allocations are counted too: one
// closure per active forward), forwarding or forwarding actively through
// Request.Connect, the bounds are the counts measured with Go 1.26 plus a
// margin of 1 (the request's Addr, rendered for the router, is two of
// them; the tunnel's record, which such a router holds, one more).
func TestLoopSetupAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	withLoop(t, true)
	echo := echoServer(t)
	echoAP := netip.MustParseAddrPort(echo)
	byIP := append([]byte{5, 1, 0}, connectReq(t, echo)...)
	byName := "localhost:" + strconv.Itoa(int(echoAP.Port()))
	v4a, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: mustTarget(t, byName), UserID: "nsbench"})
	if err != nil {
		t.Fatal(err)
	}
	d := dial.New(dial.Options{ResolvePF: config.PFInet, TCPNoDelay: true})
	hostsName := true
	if ap, answered, err := d.DialTargetNow(addr.FromDomain("localhost", echoAP.Port())); !answered || err != nil || ap != echoAP {
		hostsName = false // the system hosts file does not send localhost to the echo server here
	}
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
		req    []byte
		reply  int
		byName bool
		http   bool // req goes to the --http listener
		auth   bool // the server requires credentials (no router: any are accepted)
		max    float64
	}{
		{"none", func() route.Router { return nil }, byIP, 12, false, false, false, 0.5},
		{"none-socks5-host", func() route.Router { return nil }, append([]byte{5, 1, 0}, connectReq(t, byName)...), 12, true, false, false, 0.5},
		{"none-socks4a", func() route.Router { return nil }, v4a, 8, true, false, false, 0.5},
		{"none-http", func() route.Router { return nil }, []byte("CONNECT " + byName + " HTTP/1.1\r\nHost: " + byName + "\r\n\r\n"), 0, true, true, false, 0.5},
		{"none-http-curl", func() route.Router { return nil }, curlConnect(byName, ""), 0, true, true, false, 0.5},
		{"none-http-auth", func() route.Router { return nil }, curlConnect(byName, basicUserPass), 0, true, true, true, 3 + 0.5},
		{"async-forward", func() route.Router { return newOwnerRouter(t, false) }, byIP, 12, false, false, false, 4 + 1},
		{"async-active", func() route.Router { return newOwnerRouter(t, true) }, byIP, 12, false, false, false, 5 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.byName && !hostsName {
				t.Skip("the system hosts file does not answer localhost with the echo server's address here")
			}
			r := tc.router()
			conf := testConfig()
			conf.HTTPListen = "127.0.0.1:0"
			conf.AuthRequired = tc.auth
			ts := startServer(t, conf, r, d)
			proxy := ts.addr
			if tc.http {
				_, hp := ts.Addrs()
				proxy = hp.String()
			}
			got := perSetup(ts, proxy, tc.req, tc.reply) - direct
			t.Logf("%.2f proxy allocations per set-up", got)
			if got > tc.max {
				t.Errorf("%.2f proxy allocations per set-up, want at most %.1f", got, tc.max)
			}
			if _, async := ts.LoopDecisions(); r != nil && async == 0 {
				t.Error("the loop took no asynchronous decision")
			}
			if tc.byName && ts.loopLookups.Load() != 0 {
				t.Error("a hosts-file name was looked up on a worker")
			}
		})
	}
}
