package server

import (
	"net"
	"runtime"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestSetupAllocations bounds the proxy's allocations per set-up on the
// no-ruleset path of each protocol: the set-up cycle of BenchmarkSetup,
// counted over the whole process, minus the same cycle without the proxy.
// The bounds are the counts measured with Go 1.26 plus a margin of 1; most
// of what remains is inside net (accept, dial, the resolver), so a Go
// release that changes those may need them raised, after a look at
//
//	go test -run '^$' -bench Setup -benchmem -memprofile m.out -memprofilerate 1 ./core/server
func TestSetupAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	withLoop(t, false) // the goroutine path's bounds; TestLoopSetupAllocations has the loop's
	echo := echoServer(t)
	_, port, err := net.SplitHostPort(echo)
	if err != nil {
		t.Fatal(err)
	}
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	ts := startServer(t, conf, nil, nil)
	_, hp := ts.Addrs()
	authConf := testConfig()
	authConf.HTTPListen = "127.0.0.1:0"
	authConf.AuthRequired = true // no router: any credentials are accepted
	auth := startServer(t, authConf, nil, nil)
	_, authHP := auth.Addrs()
	byName := "localhost:" + port
	v4a, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: mustTarget(t, byName), UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	buf := make([]byte, 512)
	perSetup := func(proxy string, req []byte, reply int) float64 {
		// Each set-up starts when the previous one has ended and its
		// worker has parked, so that none needs a new goroutine.
		srv := ts
		if proxy == authHP.String() {
			srv = auth
		}
		settled := func() bool { return srv.stats.Sessions.Load() == 0 && srv.workers.Idle() > 0 }
		return mallocsPerSetup(t, n, proxy, req, reply, buf, settled)
	}
	ip := append([]byte{5, 1, 0}, connectReq(t, echo)...)
	perSetup(ts.addr, ip, 12) // park a worker before the direct cycle waits for one
	direct := perSetup(echo, nil, -1)
	per := make(map[string]float64) // proxy allocations per set-up, by row
	for _, tc := range []struct {
		name  string
		proxy string
		req   []byte
		reply int
		max   float64
	}{
		{"socks5_ip", ts.addr, ip, 12, 44 + 1},
		{"socks5_host", ts.addr, append([]byte{5, 1, 0}, connectReq(t, byName)...), 12, 65 + 1},
		{"socks4a", ts.addr, v4a, 8, 65 + 1},
		{"http", hp.String(), []byte("CONNECT " + byName + " HTTP/1.1\r\nHost: " + byName + "\r\n\r\n"), 0, 68 + 1},
		{"http_curl", hp.String(), curlConnect(byName, ""), 0, 68 + 1},
		{"http_auth", authHP.String(), curlConnect(byName, basicUserPass), 0, 68 + 2 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := perSetup(tc.proxy, tc.req, tc.reply) - direct
			per[tc.name] = got
			t.Logf("%.1f proxy allocations per set-up", got)
			if got > tc.max {
				t.Errorf("%.1f proxy allocations per set-up, want at most %.0f", got, tc.max)
			}
		})
	}
	// What the head adds, measured against the bare CONNECT of the same
	// run rather than the absolute bounds, which the resolver and net
	// move: curl's hop-by-hop headers (Proxy-Connection) nothing, its
	// credentials the user's and the password's strings.
	for _, d := range []struct {
		name string
		max  float64
	}{{"http_curl", 0.5}, {"http_auth", 2 + 0.5}} {
		if extra := per[d.name] - per["http"]; extra > d.max {
			t.Errorf("%s: %.1f allocations per set-up more than a bare CONNECT, want at most %.1f", d.name, extra, d.max)
		}
	}
}

// mallocsPerSetup runs n set-up cycles through proxy (testkit.SetupCycle
// with req and reply), each after the previous one has settled, and
// returns the process's allocations per cycle. Five cycles first warm
// the pools and free lists.
func mallocsPerSetup(t *testing.T, n int, proxy string, req []byte, reply int, buf []byte, settled func() bool) float64 {
	t.Helper()
	for range 5 {
		testkit.SetupCycle(t, proxy, req, reply, buf)
		testkit.WaitFor(t, "the set-up to settle", settled)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		testkit.SetupCycle(t, proxy, req, reply, buf)
		testkit.WaitFor(t, "the set-up to settle", settled)
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// basicUserPass is "user:pass" in base64, the credentials the tests'
// authenticated CONNECTs carry.
const basicUserPass = "dXNlcjpwYXNz"

// curlConnect is the CONNECT head curl 8 sends for target, with the
// credentials user:pass (base64) when basic is not empty.
func curlConnect(target, basic string) []byte {
	h := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if basic != "" {
		h += "Proxy-Authorization: Basic " + basic + "\r\n"
	}
	return []byte(h + "User-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n")
}
