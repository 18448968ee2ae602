package server

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
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
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 512)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				setupCycle(b, tc.proxy, tc.req, tc.reply, buf)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// setupCycle opens a tunnel through proxy with req, checks the reply
// (reply bytes, or an HTTP head if reply is 0, or nothing if negative),
// echoes one byte and closes, the client first.
func setupCycle(b testing.TB, proxy string, req []byte, reply int, buf []byte) {
	c, err := net.Dial("tcp4", proxy)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if len(req) > 0 {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
	}
	switch {
	case reply > 0:
		if _, err := io.ReadFull(c, buf[:reply]); err != nil {
			b.Fatal(err)
		}
		// SOCKS4: VN CD; SOCKS5: the method reply, then VER REP.
		if reply == 8 && socks4.Reply(buf[1]) != socks4.Granted || reply > 8 && buf[3] != 0 {
			b.Fatalf("reply % x", buf[:reply])
		}
	case reply == 0:
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
		if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
			b.Fatalf("reply %q", buf[:n])
		}
	}
	if _, err := c.Write([]byte{'x'}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil || buf[0] != 'x' {
		b.Fatalf("echo %q: %v", buf[:1], err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_, _ = c.Read(buf[:1]) // EOF once the relay has finished
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
