package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/rawrelay"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// runSink serves the sink until SIGINT or SIGTERM. An IPv6 address on a
// machine without IPv6 loopback is skipped with a warning.
func runSink(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("sink", stderr)
	var addrs listFlag
	fs.Var(&addrs, "l", "listen `address` (repeatable, loopback only)")
	quiet := fs.Bool("q", false, "do not say where it listens")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nsbench sink [-q] [-l ADDR]...\n\n"+
			"The first byte of a connection picks the mode: E echo, U read and discard,\n"+
			"D write until the peer leaves, P one-shot echo (a length byte, that many\n"+
			"bytes echoed, then the sink closes first).\n\n")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if len(addrs) == 0 {
		addrs = listFlag{"127.0.0.1:19000"}
	}
	var lns []net.Listener
	for _, a := range addrs {
		l, err := sink.Listen([]string{a})
		if err != nil {
			if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) {
				fmt.Fprintf(stderr, "nsbench sink: skipping %s: %v\n", a, err)
				continue
			}
			for _, ln := range lns {
				ln.Close()
			}
			return failf(stderr, "sink: %v", err)
		}
		lns = append(lns, l...)
	}
	if len(lns) == 0 {
		return failf(stderr, "sink: no listener")
	}
	if !*quiet {
		fmt.Fprintf(stderr, "nsbench sink: listening on %s\n", addrs.String())
	}
	sink.Serve(ctx, lns)
	return 0
}

// runRawRelay forwards -l to -t until SIGINT or SIGTERM.
func runRawRelay(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("rawrelay", stderr)
	listen := fs.String("l", "127.0.0.1:11080", "listen `address` (loopback only)")
	target := fs.String("t", "127.0.0.1:19000", "target `address` (loopback only)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if err := loopback.Check(*listen); err != nil {
		return failf(stderr, "rawrelay: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return failf(stderr, "rawrelay: %v", err)
	}
	r := &rawrelay.Relay{Target: *target}
	if err := r.Serve(ctx, ln); err != nil {
		return failf(stderr, "rawrelay: %v", err)
	}
	return 0
}
