//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
	"golang.org/x/net/proxy"
	"golang.org/x/sys/unix"
)

// greet opens a connection to a SOCKS5 listener and sends the method
// greeting. It reports "answered" (the method reply came; the connection
// is returned open, idle in the handshake, holding one of the daemon's
// descriptors), "closed" (EOF or reset: refused) or "hang" (nothing
// within the deadline: the client is left waiting in the listen queue).
func greet(addr string, deadline time.Duration) (string, net.Conn) {
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		return "closed", nil
	}
	c.SetDeadline(time.Now().Add(deadline))
	buf := make([]byte, 2)
	if _, err = c.Write([]byte{5, 1, 0}); err == nil {
		_, err = io.ReadFull(c, buf)
	}
	var ne net.Error
	switch {
	case err == nil && buf[0] == 5 && buf[1] == 0:
		c.SetDeadline(time.Time{})
		return "answered", c
	case errors.As(err, &ne) && ne.Timeout():
		c.Close()
		return "hang", nil
	}
	c.Close()
	return "closed", nil
}

// echoThrough opens a SOCKS5 tunnel to target and checks one echo.
func echoThrough(proxyAddr, target string) error {
	dialer, err := proxy.SOCKS5("tcp", proxyAddr, nil, &net.Dialer{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	c, err := dialer.Dial("tcp", target)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.WriteString(c, "ping"); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	return nil
}

// TestDescriptorExhaustion runs the daemon with 64 descriptors, holds as
// many SOCKS5 handshakes open as it accepts, and checks that the clients
// beyond that and an API request are answered (by a close) instead of
// waiting in the listen queue, that a warning is logged, and that the
// proxy and the API serve again once the held clients are gone.
func TestDescriptorExhaustion(t *testing.T) {
	target := testkit.EchoServer(t)
	d := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0")
	proxyAddr, apiAddr := d.addrs[0], d.addrs[1]
	// Both limits, so that nothing in the daemon can raise the soft one.
	lim := unix.Rlimit{Cur: 64, Max: 64}
	if err := unix.Prlimit(d.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Skip("prlimit:", err)
	}

	const clients = 150
	const wait = 10 * time.Second
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		held   []net.Conn
		wg     sync.WaitGroup
	)
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, c := greet(proxyAddr, wait)
			mu.Lock()
			defer mu.Unlock()
			counts[res]++
			if c != nil {
				held = append(held, c)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d clients with 64 descriptors: %d answered, %d closed, %d unanswered", clients, counts["answered"], counts["closed"], counts["hang"])
	if counts["hang"] > 0 || counts["answered"] == 0 || counts["closed"] == 0 {
		t.Fatalf("want clients answered up to the limit and every other one closed, got %v\n%s", counts, d.logSnapshot())
	}

	// The API is out of descriptors too: a request is refused (closed)
	// or, if a descriptor happens to be free, answered and closed.
	c, err := net.DialTimeout("tcp", apiAddr, wait)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, "GET /healthy HTTP/1.1\r\nConnection: close\r\n\r\n")
	_, err = io.ReadAll(c)
	c.Close()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("API request unanswered while descriptors are exhausted\n%s", d.logSnapshot())
	}

	// Free the descriptors: the next client is served, through a tunnel
	// that needs two.
	mu.Lock()
	for _, c := range held {
		c.Close()
	}
	held = nil
	mu.Unlock()
	freed := time.Now()
	var resumed time.Duration
	for i := 0; ; i++ { // bounded: 250 tries, 20 ms apart
		if echoThrough(proxyAddr, target) == nil {
			resumed = time.Since(freed)
			break
		}
		if i == 250 {
			t.Fatalf("the proxy did not serve again after the tunnels closed\n%s", d.logSnapshot())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("proxy served again %v after the tunnels were closed", resumed)
	if got := apiStatus(t, "http://"+apiAddr+"/healthy", ""); got != 200 {
		t.Fatalf("API /healthy = %d after the exhaustion", got)
	}
	if !strings.Contains(d.logSnapshot(), "queued connections refused") {
		t.Fatalf("no exhaustion warning logged:\n%s", d.logSnapshot())
	}
	t.Logf("exhaustion log:\n%s", grepLines(d.logSnapshot(), "refused"))
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
