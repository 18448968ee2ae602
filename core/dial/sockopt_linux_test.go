package dial

import (
	"syscall"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestSetSocketOptionsRawOutsideScheduler checks that the options an event
// loop sets on its raw sockets are set without the scheduler's system call
// bracket, whose entry wakes a sleeping sysmon thread (a thread switch or
// more per dial for a loop that parks between bursts). The oracle is the
// runtime's own execution trace.
func TestSetSocketOptionsRawOutsideScheduler(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	d := New(Options{TCPNoDelay: true, TCPKeepAlive: true})
	for _, ev := range testkit.SyscallBrackets(t, "SetSocketOptions", func() { d.SetSocketOptions(fd, true) }) {
		t.Errorf("SetSocketOptions entered the scheduler's system call bracket:\n%s", ev)
	}
	nodelay, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	keepalive, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	if nodelay == 0 || keepalive == 0 {
		t.Errorf("TCP_NODELAY %d, SO_KEEPALIVE %d: the options were not set", nodelay, keepalive)
	}
}
