package main

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify plays systemd for a Type=notify unit: the daemon must
// report READY=1 once it listens, RELOADING=1 then READY=1 around a SIGHUP
// reload, and STOPPING=1 when it is told to stop.
func TestSystemdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	next := func(want string) {
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(15 * time.Second))
		buf := make([]byte, 512)
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if got := string(buf[:n]); got != want {
			t.Fatalf("notification %q, want %q", got, want)
		}
	}
	d := startDaemon(t, 1, "-l", "127.0.0.1:0")
	next("READY=1")
	d.cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1")
	next("READY=1")
	if st := d.stop(t, syscall.SIGTERM); st != 0 {
		t.Fatalf("exit status %d\n%s", st, d.log)
	}
	next("STOPPING=1")
}
