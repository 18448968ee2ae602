package testkit

import (
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// StartProgram runs the installed program name in the foreground, in a
// process group of its own, until the test ends, and waits up to
// 10 seconds for it to accept connections on 127.0.0.1:port. The test is
// skipped when the program is not installed. Cleanup sends SIGTERM to the
// group (the program and anything it forked), SIGKILL after 5 seconds,
// and reaps it; the program's output is logged when the test failed.
func StartProgram(tb testing.TB, port int, name string, args ...string) {
	tb.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("%s not installed", name)
	}
	// The program writes through a pipe that exec copies from in a
	// goroutine of its own, so the buffer must be safe to read meanwhile.
	var out SyncBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, out.String())
		}
	})
	a := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", a, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			tb.Fatalf("%s exited: %s", name, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not listening on %s: %v\n%s", name, a, err, out.String())
		}
	}
}
