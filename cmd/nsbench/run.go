package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/driver"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/load"
)

const runUsage = `usage: nsbench run [flags] [--] PROXY [ARGS...] [--vs PROXY [ARGS...]]
       nsbench run [flags] --direct

Starts the sink on 127.0.0.1 and [::1] (--sink-ports), then for each round
starts each proxy command, waits until it listens on --proxy (and --http),
runs the load client's phases against it and stops it (SIGINT, then SIGKILL
after 5 s). With --vs the two commands run interleaved, A B A B ..., and
ratio.metric lines give B/A, the median of the per-round ratios. Both must
listen on the same addresses. --vs is how this daemon is compared with
another proxy binary, e.g. the C original or an older build.

Output on stdout, also in --out (summary.txt; summary.md; raw.tsv with
every round's values; the proxies', sink's and load client's logs):
  metric=value unit          one system: the median over rounds
  NAME.metric=value unit     two systems: each one's median
  ratio.metric=value x       B/A, median of the per-round ratios

flags:
`

// runDriver parses the run command line into a driver configuration.
func runDriver(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	proxy := fs.String("proxy", "127.0.0.1:11080", "`address` the proxies listen on for SOCKS (or as a forwarder)")
	fs.StringVar(proxy, "p", *proxy, "short for --proxy")
	httpAddr := fs.String("http", "", "`address` of their HTTP CONNECT listener (default: --proxy)")
	protos := fs.String("protos", "socks5_ip,socks5_host,socks4a,http", "protocols to measure, the first drives the idle and bulk phases (socks5_ip socks5_host socks4 socks4a http http_ip raw)")
	protosB := fs.String("protos-b", "", "protocols of B when they differ (only shared ones get ratios)")
	rounds := fs.Int("rounds", 3, "rounds per system")
	fs.IntVar(rounds, "r", *rounds, "short for --rounds")
	k := fs.Int("k", 3000, "idle tunnels held for the memory readings")
	phases := fs.String("phases", "idle,bulk,setup,lat", "phases to run, in this order")
	nameA := fs.String("name-a", "A", "label of the first system")
	nameB := fs.String("name-b", "B", "label of the second system")
	direct := fs.Bool("direct", false, "no proxy: the client talks to the sink (protocol raw)")
	pin := fs.Bool("pin", false, "pin the proxy to CPU 1 and the sink and load client to CPU 0 (taskset)")
	setsid := fs.Bool("setsid", true, "start each proxy in a session of its own, as the README's figures were measured")
	quick := fs.Bool("quick", false, "smoke test: 1 round unless --rounds, 500 idle tunnels unless -k, 1 s phases")
	out := fs.String("out", "", "results `directory` (default: a new nsbench-DATE-TIME in the temporary directory)")
	var loadArgs listFlag
	fs.Var(&loadArgs, "load", "pass `ARG` on to nsbench load (repeatable), e.g. --load -setup-c=64 --load -bulk-dur=5s")
	sinkPorts := fs.String("sink-ports", "19000,19001,19002,19003", "the sink's `ports`")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cmdA, cmdB, hasB := splitVs(fs.Args())
	switch {
	case *direct && len(cmdA) > 0:
		fmt.Fprint(stderr, "nsbench run: --direct takes no command\n")
		return 2
	case !*direct && len(cmdA) == 0:
		fs.Usage()
		return 2
	case hasB && len(cmdB) == 0:
		fmt.Fprint(stderr, "nsbench run: --vs needs a command\n")
		return 2
	}
	ports, err := parsePorts(*sinkPorts)
	if err != nil {
		return failf(stderr, "--sink-ports: %v", err)
	}
	c := driver.Config{
		Proxy: *proxy, HTTP: *httpAddr, SinkPorts: ports, Rounds: *rounds,
		Setsid: *setsid, Pin: *pin, Stdout: stdout, Stderr: stderr,
	}
	if c.Self, err = os.Executable(); err != nil {
		return failf(stderr, "run: %v", err)
	}
	for _, name := range splitList(*phases) {
		p, err := load.ParsePhase(name)
		if err != nil {
			return failf(stderr, "%v", err)
		}
		c.Phases = append(c.Phases, p)
	}
	pa, err := parseProtos(*protos)
	if err != nil {
		return failf(stderr, "--protos: %v", err)
	}
	c.A = driver.System{Name: *nameA, Argv: cmdA, Protos: pa}
	if *direct {
		if !set["name-a"] {
			c.A.Name = "direct"
		}
		c.A.Protos = []load.Proto{load.Raw}
		c.Proxy = "127.0.0.1:" + strconv.Itoa(int(ports[0]))
	}
	if hasB {
		pb := pa
		if *protosB != "" {
			if pb, err = parseProtos(*protosB); err != nil {
				return failf(stderr, "--protos-b: %v", err)
			}
		}
		c.B = &driver.System{Name: *nameB, Argv: cmdB, Protos: pb}
	}
	if *quick {
		if !set["rounds"] && !set["r"] {
			c.Rounds = 1
		}
		if !set["k"] {
			*k = 500
		}
		// before --load's own arguments, which win
		c.LoadArgs = append(c.LoadArgs, "-bulk-dur=1s", "-setup-dur=1s", "-lat-dur=500ms", "-settle=300ms")
	}
	c.LoadArgs = append(append(c.LoadArgs, "-k="+strconv.Itoa(*k)), loadArgs...)
	c.Out = *out
	if c.Out == "" {
		c.Out = filepath.Join(os.TempDir(), "nsbench-"+time.Now().Format("20060102-150405"))
	}
	if err := driver.Run(ctx, c); err != nil {
		if errors.Is(err, context.Canceled) {
			return failf(stderr, "run: interrupted; partial results in %s", c.Out)
		}
		return failf(stderr, "run: %v", err)
	}
	return 0
}

// splitVs splits the command words at "--vs".
func splitVs(words []string) (a, b []string, hasB bool) {
	i := slices.Index(words, "--vs")
	if i < 0 {
		return words, nil, false
	}
	return words[:i], words[i+1:], true
}

func parseProtos(s string) ([]load.Proto, error) {
	var out []load.Proto
	for _, name := range splitList(s) {
		p, err := load.ParseProto(name)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no protocols")
	}
	return out, nil
}
