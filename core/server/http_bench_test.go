package server

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// BenchmarkHTTPProxyPass measures a proxy_pass GET whose 1 MiB response
// has a Content-Length, end to end over loopback (one connection per
// request, as the proxy serves one request per connection).
func BenchmarkHTTPProxyPass(b *testing.B) {
	const size = 1 << 20
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + strings.Repeat("x", size))
	up := testkit.Serve(b, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		_, _ = c.Write(resp)
	})
	conf := testConfig()
	conf.Listen = ""
	conf.HTTPListen = "127.0.0.1:0"
	ts := startServer(b, conf, nil, nil)
	_, hp := ts.Addrs()
	req := "GET http://" + up + "/ HTTP/1.1\r\n\r\n"
	buf := make([]byte, 64<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", hp.String())
		if err != nil {
			b.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			k, err := c.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
		c.Close()
		if n < size {
			b.Fatalf("short response: %d", n)
		}
	}
}
