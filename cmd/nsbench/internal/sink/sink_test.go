package sink

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func startSink(t *testing.T) string {
	t.Helper()
	lns, err := Listen([]string{"127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, lns); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return lns[0].Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestModes(t *testing.T) {
	addr := startSink(t)
	t.Run("echo", func(t *testing.T) {
		c := dial(t, addr)
		io.WriteString(c, "Ehello")
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
			t.Fatalf("echo: %q, %v", got, err)
		}
	})
	t.Run("one-shot closes first", func(t *testing.T) {
		c := dial(t, addr)
		io.WriteString(c, "P\x03abc") // unread bytes would turn the close into a reset
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "abc" {
			t.Fatalf("one-shot: %q, %v; want abc then EOF", got, err)
		}
	})
	t.Run("download", func(t *testing.T) {
		c := dial(t, addr)
		io.WriteString(c, "D")
		n, err := io.ReadFull(c, make([]byte, 3*bufSize))
		if err != nil || n != 3*bufSize {
			t.Fatalf("download: %d, %v", n, err)
		}
	})
	t.Run("upload", func(t *testing.T) {
		c := dial(t, addr)
		if _, err := io.WriteString(c, "U"+strings.Repeat("x", 1<<20)); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Fatalf("upload answered %d bytes, %v", len(got), err)
		}
	})
	t.Run("unknown mode closes", func(t *testing.T) {
		c := dial(t, addr)
		io.WriteString(c, "Z")
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Fatalf("unknown mode: %q, %v", got, err)
		}
	})
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if lns, err := Listen([]string{"127.0.0.1:0", "0.0.0.0:0"}); err == nil {
		for _, ln := range lns {
			ln.Close()
		}
		t.Fatal("Listen accepted 0.0.0.0")
	}
}
