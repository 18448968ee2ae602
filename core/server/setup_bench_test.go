package server

import (
	"net"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// BenchmarkSetup measures one set-up on the no-ruleset path of each
// protocol the load harness drives (SOCKS5 by IP and by name, SOCKS4A,
// HTTP CONNECT): connect, request, reply, one echoed byte, both closes.
// The direct row is the same cycle without the proxy (the test's client
// and echo target alone); the proxy's own allocations per set-up are a
// row's allocs/op minus direct's. allocs/op and B/op are what this
// benchmark is for: they do not depend on the machine's load, while ns/op
// and cpu-ns/op do.
//
//	go test -run='^$' -bench=Setup -benchmem ./core/server
func BenchmarkSetup(b *testing.B) {
	echo := echoServer(b)
	_, port, err := net.SplitHostPort(echo)
	if err != nil {
		b.Fatal(err)
	}
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	ts := startServer(b, conf, nil, nil)
	_, hp := ts.Addrs()
	authConf := testConfig()
	authConf.HTTPListen = "127.0.0.1:0"
	authConf.AuthRequired = true
	_, authHP := startServer(b, authConf, nil, nil).Addrs()
	byName := "localhost:" + port
	v4a, err := socks4.AppendRequest(nil, socks4.Request{Command: socks4.Connect, Addr: mustTarget(b, byName), UserID: "u"})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		proxy string
		req   []byte
		reply int // the reply's length; 0: an HTTP head
	}{
		{"direct", echo, nil, -1},
		{"socks5_ip", ts.addr, append([]byte{5, 1, 0}, connectReq(b, echo)...), 2 + 10},
		{"socks5_host", ts.addr, append([]byte{5, 1, 0}, connectReq(b, byName)...), 2 + 10},
		{"socks4a", ts.addr, v4a, 8},
		{"http", hp.String(), []byte("CONNECT " + byName + " HTTP/1.1\r\nHost: " + byName + "\r\n\r\n"), 0},
		{"http_curl", hp.String(), curlConnect(byName, ""), 0},
		{"http_auth", authHP.String(), curlConnect(byName, basicUserPass), 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 512)
			b.ReportAllocs()
			cpu0 := testkit.CPUTime()
			for b.Loop() {
				testkit.SetupCycle(b, tc.proxy, tc.req, tc.reply, buf)
			}
			b.ReportMetric(float64(testkit.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// mustTarget parses a host:port target.
func mustTarget(tb testing.TB, s string) addr.Addr {
	tb.Helper()
	a, err := addr.ParseTarget(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
