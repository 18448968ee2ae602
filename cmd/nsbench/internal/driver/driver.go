// Package driver runs an A/B benchmark: it starts the sink, then for each
// round starts each proxy under test, runs the load client against it and
// stops it, interleaving the systems A B A B … so that both see the same
// drift of a shared machine, and finally prints the medians and the
// per-round paired ratios B/A. The sink and the load client run as
// processes of their own (the nsbench binary's "sink" and "load"), as the
// proxy does, so that each has its own runtime and none of them measures
// another's garbage collector. It talks to loopback only, and every
// process it starts is stopped before Run returns.
package driver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/load"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/procfs"
)

// System is one proxy under test.
type System struct {
	Name string
	// Argv is the command that runs the proxy in the foreground, started
	// in the caller's working directory (prefix "env -C DIR" for another
	// one). Empty means no proxy: the load client talks to the sink.
	Argv   []string
	Protos []load.Proto // the first one drives the idle and bulk phases
}

// Config is one benchmark run.
type Config struct {
	// Self is the nsbench executable, run as "Self sink" and "Self load".
	Self string
	A    System
	B    *System // nil: measure A alone
	// Proxy and HTTP are where both systems listen: SOCKS (or a port
	// forwarder) and HTTP CONNECT (HTTP may equal Proxy). For a system
	// without Argv, Proxy is the sink's first port.
	Proxy, HTTP string
	SinkPorts   []uint16 // on 127.0.0.1 and ::1
	Rounds      int
	Phases      []load.Phase
	// LoadArgs are passed on to "nsbench load" after the driver's own
	// flags, e.g. -setup-dur=5s (see nsbench load -h).
	LoadArgs []string
	// Setsid starts each proxy in a session of its own (as the harness
	// always has; with the kernel's autogroup scheduling that makes it a
	// scheduling group of its own). Pin puts the proxy on CPU 1 and the
	// sink and the load client on CPU 0, through taskset(1).
	Setsid, Pin bool
	// Out is the directory for raw.tsv, summary.txt, summary.md and the
	// logs; it is created if missing.
	Out string
	// Stdout receives the header and the summary; Stderr the progress.
	Stdout, Stderr io.Writer
	// StartTimeout bounds a proxy's start until it listens (0: 10 s);
	// StopTimeout its stop after SIGINT before SIGKILL (0: 5 s);
	// RoundTimeout one run of the load client (0: 15 min).
	StartTimeout, StopTimeout, RoundTimeout time.Duration
}

// Run runs the benchmark of c. It returns an error when something could
// not be started or a system's primary protocol failed; a round whose
// load client failed is reported and skipped. When ctx is done it stops
// everything it started and returns ctx's error.
func Run(ctx context.Context, c Config) error {
	r, err := newRunner(c)
	if err != nil {
		return err
	}
	defer r.closeFiles()
	return r.run(ctx)
}

// runner is one Run's state; only Run's goroutine uses it.
type runner struct {
	c       Config
	raw     *os.File // raw.tsv
	loadLog *os.File
	table   agg.Table
	systems []System
}

func newRunner(c Config) (*runner, error) {
	if c.Self == "" {
		return nil, errors.New("driver: no nsbench executable")
	}
	if c.Rounds < 1 {
		return nil, fmt.Errorf("driver: %d rounds", c.Rounds)
	}
	if len(c.SinkPorts) == 0 {
		return nil, errors.New("driver: no sink ports")
	}
	if c.HTTP == "" {
		c.HTTP = c.Proxy
	}
	for _, a := range []string{c.Proxy, c.HTTP} {
		if err := loopback.Check(a); err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
	}
	systems := []System{c.A}
	if c.B != nil {
		systems = append(systems, *c.B)
		if c.B.Name == c.A.Name {
			return nil, fmt.Errorf("driver: both systems are named %q", c.A.Name)
		}
	}
	for _, s := range systems {
		if len(s.Protos) == 0 {
			return nil, fmt.Errorf("driver: %s: no protocols", s.Name)
		}
		if s.Name == "" || strings.ContainsAny(s.Name, "\t\n./ ") {
			return nil, fmt.Errorf("driver: system name %q: want a word without dots, slashes or spaces", s.Name)
		}
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 5 * time.Second
	}
	if c.RoundTimeout <= 0 {
		c.RoundTimeout = 15 * time.Minute
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	if c.Pin {
		if _, err := exec.LookPath("taskset"); err != nil {
			return nil, fmt.Errorf("driver: pinning needs taskset: %w", err)
		}
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, fmt.Errorf("driver: results directory: %w", err)
	}
	r := &runner{c: c, systems: systems}
	var err error
	if r.raw, err = os.Create(filepath.Join(c.Out, "raw.tsv")); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	if r.loadLog, err = os.Create(filepath.Join(c.Out, "load.log")); err != nil {
		r.closeFiles()
		return nil, fmt.Errorf("driver: %w", err)
	}
	return r, nil
}

func (r *runner) closeFiles() {
	for _, f := range []*os.File{r.raw, r.loadLog} {
		if f != nil {
			f.Close()
		}
	}
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.c.Stderr, "nsbench: "+format+"\n", args...)
}

func (r *runner) run(ctx context.Context) error {
	c := r.c
	for _, s := range r.systems {
		if len(s.Argv) == 0 {
			continue
		}
		for _, a := range []string{c.Proxy, c.HTTP} {
			if loopback.Listening(a) {
				return fmt.Errorf("driver: %s is already in use; stop whatever listens there first", a)
			}
		}
	}
	raiseFileLimit()
	sink, err := r.startSink()
	if err != nil {
		return err
	}
	defer sink.stop(c.StopTimeout)
	if err := loopback.WaitPort(sinkAddr(c.SinkPorts[0]), c.StartTimeout); err != nil {
		return fmt.Errorf("driver: the sink did not start (see sink.log): %w", err)
	}
	r.header()
	for round := 1; round <= c.Rounds; round++ {
		for _, s := range r.systems {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.runOne(ctx, s, round); err != nil {
				return err
			}
		}
	}
	return r.summary()
}

func sinkAddr(port uint16) string { return "127.0.0.1:" + strconv.Itoa(int(port)) }

// raiseFileLimit lifts the soft descriptor limit to the hard one. Setting
// it explicitly is what makes the children inherit it: the Go runtime
// raises its own limit at start but restores the original for children.
// Every idle tunnel costs the proxy two sockets, a splicing one four more.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

func (r *runner) header() {
	c := r.c
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "# nsbench %s host=%s cpus=%d kernel=%s nofile=%d rounds=%d pin=%v setsid=%v\n",
		time.Now().UTC().Format("2006-01-02T15:04:05Z"), host, runtime.NumCPU(), strings.TrimSpace(string(kernel)),
		lim.Cur, c.Rounds, c.Pin, c.Setsid)
	for _, s := range r.systems {
		cmd := "no proxy (client -> sink)"
		if len(s.Argv) > 0 {
			cmd = strings.Join(s.Argv, " ")
		}
		fmt.Fprintf(&b, "# %s: %s; protocols %s\n", s.Name, cmd, joinProtos(s.Protos))
	}
	fmt.Fprintf(&b, "# proxy=%s http=%s phases=%s load args=%q\n", c.Proxy, c.HTTP, joinPhases(c.Phases), c.LoadArgs)
	io.WriteString(c.Stdout, b.String())
	os.WriteFile(filepath.Join(c.Out, "summary.txt"), []byte(b.String()), 0o644)
}

func joinProtos(ps []load.Proto) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

func joinPhases(ps []load.Phase) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

// runOne measures system s in one round: start, load, stop.
func (r *runner) runOne(ctx context.Context, s System, round int) error {
	c := r.c
	pid := 0
	proxy := c.Proxy
	if len(s.Argv) > 0 {
		p, err := r.startProxy(s)
		if err != nil {
			return err
		}
		defer p.stop(c.StopTimeout)
		pid = p.pid()
		// the proxy may run under a wrapper that forked it: measure the
		// process that owns the listening socket
		if owner, err := procfs.ListenerPID(c.Proxy); err == nil {
			pid = owner
		}
	} else {
		proxy = sinkAddr(c.SinkPorts[0])
	}
	r.logf("round %d: %s (pid %d)", round, s.Name, pid)
	t0 := time.Now()
	err := r.runLoad(ctx, s, round, proxy, pid)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		r.logf("round %d: %s: the load client failed (%v); see %s", round, s.Name, err, filepath.Join(c.Out, "load.log"))
	default:
		r.logf("round %d: %s done in %.1f s", round, s.Name, time.Since(t0).Seconds())
	}
	return nil
}

// runLoad runs "nsbench load" against one system and records its lines.
func (r *runner) runLoad(ctx context.Context, s System, round int, proxy string, pid int) error {
	c := r.c
	ports := make([]string, len(c.SinkPorts))
	for i, p := range c.SinkPorts {
		ports[i] = strconv.Itoa(int(p))
	}
	args := []string{"load",
		"-proxy", proxy, "-http-proxy", c.HTTP,
		"-protos", joinProtos(s.Protos), "-phases", joinPhases(c.Phases),
		"-ports", strings.Join(ports, ","), "-pid", strconv.Itoa(pid),
	}
	args = append(args, c.LoadArgs...)
	ctx, cancel := context.WithTimeout(ctx, c.RoundTimeout)
	defer cancel()
	argv := r.pinned(0, append([]string{c.Self}, args...))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = r.loadLog
	cmd.SysProcAttr = childAttr(false)
	cmd.WaitDelay = c.StopTimeout
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the load client: %w", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(r.raw, "%s\t%d\t%s\n", s.Name, round, line)
		fmt.Fprintf(r.c.Stderr, "  %s %d %s\n", s.Name, round, line)
		if m, v, unit, ok := agg.ParseMetric(line); ok {
			r.table.Add(s.Name, strconv.Itoa(round), m, v, unit)
		}
	}
	return cmd.Wait()
}

// summary prints and writes the medians and ratios.
func (r *runner) summary() error {
	names := make([]string, len(r.systems))
	for i, s := range r.systems {
		names[i] = s.Name
	}
	rows := r.table.Rows(names)
	var text strings.Builder
	if err := agg.WriteText(&text, names, rows); err != nil {
		return err
	}
	io.WriteString(r.c.Stdout, text.String())
	f, err := os.OpenFile(filepath.Join(r.c.Out, "summary.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = io.WriteString(f, text.String())
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("driver: summary.txt: %w", err)
	}
	var md strings.Builder
	if err := agg.WriteMarkdown(&md, names, rows); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.c.Out, "summary.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("driver: summary.md: %w", err)
	}
	r.logf("results in %s (raw.tsv, summary.txt, summary.md, logs)", r.c.Out)
	return nil
}

// pinned prefixes argv with taskset for cpu when pinning is on.
func (r *runner) pinned(cpu int, argv []string) []string {
	if !r.c.Pin {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
}

// process is a started child whose end is awaited by one goroutine.
type process struct {
	cmd    *exec.Cmd
	group  bool // signal the whole process group (started with setsid)
	exited chan struct{}
	once   sync.Once
	log    *os.File
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// start starts argv with output to logPath (appended).
func start(argv []string, logPath string, setsid bool) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr(setsid)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("driver: start %s: %w", argv[0], err)
	}
	p := &process{cmd: cmd, group: setsid, exited: make(chan struct{}), log: log}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) signal(sig syscall.Signal) {
	if p.group {
		syscall.Kill(-p.pid(), sig)
		return
	}
	p.cmd.Process.Signal(sig)
}

// stop sends SIGINT, waits up to timeout for the process to exit, then
// kills it (and its process group when it has one). It is idempotent.
func (p *process) stop(timeout time.Duration) {
	p.once.Do(func() {
		p.signal(syscall.SIGINT)
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
		}
		p.signal(syscall.SIGKILL)
		<-p.exited
		p.log.Close()
	})
}

func (r *runner) startSink() (*process, error) {
	args := []string{r.c.Self, "sink", "-q"}
	for _, port := range r.c.SinkPorts {
		args = append(args, "-l", sinkAddr(port), "-l", "[::1]:"+strconv.Itoa(int(port)))
	}
	return start(r.pinned(0, args), filepath.Join(r.c.Out, "sink.log"), false)
}

// startProxy starts s and waits until it listens where the load client
// will connect.
func (r *runner) startProxy(s System) (*process, error) {
	c := r.c
	logPath := filepath.Join(c.Out, s.Name+".log")
	p, err := start(r.pinned(1, s.Argv), logPath, c.Setsid)
	if err != nil {
		return nil, err
	}
	addrs := []string{c.Proxy}
	for _, proto := range s.Protos {
		if (proto == load.HTTP || proto == load.HTTPIP) && c.HTTP != c.Proxy {
			addrs = append(addrs, c.HTTP)
			break
		}
	}
	for _, a := range addrs {
		if err := waitListening(a, p, c.StartTimeout); err != nil {
			p.stop(c.StopTimeout)
			tail, _ := os.ReadFile(logPath)
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			return nil, fmt.Errorf("driver: %s did not start listening on %s (%w); its log ends:\n%s", s.Name, a, err, tail)
		}
	}
	return p, nil
}

var errExited = errors.New("it exited")

// waitListening waits until addr accepts connections, giving up early
// when p exits.
func waitListening(addr string, p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !loopback.Listening(addr) {
		select {
		case <-p.exited:
			return errExited
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
