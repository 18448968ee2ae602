// Command nsbench is the loopback benchmark of the README's Performance
// section: a sink, a load client speaking SOCKS4/4A/5 and HTTP CONNECT, a
// plain Go relay for reference, a generator of the rulesets of the
// ruleset rows (Lua and route table from one seed), an aggregator, and
// the A/B driver that runs them all against one or two proxy binaries.
// Everything it opens is on 127.0.0.0/8 or ::1; it refuses other
// addresses.
//
// Exit status: 0 success, 1 failure, 2 usage errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

const usage = `usage: nsbench <command> [flags]

commands:
  run [flags] [--] PROXY [ARGS...] [--vs PROXY [ARGS...]]
  run [flags] --direct
             start the sink, then per round start each proxy, load it and
             stop it (A B A B ...), and print the medians and, with --vs,
             the per-round paired ratios B/A
  load       run the measurement phases against one running proxy
             (also: suite)
  check      open one verified tunnel per protocol and say ok or fail
  count      open a fixed number of tunnels and report the proxy's CPU time
             and context switches per set-up from /proc
  sink       the target server (modes E, U, D, P; see its -h)
  rawrelay   a plain Go TCP forwarder, the reference relay
  evloop     an event-loop proxy core on raw epoll, the issue 15 experiment
  rulesetgen write the Lua ruleset and route table of the ruleset rows
  agg        aggregate "system<TAB>round<TAB>metric=value unit" lines

"nsbench COMMAND -h" lists a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "run":
		return runDriver(ctx, rest, stdout, stderr)
	case "load", "suite":
		return runLoad(ctx, rest, stdout, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "count":
		return runCount(ctx, rest, stdout, stderr)
	case "sink":
		return runSink(ctx, rest, stderr)
	case "rawrelay":
		return runRawRelay(ctx, rest, stderr)
	case "evloop":
		return runEvloop(ctx, rest, stderr)
	case "rulesetgen":
		return runRulesetGen(rest, stdout, stderr)
	case "agg":
		return runAgg(rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "nsbench: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// newFlags returns a flag set that reports to stderr and returns errors
// instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nsbench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and says which exit status a failure deserves:
// 0 for -h, 2 for anything else.
func parseFlags(fs *flag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// failf reports an error and returns exit status 1.
func failf(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "nsbench: "+format+"\n", args...)
	return 1
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// splitList splits a comma list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePorts parses a comma list of ports.
func parsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, p := range splitList(s) {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad port %q", p)
		}
		out = append(out, uint16(n))
	}
	if len(out) == 0 {
		return nil, errors.New("no ports")
	}
	return out, nil
}
