package dial

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/trace"
	"strings"
	"syscall"
	"testing"
)

// TestSetSocketOptionsRawOutsideScheduler checks that the options an event
// loop sets on its raw sockets are set without the scheduler's system call
// bracket, whose entry wakes a sleeping sysmon thread (a thread switch or
// more per dial for a loop that parks between bursts). The oracle is the
// runtime's own execution trace, which records every goroutine entering
// that bracket, read back by go tool trace.
func TestSetSocketOptionsRawOutsideScheduler(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to read the execution trace with")
	}
	if trace.IsEnabled() {
		t.Skip("the test binary is already traced (-trace)")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	d := New(Options{TCPNoDelay: true, TCPKeepAlive: true})

	path := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	d.SetSocketOptions(fd, true)
	trace.Stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	nodelay, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	keepalive, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	if nodelay == 0 || keepalive == 0 {
		t.Fatalf("TCP_NODELAY %d, SO_KEEPALIVE %d: the options were not set", nodelay, keepalive)
	}

	out, err := exec.Command(goBin, "tool", "trace", "-d=parsed", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace: %v\n%s", err, out)
	}
	// An event is a line followed by its stack's indented lines.
	var events, inSyscall int
	for ev := range bytes.SplitSeq(out, []byte("\nM=")) {
		events++
		s := string(ev)
		if strings.Contains(s, "Running->Syscall") && strings.Contains(s, "SetSocketOptions") {
			inSyscall++
			t.Errorf("SetSocketOptions entered the scheduler's system call bracket:\n%s", s)
		}
	}
	if events < 2 {
		t.Fatalf("go tool trace printed %d events: not the format this test reads\n%s", events, out)
	}
	t.Logf("%d events, %d of SetSocketOptions in a system call", events, inSyscall)
}
