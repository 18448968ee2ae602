package evloop

import (
	"context"
	"net/netip"
	"time"
)

// Config configures Serve.
type Config struct {
	// Listen is the SOCKS listener (SOCKS4/4A/5 and HTTP CONNECT, told
	// apart by the first byte, as the daemon's -l does).
	Listen netip.AddrPort
	// HTTP is an optional HTTP CONNECT listener, the daemon's --http.
	HTTP netip.AddrPort
	// Timeout bounds a connection's half-open phase, from accept until the
	// reply has been written (0: 30 s, the daemon's default).
	Timeout time.Duration
	// Resolvers is the number of goroutines that run blocking name
	// lookups (0: 4).
	Resolvers int
	// Lookup resolves a name (nil: net.DefaultResolver, network "ip",
	// first address, as the daemon does without -4/-6).
	Lookup func(ctx context.Context, name string) (netip.Addr, error)
	// Allow, if not nil, must accept a target besides its being on the
	// loopback (the fuzz test keeps to its own sink with it).
	Allow func(netip.AddrPort) bool
	// Hosts, if not empty, is a hosts file read once at start whose
	// names the loop answers itself, without a resolver goroutine (an
	// experiment: no reload, no nsswitch.conf); other names still go to
	// Lookup.
	Hosts string
	// RuntimeSyscalls makes the non-blocking system calls through the
	// scheduler (syscall.Syscall) rather than straight to the kernel.
	RuntimeSyscalls bool
	// Park runs the loop on an ordinary goroutine that, when nothing is
	// ready, parks on the Go runtime's poller (which watches the loop's
	// epoll descriptor) instead of blocking its own locked thread in
	// epoll_wait: other goroutines (the resolvers) then run on the same
	// thread while the loop waits, without a hand-off between threads.
	Park bool
	// Ready, if not nil, is called once the listeners are open, with
	// their addresses (the ports chosen for port 0), -l first.
	Ready func(listening []netip.AddrPort)
}
