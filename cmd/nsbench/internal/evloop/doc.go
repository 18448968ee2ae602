// Package evloop is an experiment of issue 15: a SOCKS4/4A/5 and HTTP
// CONNECT proxy core written as one event loop on raw epoll, the design of
// the C original, so that its cost per set-up can be measured beside the
// daemon's goroutine-per-connection path through the same harness.
//
// One goroutine, locked to its OS thread, owns every descriptor and every
// tunnel: it accepts, reads the handshake into a buffer lent only while the
// handshake lasts, parses it with the codecs of core/proto, connects to the
// target without blocking, replies and then relays both directions with
// read and write on non-blocking sockets. Descriptors are registered once,
// edge-triggered for input and output, so a set-up makes no epoll_ctl call
// beyond the two additions. The only other goroutines are the resolver's:
// a small fixed pool that runs the blocking name lookups of SOCKS5 and
// SOCKS4A requests by name and HTTP CONNECT to a name, and hands each
// answer back to the loop through a queue and an eventfd that wakes it.
//
// The non-blocking system calls (accept4, socket, connect, read, write,
// shutdown, close) are made without telling the Go scheduler by default
// (RawSyscall: no hand-off of the processor is possible, and none is
// needed for a call that cannot block); Config.RuntimeSyscalls makes them
// through the scheduler's entersyscall/exitsyscall instead, to price that.
// Only epoll_wait, the one call that blocks, always goes through it. The
// wrappers of these calls and the buffers' free lists are core/rawsock's,
// shared with the daemon's event loop (core/server).
//
// Half-open connections (from accept until the reply) expire after
// Config.Timeout. All have the same timeout, so a FIFO list in arrival
// order is a complete timer: the loop sleeps until the oldest deadline and
// closes what has expired, with no timer per connection.
//
// Like the rest of nsbench it connects to loopback addresses only: any
// other target is refused (SOCKS5 "not allowed", SOCKS4 rejected, HTTP
// 403). Names go to the system resolver, as the daemon's do; the load
// client asks only for names of the hosts file.
//
// Not built: authentication, rulesets, forwarding through other proxies,
// limits, statistics, logging and the REST API; which of them would force
// a goroutine is discussed in cmd/nsbench/EXPERIMENTS.md. It runs on Linux
// only.
package evloop
