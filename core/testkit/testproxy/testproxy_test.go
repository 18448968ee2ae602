package testproxy

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// A SOCKS5 client (golang.org/x/net/proxy, the oracle) reaches an echo
// upstream through the started server, and the listener is gone once the
// test has ended.
func TestStart(t *testing.T) {
	var a string
	t.Run("proxy", func(t *testing.T) {
		c := config.Default()
		c.Listen = "127.0.0.1:0"
		c.Timeout = 10
		a = Start(t, &c, nil)
		d, err := proxy.SOCKS5("tcp", a, nil, &net.Dialer{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := d.Dial("tcp", testkit.EchoServer(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "ping"); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4)
		if _, err := io.ReadFull(conn, b); err != nil || string(b) != "ping" {
			t.Fatalf("echo through the proxy: %q, %v", b, err)
		}
	})
	if c, err := net.DialTimeout("tcp", a, 5*time.Second); err == nil {
		c.Close()
		t.Fatal("the proxy still listens after the test ended")
	}
}
