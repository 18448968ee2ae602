package testkit

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func dial(t *testing.T, a string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", a, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// The echo upstream returns what it is sent and closes after the
// client's half-close.
func TestEchoServer(t *testing.T) {
	c := dial(t, EchoServer(t))
	defer c.Close()
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// Serve's cleanup waits for every handler, so a test that ends has no
// handler left running.
func TestServeWaitsForHandlers(t *testing.T) {
	var done atomic.Bool
	t.Run("serve", func(t *testing.T) {
		a := Serve(t, func(c net.Conn) {
			_, _ = io.Copy(io.Discard, c)
			time.Sleep(50 * time.Millisecond)
			done.Store(true)
		})
		c := dial(t, a)
		_, _ = io.WriteString(c, "x")
		c.Close()
	})
	if !done.Load() {
		t.Fatal("the handler was still running after the test's cleanup")
	}
}

func TestClosedPort(t *testing.T) {
	ap := ClosedPort(t)
	if !ap.Addr().IsLoopback() {
		t.Fatalf("%v is not loopback", ap)
	}
	c, err := net.DialTimeout("tcp4", ap.String(), 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("%v accepted a connection", ap)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %v: %v, want connection refused", ap, err)
	}
	// no other listener can take the port while the test runs
	if ln, err := net.Listen("tcp4", ap.String()); err == nil {
		ln.Close()
		t.Fatalf("a listener took %v", ap)
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	ln.Close()
}

// WaitFor keeps polling until the condition holds, and returns then.
func TestWaitFor(t *testing.T) {
	calls := 0
	WaitFor(t, "the third call", func() bool {
		calls++
		return calls == 3
	})
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
}

// Concurrent writers lose nothing (and the race detector sees no race).
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("ab"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 8*100*2 {
		t.Fatalf("buffer holds %d bytes, want %d", n, 8*100*2)
	}
}

// StartProgram returns once the program listens, and its cleanup stops
// it: the port is closed again when the test has ended.
func TestStartProgram(t *testing.T) {
	var p int
	t.Run("microsocks", func(t *testing.T) {
		port := FreePort(t)
		StartProgram(t, port, "microsocks", "-i", "127.0.0.1", "-p", strconv.Itoa(port))
		dial(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))).Close()
		p = port // only once the program ran
	})
	if p == 0 {
		return // microsocks is not installed
	}
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("the program still listens after the test ended")
	}
}
