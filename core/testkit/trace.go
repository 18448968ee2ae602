package testkit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"
)

// SyscallBrackets runs fn under the runtime's execution tracer and returns
// the trace's events (each with its stack) in which a goroutine entered
// the scheduler's system call bracket (syscall.Syscall and the calls of
// x/sys/unix, not RawSyscall) with a frame whose name contains under on
// its stack. Entering that bracket wakes the runtime's sysmon thread when
// it sleeps because every processor was idle: code an event loop runs
// right after parking should not. The trace is read back with go tool
// trace; the test is skipped without the go command or when the binary is
// already traced.
func SyscallBrackets(tb testing.TB, under string, fn func()) []string {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command to read the execution trace with")
	}
	if trace.IsEnabled() {
		tb.Skip("the test binary is already traced (-trace)")
	}
	path := filepath.Join(tb.TempDir(), "trace.out")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		tb.Fatal(err)
	}
	fn()
	trace.Stop()
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(goBin, "tool", "trace", "-d=parsed", path).CombinedOutput()
	if err != nil {
		tb.Fatalf("go tool trace: %v\n%s", err, out)
	}
	// An event is a line starting "M=" followed by its stack's lines.
	events := bytes.Split(out, []byte("\nM="))
	if len(events) < 2 {
		tb.Fatalf("go tool trace printed %d events: not the format this reads\n%s", len(events), out)
	}
	var hits []string
	for _, ev := range events {
		if s := string(ev); strings.Contains(s, "Running->Syscall") && strings.Contains(s, under) {
			hits = append(hits, s)
		}
	}
	return hits
}
