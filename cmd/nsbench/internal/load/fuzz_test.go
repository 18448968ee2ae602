package load

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// replyConn is a proxy that answers with fixed bytes, then EOF, and
// swallows what it is sent.
type replyConn struct {
	net.Conn // nil: only Read and Write are used
	r        *bytes.Reader
}

func (c *replyConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *replyConn) Write(p []byte) (int, error) { return len(p), nil }

// Whatever a proxy answers, the handshakes return without panicking, and
// one that succeeds read a success reply.
func FuzzHandshakeReplies(f *testing.F) {
	f.Add([]byte("\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x4a\x38"))
	f.Add([]byte("\x05\x00\x05\x00\x00\x03\xffname"))
	f.Add([]byte("\x05\x00\x05\x00\x00\x04"))
	f.Add([]byte("\x00\x5a\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nA: b\r\n\r\ndata"))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\n\r\n"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		for _, p := range []Proto{SOCKS5IP, SOCKS5Host, SOCKS4A, HTTP} {
			c, err := NewClient(ClientConfig{Proto: p, Proxy: "127.0.0.1:1",
				Target: Target{IP: netip.MustParseAddr("127.0.0.1"), Host: "localhost", Ports: []uint16{19000}}, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			conn, err := c.handshake(&replyConn{r: bytes.NewReader(reply)}, 19000)
			if err != nil {
				continue
			}
			if conn == nil {
				t.Fatalf("%s: success without a connection", p)
			}
			switch p {
			case SOCKS5IP, SOCKS5Host:
				// the shortest success: the method choice, then a reply
				// whose bound address is an empty name (4 + 1 + 0 + 2)
				if len(reply) < 9 || reply[0] != 5 || reply[1] != 0 || reply[2] != 5 || reply[3] != 0 {
					t.Fatalf("%s: accepted %q", p, reply)
				}
			case SOCKS4A:
				if len(reply) < 8 || reply[1] != 0x5a {
					t.Fatalf("%s: accepted %q", p, reply)
				}
			case HTTP:
				if !bytes.HasPrefix(reply, []byte("HTTP/1.")) || !bytes.Contains(reply, []byte("\n\r\n")) && !bytes.Contains(reply, []byte("\n\n")) {
					t.Fatalf("%s: accepted %q", p, reply)
				}
			}
		}
	})
}
