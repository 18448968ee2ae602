package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
)

// TestCurlThroughDaemon fetches a page through the daemon binary with
// curl as the client, by every protocol curl speaks to a proxy: SOCKS4,
// SOCKS4A, SOCKS5 with the name resolved by curl and by the proxy, and
// HTTP CONNECT (-p) on --http. Without a ruleset these are the event
// loop's connections on Linux.
func TestCurlThroughDaemon(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	const body = "through the daemon\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 2, "-l", "127.0.0.1:0", "--http", "127.0.0.1:0")
	socks, httpProxy := d.addrs[0], d.addrs[1]
	byIP := "http://127.0.0.1:" + port + "/"
	byName := "http://localhost:" + port + "/"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"socks4", []string{"--socks4", socks, byIP}},
		{"socks4a", []string{"--socks4a", socks, byName}},
		{"socks5", []string{"--socks5", socks, byIP}},
		{"socks5-hostname", []string{"--socks5-hostname", socks, byName}},
		{"http-connect", []string{"-p", "--proxy", "http://" + httpProxy, byIP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "--max-time", "10", "--noproxy", ""}, tc.args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			if err != nil || string(out) != body {
				t.Fatalf("curl %v: %v\n%s\n%s", args, err, out, d.logSnapshot())
			}
		})
	}
}
