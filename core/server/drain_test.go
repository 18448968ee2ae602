package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestShutdownDrainsClosedClients runs sessions whose clients send their
// last bytes and close at once (data and FIN together, as the script
// end-to-end tests do), then shuts down: every relay must notice the close
// and end by itself, so Shutdown returns nil instead of the drain context's
// error. It covers the default relay and --pipe.
func TestShutdownDrainsClosedClients(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		for _, pipe := range []bool{false, true} {
			name := "default"
			if pipe {
				name = "pipe"
			}
			t.Run(name, func(t *testing.T) {
				echo := echoServer(t)
				conf := testConfig()
				conf.Pipe = pipe
				ts := startServer(t, conf, nil, nil)
				req := append([]byte{5, 1, 0}, connectReq(t, echo)...)
				for round := 0; round < 20; round++ {
					var open []net.Conn
					for i := 0; i < 8; i++ {
						c, err := net.Dial("tcp4", ts.addr)
						if err != nil {
							t.Fatal(err)
						}
						_ = c.SetDeadline(time.Now().Add(5 * time.Second))
						mustWrite(t, c, req)
						readN(t, c, 12)
						echoRoundTrip(t, c, "ping")
						open = append(open, c)
					}
					for _, c := range open {
						mustWrite(t, c, []byte("bye"))
						c.Close()
					}
					testkit.WaitFor(t, "sessions to end", func() bool { return ts.stats.Sessions.Load() == 0 })
				}
				c := dialProxy(t, ts.addr)
				mustWrite(t, c, req)
				readN(t, c, 12)
				mustWrite(t, c, []byte("last"))
				c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := ts.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v (a relay did not see its client close)", err)
				}
			})
		}
	})
}
