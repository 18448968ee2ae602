package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/evloop"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
	"github.com/neosocksd-go/neosocksd/core/rtdefaults"
)

// runEvloop serves the event-loop proxy core of the issue 15 experiment
// until SIGINT or SIGTERM. It runs with the daemon's defaults (one
// processor, GOGC=50, each unless the environment sets it), so that the
// two compare as the daemon is shipped.
func runEvloop(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("evloop", stderr)
	listen := fs.String("l", "127.0.0.1:1080", "SOCKS4/4A/5 and HTTP CONNECT listen `address` (loopback only)")
	httpListen := fs.String("http", "", "HTTP CONNECT listen `address` (loopback only)")
	timeout := fs.Duration("t", 30*time.Second, "half-open `timeout`")
	resolvers := fs.Int("resolvers", 4, "goroutines for blocking name lookups")
	runtimeCalls := fs.Bool("runtime-syscalls", false, "make the non-blocking system calls through the Go scheduler")
	park := fs.Bool("park", false, "wait on the Go runtime's poller instead of in epoll_wait on a locked thread")
	hosts := fs.String("hosts", "", "answer the names of this hosts `file` (read once) on the loop, without the resolver")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nsbench evloop [-l ADDR] [--http ADDR] [flags]\n\n"+
			"An event-loop proxy core (one epoll loop on one OS thread) for comparison\n"+
			"with the daemon: SOCKS5 without authentication, SOCKS4/4A and HTTP CONNECT,\n"+
			"no rulesets, no forwarding, no API.\n\n")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() > 0 {
		return failf(stderr, "evloop: unexpected argument %q", fs.Arg(0))
	}
	var c evloop.Config
	var err error
	if c.Listen, err = loopbackAddrPort(*listen); err != nil {
		return failf(stderr, "evloop: -l: %v", err)
	}
	if *httpListen != "" {
		if c.HTTP, err = loopbackAddrPort(*httpListen); err != nil {
			return failf(stderr, "evloop: --http: %v", err)
		}
	}
	c.Timeout, c.Resolvers, c.RuntimeSyscalls, c.Park, c.Hosts = *timeout, *resolvers, *runtimeCalls, *park, *hosts
	rtdefaults.Procs()
	rtdefaults.GC()
	if err := evloop.Serve(ctx, c); err != nil {
		return failf(stderr, "%v", err)
	}
	return 0
}

// loopbackAddrPort parses ip:port and refuses anything but loopback.
func loopbackAddrPort(s string) (netip.AddrPort, error) {
	if err := loopback.Check(s); err != nil {
		return netip.AddrPort{}, err
	}
	return netip.ParseAddrPort(s)
}
