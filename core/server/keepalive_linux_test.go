package server

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestAcceptedKeepAlive checks SO_KEEPALIVE on the sockets both listeners
// accept, as the kernel reports it: on with tcp_keepalive, off without.
// The option is set once on each listener and inherited (listen.go), so
// this is what tells whether the inheritance holds.
func TestAcceptedKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name string
		on   bool
	}{
		{"on", true},
		{"off", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The test finds the accepted socket among the goroutine
			// path's connections; the loop's inherit the option the same
			// way (accept4 on the same listener).
			withLoop(t, false)
			conf := testConfig()
			conf.HTTPListen = "127.0.0.1:0"
			conf.TCPKeepAlive = tc.on
			ts := startServer(t, conf, nil, nil)
			_, hp := ts.Addrs()
			for _, ln := range []string{ts.addr, hp.String()} {
				got := acceptedKeepAlive(t, ts, ln)
				if got != tc.on {
					t.Errorf("listener %s: accepted socket SO_KEEPALIVE %v, want %v", ln, got, tc.on)
				}
			}
		})
	}
}

// acceptedKeepAlive connects to the listener at ln and reads SO_KEEPALIVE
// from the socket the server accepted, while it waits for a handshake.
func acceptedKeepAlive(t *testing.T, ts *testServer, ln string) bool {
	t.Helper()
	c, err := net.Dial("tcp", ln)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	var accepted *net.TCPConn
	testkit.WaitFor(t, "the server to accept", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		for sc := range ts.conns {
			if sc.RemoteAddr().String() == local {
				accepted = sc.Conn.(*net.TCPConn)
				return true
			}
		}
		return false
	})
	rc, err := accepted.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v != 0
}
