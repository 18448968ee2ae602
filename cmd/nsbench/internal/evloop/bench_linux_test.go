//go:build linux

package evloop

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// BenchmarkSetup is core/server's BenchmarkSetup run against the event
// loop: the same cycle (connect, greeting and request in one write, the
// reply, one echoed byte, the client closes first and waits for the
// relay's end), the same goroutine echo target, the same rows. Its
// figures (allocations per set-up, and callgrind's instructions per
// set-up as cmd/nsbench/EXPERIMENTS.md measures them) compare with that
// benchmark's row for row; the *_rt rows make the loop's non-blocking
// system calls through the scheduler.
//
//	go test -run='^$' -bench=Setup -benchmem ./cmd/nsbench/internal/evloop
func BenchmarkSetup(b *testing.B) {
	echo := testkit.Serve(b, func(c net.Conn) {
		bp := echoBufs.Get().(*[]byte)
		// Plain reads and writes: io.Copy would splice through a pipe.
		_, _ = io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, *bp)
		echoBufs.Put(bp)
		_ = c.(*net.TCPConn).CloseWrite()
	})
	host, port, _ := net.SplitHostPort(echo)
	p, _ := strconv.Atoi(port)
	ip4 := net.ParseIP(host).To4()
	byName := "localhost:" + port
	socks5IP := append([]byte{5, 1, 0, 5, 1, 0, 1}, append(ip4, byte(p>>8), byte(p))...)
	socks5Name := append(append([]byte{5, 1, 0, 5, 1, 0, 3, 9}, "localhost"...), byte(p>>8), byte(p))
	socks4a := append(append([]byte{4, 1, byte(p >> 8), byte(p), 0, 0, 0, 1}, "u\x00localhost"...), 0)
	httpReq := []byte("CONNECT " + byName + " HTTP/1.1\r\nHost: " + byName + "\r\n\r\n")

	fast := start(b, Config{})
	rt := start(b, Config{RuntimeSyscalls: true})
	cases := []struct {
		name  string
		proxy string
		req   []byte
		reply int // the reply's length; 0: an HTTP head; -1: none
	}{
		{"direct", echo, nil, -1},
		{"socks5_ip", fast.socks.String(), socks5IP, 2 + 10},
		{"socks5_host", fast.socks.String(), socks5Name, 2 + 10},
		{"socks4a", fast.socks.String(), socks4a, 8},
		{"http", fast.http.String(), httpReq, 0},
		{"socks5_ip_rt", rt.socks.String(), socks5IP, 2 + 10},
		{"socks5_host_rt", rt.socks.String(), socks5Name, 2 + 10},
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

var echoBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
