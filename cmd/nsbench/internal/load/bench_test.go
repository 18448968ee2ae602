package load

import (
	"testing"
)

// BenchmarkSetup is one set-up cycle of the set-up phase per iteration
// (connect, handshake, CONNECT, 31-byte one-shot echo through the sink,
// close) through the in-process server: the client's and the server's
// cost together.
func BenchmarkSetup(b *testing.B) {
	for _, p := range []Proto{SOCKS5IP, SOCKS5Host, SOCKS4A, HTTP} {
		b.Run(string(p), func(b *testing.B) {
			port := startSinkTB(b)
			socksAddr, httpAddr := startDaemonTB(b, nil)
			benchSetupCycles(b, newClientTB(b, p, socksAddr, httpAddr, port))
		})
	}
}

// benchSetupCycles runs the set-up phase's cycle once per iteration with
// c: a tunnel opened, the one-shot payload echoed through the sink, the
// tunnel closed.
func benchSetupCycles(b *testing.B, c *Client) {
	payload := []byte(echoPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		conn, _, err := c.Open(i)
		if err != nil {
			b.Fatal(err)
		}
		if err := EchoOneShot(conn, payload, c.timeout); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}
