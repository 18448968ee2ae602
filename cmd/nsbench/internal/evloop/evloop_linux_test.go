//go:build linux

package evloop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// wait bounds every exchange of these tests, so that a loop that stops
// answering fails the test instead of hanging it.
const wait = 10 * time.Second

type fixture struct {
	socks, http netip.AddrPort // the loop's listeners
	sink4       netip.AddrPort // the sink on 127.0.0.1
	sink6       netip.AddrPort // the sink on ::1, if the machine has it
}

// start runs a sink and a loop configured by c (its listeners on
// 127.0.0.1 port 0) until the test ends.
func start(t testing.TB, c Config) *fixture {
	t.Helper()
	var f fixture
	ctx, cancel := context.WithCancel(context.Background())
	lns, err := sink.Listen([]string{"127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	f.sink4 = lns[0].Addr().(*net.TCPAddr).AddrPort()
	if l6, err := sink.Listen([]string{"[::1]:0"}); err == nil {
		lns = append(lns, l6...)
		f.sink6 = l6[0].Addr().(*net.TCPAddr).AddrPort()
	}
	sinkDone := make(chan struct{})
	go func() { sink.Serve(ctx, lns); close(sinkDone) }()

	c.Listen = netip.MustParseAddrPort("127.0.0.1:0")
	c.HTTP = netip.MustParseAddrPort("127.0.0.1:0")
	ready := make(chan []netip.AddrPort, 1)
	c.Ready = func(a []netip.AddrPort) { ready <- a }
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, c) }()
	select {
	case a := <-ready:
		f.socks, f.http = a[0], a[1]
	case err := <-served:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(wait):
		t.Fatal("the loop did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(wait):
			t.Error("Serve did not return after its context ended")
		}
		<-sinkDone
	})
	return &f
}

// dialSOCKS5 opens a tunnel with golang.org/x/net/proxy's client.
func dialSOCKS5(t *testing.T, f *fixture, target string) net.Conn {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", f.socks.String(), nil, &net.Dialer{Timeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial("tcp", target)
	if err != nil {
		t.Fatalf("SOCKS5 dial %s: %v", target, err)
	}
	c.SetDeadline(time.Now().Add(wait))
	return c
}

// echo sends a payload through the sink's echo mode, closes its write
// half, and expects the payload back followed by the end of input: the
// client's half-close must reach the sink, and the sink's close must come
// back as the end of the tunnel.
func echo(t *testing.T, c net.Conn, size int) {
	t.Helper()
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(append([]byte{sink.ModeEcho}, payload...))
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo: %v (after %d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echo: got %d bytes, want %d (equal prefix: %v)", len(got), len(payload), bytes.HasPrefix(payload, got))
	}
}

func TestSOCKS5ClientClosesFirst(t *testing.T) {
	for _, c := range []Config{{}, {RuntimeSyscalls: true}, {Park: true}} {
		t.Run(fmt.Sprintf("runtime-syscalls=%v,park=%v", c.RuntimeSyscalls, c.Park), func(t *testing.T) {
			f := start(t, c)
			baseline := socketCount(t)
			targets := []string{f.sink4.String(), net.JoinHostPort("localhost", fmt.Sprint(f.sink4.Port()))}
			if f.sink6.IsValid() {
				targets = append(targets, f.sink6.String())
			}
			for _, target := range targets {
				for _, size := range []int{1, 100 << 10, 3 << 20} {
					c := dialSOCKS5(t, f, target)
					echo(t, c, size)
					c.Close()
				}
			}
			waitNoTunnels(t, baseline)
		})
	}
}

func TestSOCKS5ServerClosesFirst(t *testing.T) {
	f := start(t, Config{})
	baseline := socketCount(t)
	for i := range 20 {
		c := dialSOCKS5(t, f, f.sink4.String())
		msg := []byte(fmt.Sprintf("one-shot %d", i))
		if _, err := c.Write(append([]byte{sink.ModeOneShot, byte(len(msg))}, msg...)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c) // the sink closes after its echo
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("got %q, %v; want %q and the end of input", got, err, msg)
		}
		// The client's write half is still open: the tunnel must end
		// only once the client closes too.
		if _, err := c.Write([]byte("late")); err != nil {
			t.Fatalf("write after the server's close: %v", err)
		}
		c.Close()
	}
	waitNoTunnels(t, baseline)
}

// waitNoTunnels waits until the process holds no more sockets than
// before (baseline, from socketCount), i.e. every tunnel was closed on
// both sides. It gives up after wait.
func waitNoTunnels(t *testing.T, baseline int) {
	t.Helper()
	n := 0
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = socketCount(t); n <= baseline {
			return
		}
	}
	t.Fatalf("%d sockets open, %d before the tunnels: some tunnel was not closed", n, baseline)
}

// socketCount counts the sockets among this process's descriptors.
func socketCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func TestSOCKS5Refused(t *testing.T) {
	f := start(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close() // nothing listens there now: the connect is refused
	if got := socks5Reply1(t, f, socks5IPv4(closed)); got != 0x05 {
		t.Fatalf("reply code %#x, want 0x05 (connection refused)", got)
	}
	if got := socks5Reply1(t, f, socks5IPv4(netip.MustParseAddrPort("192.0.2.1:80"))); got != 0x02 {
		t.Fatalf("reply code %#x for a target off the loopback, want 0x02 (not allowed)", got)
	}
	if got := socks5Reply1(t, f, []byte{9, 1, 2}); got != 0x08 {
		t.Fatalf("reply code %#x for address type 9, want 0x08", got)
	}
}

func TestSOCKS5NameFailures(t *testing.T) {
	f := start(t, Config{
		Timeout: 300 * time.Millisecond,
		Lookup: func(ctx context.Context, name string) (netip.Addr, error) {
			if name == "slow.test" {
				<-ctx.Done() // until the half-open phase expires
				return netip.Addr{}, ctx.Err()
			}
			return netip.Addr{}, errors.New("no such host")
		},
	})
	name := func(n string) []byte { return append([]byte{3, byte(len(n))}, append([]byte(n), 0, 80)...) }
	if got := socks5Reply1(t, f, name("nowhere.test")); got != 0x04 {
		t.Fatalf("reply code %#x for an unknown name, want 0x04 (host unreachable)", got)
	}
	if got := socks5Reply1(t, f, name("slow.test")); got != 0x06 {
		t.Fatalf("reply code %#x for a lookup past the timeout, want 0x06 (TTL expired)", got)
	}
}

// socks5Reply1 greets and requests a CONNECT to atypAddr (ATYP, address
// and port), sending both at once, and returns the reply code.
func socks5Reply1(t *testing.T, f *fixture, atypAddr []byte) byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", f.socks.String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(append([]byte{5, 1, 0, 5, 1, 0}, atypAddr...)); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	if _, err := io.ReadFull(c, b[:2]); err != nil || b != [4]byte{5, 0} {
		t.Fatalf("method reply %x, %v", b[:2], err)
	}
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 5 {
		t.Fatalf("reply %x, %v", b, err)
	}
	return b[1]
}

func socks5IPv4(ap netip.AddrPort) []byte {
	ip := ap.Addr().As4()
	return append(append([]byte{1}, ip[:]...), byte(ap.Port()>>8), byte(ap.Port()))
}

func TestSOCKS4AndHTTP(t *testing.T) {
	f := start(t, Config{})
	port := f.sink4.Port()
	requests := []struct {
		name  string
		to    netip.AddrPort
		req   []byte
		reply []byte
	}{
		{"socks4", f.socks, append([]byte{4, 1, byte(port >> 8), byte(port), 127, 0, 0, 1}, "u\x00"...), []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}},
		{"socks4a", f.socks, append([]byte{4, 1, byte(port >> 8), byte(port), 0, 0, 0, 1}, "u\x00localhost\x00"...), []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}},
		{"http on -l", f.socks, []byte(fmt.Sprintf("CONNECT localhost:%d HTTP/1.1\r\nHost: x\r\n\r\n", port)), []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
		{"http on --http", f.http, []byte(fmt.Sprintf("CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", port)), []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", r.to.String(), wait)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(wait))
			if _, err := c.Write(r.req); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(r.reply))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, r.reply) {
				t.Fatalf("reply %q, %v; want %q", got, err, r.reply)
			}
			echo(t, c, 64<<10)
		})
	}
	c, err := net.DialTimeout("tcp", f.http.String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(c, "GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n\r\n", port)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 405 {
		t.Fatalf("GET through the CONNECT-only listener: %v, %v; want 405", resp, err)
	}
}

// TestHalfOpenExpires checks that a client that sends nothing is closed
// once the half-open timeout passes.
func TestHalfOpenExpires(t *testing.T) {
	for _, park := range []bool{false, true} {
		t.Run(fmt.Sprintf("park=%v", park), func(t *testing.T) {
			f := start(t, Config{Timeout: 200 * time.Millisecond, Park: park})
			for range 3 { // one after the other: each expiry arms the next
				c, err := net.DialTimeout("tcp", f.socks.String(), wait)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(wait))
				if n, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("read %d bytes, %v; want the end of input", n, err)
				}
				c.Close()
			}
		})
	}
}

// TestCurl runs curl, when installed, through each protocol against an
// HTTP server.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	f := start(t, Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "through the loop")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, args := range [][]string{
		{"--socks5", f.socks.String(), fmt.Sprintf("http://127.0.0.1:%d/", port)},
		{"--socks5-hostname", f.socks.String(), fmt.Sprintf("http://localhost:%d/", port)},
		{"--socks4a", f.socks.String(), fmt.Sprintf("http://localhost:%d/", port)},
		{"-p", "--proxy", "http://" + f.http.String(), fmt.Sprintf("http://localhost:%d/", port)},
	} {
		cmd := exec.Command(curl, append([]string{"-sS", "--max-time", "10", "--noproxy", ""}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "through the loop" {
			t.Errorf("curl %v: %q, %v", args, out, err)
		}
	}
}

// TestStopWithOpenTunnels ends Serve's context while tunnels are open and
// a lookup is in progress: Serve must still return (the fixture's cleanup
// waits for it) and close the tunnels.
func TestStopWithOpenTunnels(t *testing.T) {
	for _, park := range []bool{false, true} {
		t.Run(fmt.Sprintf("park=%v", park), func(t *testing.T) { testStopWithOpenTunnels(t, park) })
	}
}

func testStopWithOpenTunnels(t *testing.T, park bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := make(chan struct{}, 1)
	lns, err := sink.Listen([]string{"127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	go sink.Serve(ctx, lns)
	sinkAddr := lns[0].Addr().(*net.TCPAddr).AddrPort()
	ready := make(chan []netip.AddrPort, 1)
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, Config{
			Listen: netip.MustParseAddrPort("127.0.0.1:0"),
			Park:   park,
			Ready:  func(a []netip.AddrPort) { ready <- a },
			Lookup: func(ctx context.Context, _ string) (netip.Addr, error) {
				asked <- struct{}{}
				<-ctx.Done() // until Serve gives up on it
				return netip.Addr{}, ctx.Err()
			},
		})
	}()
	f := &fixture{sink4: sinkAddr}
	select {
	case a := <-ready:
		f.socks = a[0]
	case <-time.After(wait):
		t.Fatal("the loop did not start")
	}
	var tunnels []net.Conn
	for range 20 {
		c := dialSOCKS5(t, f, sinkAddr.String())
		defer c.Close()
		if _, err := c.Write([]byte{sink.ModeEcho}); err != nil {
			t.Fatal(err)
		}
		tunnels = append(tunnels, c)
	}
	waiting, err := net.DialTimeout("tcp", f.socks.String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	waiting.Write([]byte{5, 1, 0, 5, 1, 0, 3, 4, 'n', 'a', 'm', 'e', 0, 80})
	select {
	case <-asked:
	case <-time.After(wait):
		t.Fatal("the name was not looked up")
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after its context ended")
	}
	for _, c := range tunnels {
		c.SetDeadline(time.Now().Add(wait))
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a tunnel was not closed: %v", err)
		}
	}
}

// With Config.Hosts, a name of that file is answered on the loop (the
// resolver, failing here, is not asked) and other names still go to it.
func TestHostsFile(t *testing.T) {
	hosts := t.TempDir() + "/hosts"
	if err := os.WriteFile(hosts, []byte("127.0.0.1 hosts.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, park := range []bool{false, true} {
		f := start(t, Config{Hosts: hosts, Park: park, Lookup: func(context.Context, string) (netip.Addr, error) {
			return netip.Addr{}, errors.New("the resolver was asked")
		}})
		c := dialSOCKS5(t, f, net.JoinHostPort("hosts.test", fmt.Sprint(f.sink4.Port())))
		echo(t, c, 10)
		c.Close()
		name := []byte("other.test")
		if got := socks5Reply1(t, f, append(append([]byte{3, byte(len(name))}, name...), 0, 80)); got != 0x04 {
			t.Fatalf("reply code %#x for a name outside the file, want 0x04 from the resolver", got)
		}
	}
}
