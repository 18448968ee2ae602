package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestDaemonSOCKS4UserIDUnderAuthRequired runs the daemon with
// --auth-required and a libruleset ruleset or a route table that admits
// the user ID "robot" without a password, and sends SOCKS4A requests with
// user IDs: the ID alone admits robot, and nobody else.
func TestDaemonSOCKS4UserIDUnderAuthRequired(t *testing.T) {
	echo := testkit.EchoServer(t)
	dir := t.TempDir()
	files := map[string]string{
		"ruleset.lua": fmt.Sprintf(`local ruleset = require("libruleset")
_G.secrets = { robot = true, alice = "s3cret" }
_G.route_default = { rule.redirect(%q) }
return ruleset
`, echo),
		"table.nrt": fmt.Sprintf("users { robot = any  alice = \"s3cret\" }\ndefault => redirect %s\n", echo),
	}
	for name, body := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, 1, "-l", "127.0.0.1:0", "--auth-required", "-r", path)
			for _, tc := range []struct {
				user    string
				granted bool
			}{{"robot", true}, {"alice", false}, {"", false}, {"mallory", false}} {
				if got := socks4aGranted(t, d.addrs[0], tc.user, "echo.test:80"); got != tc.granted {
					t.Errorf("user id %q: granted %t, want %t\n%s", tc.user, got, tc.granted, d.log)
				}
			}
		})
	}
}

// socks4aGranted sends a SOCKS4A CONNECT with user ID user and reports
// whether the proxy granted it; a granted tunnel must echo.
func socks4aGranted(t *testing.T, proxyAddr, user, hostport string) bool {
	t.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(port, &p)
	req := []byte{4, 1, byte(p >> 8), byte(p), 0, 0, 0, 1}
	req = append(append(req, user...), 0)
	req = append(append(req, host...), 0)
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 8)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if reply[1] != 0x5a {
		return false
	}
	fmt.Fprint(c, "id")
	back := make([]byte, 2)
	if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, []byte("id")) {
		t.Fatalf("echo %q: %v", back, err)
	}
	return true
}
