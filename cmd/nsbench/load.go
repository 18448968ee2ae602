package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/load"
)

// clientFlags are the flags that say how to reach the proxy and the sink.
type clientFlags struct {
	proxy, httpProxy, protos, targetIP, targetHost, ports string
	srcIPs                                                int
	timeout                                               time.Duration
}

func (cf *clientFlags) register(fs *flag.FlagSet) {
	known := make([]string, len(load.Protos))
	for i, p := range load.Protos {
		known[i] = string(p)
	}
	fs.StringVar(&cf.proxy, "proxy", "127.0.0.1:11080", "SOCKS proxy `address` (for raw: the forwarder, or the sink itself)")
	fs.StringVar(&cf.httpProxy, "http-proxy", "", "HTTP CONNECT proxy `address` (default: -proxy)")
	fs.StringVar(&cf.protos, "protos", "socks5_ip,socks5_host,socks4a,http", "comma `list` of protocols, the first drives the idle and bulk phases; known: "+strings.Join(known, ","))
	fs.StringVar(&cf.targetIP, "target-ip", "127.0.0.1", "IPv4 loopback `literal` of the sink")
	fs.StringVar(&cf.targetHost, "target-host", "localhost", "host `name` of the sink")
	fs.StringVar(&cf.ports, "ports", "19000,19001,19002,19003", "sink `ports`, used in turn")
	fs.IntVar(&cf.srcIPs, "src-ips", 16, "spread connections over this many source addresses 127.0.1.N (0: the kernel chooses)")
	fs.DurationVar(&cf.timeout, "timeout", 5*time.Second, "connect, handshake and echo timeout")
}

func (cf *clientFlags) clients() ([]*load.Client, error) {
	ip, err := netip.ParseAddr(cf.targetIP)
	if err != nil {
		return nil, fmt.Errorf("-target-ip: %w", err)
	}
	ports, err := parsePorts(cf.ports)
	if err != nil {
		return nil, fmt.Errorf("-ports: %w", err)
	}
	var out []*load.Client
	for _, name := range splitList(cf.protos) {
		p, err := load.ParseProto(name)
		if err != nil {
			return nil, err
		}
		c, err := load.NewClient(load.ClientConfig{
			Proto: p, Proxy: cf.proxy, HTTPProxy: cf.httpProxy,
			Target:    load.Target{IP: ip, Host: cf.targetHost, Ports: ports},
			SourceIPs: cf.srcIPs, Timeout: cf.timeout,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no protocols")
	}
	return out, nil
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("load", stderr)
	var cf clientFlags
	cf.register(fs)
	s := load.Defaults()
	phases := fs.String("phases", "idle,bulk,setup,lat", "phases to run, in this order")
	fs.IntVar(&s.PID, "pid", 0, "`PID` of the proxy, for its CPU time and memory (0: none)")
	fs.DurationVar(&s.BulkWarmup, "bulk-warmup", s.BulkWarmup, "bulk: unmeasured ramp-up")
	fs.DurationVar(&s.BulkDur, "bulk-dur", s.BulkDur, "bulk: measured time per test")
	fs.IntVar(&s.BulkPar, "par", s.BulkPar, "bulk: tunnels of the parallel test")
	fs.DurationVar(&s.SetupWarmup, "setup-warmup", s.SetupWarmup, "setup: unmeasured ramp-up")
	fs.DurationVar(&s.SetupDur, "setup-dur", s.SetupDur, "setup: measured time per protocol and closing order")
	fs.IntVar(&s.SetupConc, "setup-c", s.SetupConc, "setup: concurrent clients")
	closer := fs.String("close", string(s.Close), "setup: who closes first: client (metrics setup_*.P; the proxy must forward the half-close), server (setup_*.sc_P: the sink closes after its echo), or both")
	fs.DurationVar(&s.LatWarmup, "lat-warmup", s.LatWarmup, "lat: unmeasured ramp-up")
	fs.DurationVar(&s.LatDur, "lat-dur", s.LatDur, "lat: measured time per protocol")
	fs.IntVar(&s.IdleTunnels, "k", s.IdleTunnels, "idle: tunnels to hold open (a splicing relay needs 6 descriptors each; keep 6k below the proxy's RLIMIT_NOFILE)")
	fs.IntVar(&s.IdleConc, "idle-c", s.IdleConc, "idle: concurrent openers")
	fs.DurationVar(&s.Settle, "settle", s.Settle, "idle: wait before reading memory")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "nsbench load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	clients, err := cf.clients()
	if err != nil {
		return failf(stderr, "load: %v", err)
	}
	var ps []load.Phase
	for _, name := range splitList(*phases) {
		p, err := load.ParsePhase(name)
		if err != nil {
			return failf(stderr, "%v", err)
		}
		ps = append(ps, p)
	}
	s.Clients = clients
	s.Close = load.Closer(*closer)
	s.Out = stdout
	s.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "nsbench load: "+format+"\n", args...) }
	if err := s.Run(ctx, ps); err != nil {
		return failf(stderr, "load: %v", err)
	}
	return 0
}

// runCheck opens one verified tunnel per protocol; the status is 1 when
// the first protocol fails.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	var cf clientFlags
	cf.register(fs)
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	clients, err := cf.clients()
	if err != nil {
		return failf(stderr, "check: %v", err)
	}
	status := 0
	for i, c := range clients {
		if err := c.Check(); err != nil {
			fmt.Fprintf(stdout, "check.%s=fail %v\n", c.Proto(), err)
			if i == 0 {
				status = 1
			}
			continue
		}
		fmt.Fprintf(stdout, "check.%s=ok\n", c.Proto())
	}
	return status
}
