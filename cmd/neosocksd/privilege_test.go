package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestSdNotify checks that sdNotify delivers its state to the datagram
// socket NOTIFY_SOCKET names, as a path and, on Linux, as an abstract
// name written with a leading '@'.
func TestSdNotify(t *testing.T) {
	sockets := map[string]string{"path": filepath.Join(t.TempDir(), "notify")}
	if runtime.GOOS == "linux" {
		sockets["abstract"] = fmt.Sprintf("@neosocksd-test-%d", os.Getpid())
	}
	for name, socket := range sockets {
		t.Run(name, func(t *testing.T) {
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			t.Setenv("NOTIFY_SOCKET", socket)
			sdNotify("READY=1")
			l.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, err := l.Read(buf)
			if err != nil || string(buf[:n]) != "READY=1" {
				t.Fatalf("received %q, %v; want READY=1", buf[:n], err)
			}
		})
	}
}
