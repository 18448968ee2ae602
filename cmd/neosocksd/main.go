// Command neosocksd is a SOCKS4/4A/5 and HTTP proxy with a Lua-scripted
// routing engine and a RESTful API, command-line compatible with the C
// neosocksd. It also loads compiled route tables (-r file.nrt).
package main

import (
	// First, so that the daemon is on one processor before the other
	// packages initialize (see the package's doc).
	_ "github.com/neosocksd-go/neosocksd/cmd/neosocksd/internal/oneproc"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/api"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/rtdefaults"
	"github.com/neosocksd-go/neosocksd/core/server"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/script"
)

// drainTimeout bounds how long a shutdown waits for relays to finish.
const drainTimeout = 5 * time.Second

// closeTimeout bounds how long a shutdown waits for the ruleset engine,
// which waits for its VM: a VM stuck in a native call (a blocking read)
// would otherwise keep the process alive after SIGTERM.
const closeTimeout = 2 * time.Second

func main() {
	rtdefaults.GC()
	os.Exit(run(os.Args))
}

// fatal logs at the Fatal level and returns the exit status 1.
func fatal(log *slog.Logger, format string, args ...any) int {
	log.Log(context.Background(), config.LevelFatal, fmt.Sprintf(format, args...))
	return 1
}

func run(argv []string) int {
	signal.Ignore(syscall.SIGPIPE)
	level := new(slog.LevelVar)
	level.Set(config.LevelVerbose) // parse errors are always shown
	log, _ := newLogger("stderr", "text", level)

	o, err := parseArgs(argv[1:])
	if err != nil {
		return fatal(log, "%s", err)
	}
	if o.help {
		printUsage(os.Stderr, argv[0])
		return 1
	}
	if o.version {
		printVersion(os.Stdout)
		return 0
	}
	if log, err = newLogger(o.logSink, o.logFormat, level); err != nil {
		log, _ = newLogger("stderr", "text", level)
		return fatal(log, "%s", err)
	}
	conf := &o.conf
	if o.check || o.dumpConfig {
		return checkOnly(o, log, level)
	}
	if conf.Config == "" {
		if err := checkConfig(log, conf); err != nil {
			return fatal(log, "%s", err)
		}
	}
	level.Set(config.SlogLevel(conf.LogLevel))

	if conf.Daemonize && !isDaemonChild() {
		pid, err := daemonize()
		if err != nil {
			var de *daemonError
			if errors.As(err, &de) {
				// What the daemon logged before it gave up: its reason.
				os.Stderr.Write(de.output)
			}
			return fatal(log, "daemonize: %s", err)
		}
		log.Info(fmt.Sprintf("daemon process has started with pid %d", pid))
		return 0
	}
	var startedUp func() // ends the daemon's start-up log to its parent
	if isDaemonChild() {
		syscall.Umask(0)
		log, startedUp = daemonLogger(o.logFormat, level)
	}
	log.Info("neosocksd " + version + " starting")
	stopProfile := startCPUProfile(log)
	defer stopProfile()

	var ident *identity
	if conf.UserName != "" {
		id, err := parseIdentity(conf.UserName)
		if err != nil {
			return fatal(log, "-u %s: %s", conf.UserName, err)
		}
		ident = &id
	}

	// Signals are caught before scripts load and listeners bind, so that
	// one arriving during start-up is handled like any other; a second
	// SIGINT or SIGTERM exits at once from any state, with status 0 as a
	// shutdown does.
	sigs := watchSignals(log, func() {
		stopProfile()
		os.Exit(0)
	})

	d := newDaemon(conf, log, level)
	d.startedUp = startedUp
	if err := d.readAPIToken(o); err != nil {
		return fatal(log, "%s", err)
	}
	if err := d.load(); err != nil {
		return reportLoad(log, err)
	}
	return d.serve(ident, sigs)
}

// errCheckFailed ends start-up after the config check logged its errors.
var errCheckFailed = errors.New(`configuration check failed, try "neosocksd --help" for more information`)

// checkConfig runs the config check and logs its findings; it returns
// errCheckFailed if there was an error.
func checkConfig(log *slog.Logger, conf *config.Config) error {
	p := conf.Check()
	for _, w := range p.Warnings {
		log.Warn(w)
	}
	if err := p.Err(); err != nil {
		log.Error(err.Error())
		return errCheckFailed
	}
	return nil
}

func newDaemon(conf *config.Config, log *slog.Logger, level *slog.LevelVar) *daemon {
	return &daemon{conf: conf, log: log, level: level, stats: new(stats.Counters), started: time.Now()}
}

// readAPIToken reads --api-token-file, before privileges are dropped (the
// file may be readable by root only), and notes --api-metrics-open.
func (d *daemon) readAPIToken(o *options) error {
	d.apiMetricsOpen = o.apiMetricsOpen
	if o.apiTokenFile == "" {
		if o.apiMetricsOpen {
			d.log.Warn("--api-metrics-open has no effect without --api-token-file")
		}
		return nil
	}
	tok, err := api.ReadToken(o.apiTokenFile)
	if err != nil {
		return err
	}
	d.apiToken = tok
	return nil
}

// load builds the outbound dialer and loads -c or -r, then runs the checks
// that need them (cli.md §5 steps 6-10). Start-up, --check and
// --dump-config all go through it, so a file that passes --check is one
// that start-up accepts.
func (d *daemon) load() error {
	conf := d.conf
	if err := d.buildDialer(); err != nil {
		return fmt.Errorf("unable to parse outbound configuration: %w", err)
	}
	if err := d.loadEngine(); err != nil {
		return err
	}
	if conf.Config != "" {
		if err := checkConfig(d.log, conf); err != nil {
			return err
		}
		d.level.Set(config.SlogLevel(conf.LogLevel))
		if err := d.buildDialer(); err != nil {
			return fmt.Errorf("unable to parse outbound configuration: %w", err)
		}
	}
	if conf.AuthRequired && d.activeEngine() == nil {
		return errors.New("authentication requires a ruleset")
	}
	return nil
}

// engine is a loaded ruleset: the Lua engine or a compiled route table.
type engine interface {
	route.Router
	api.Ruleset
}

// daemon holds what the running process is made of.
type daemon struct {
	conf  *config.Config
	log   *slog.Logger
	level *slog.LevelVar
	stats *stats.Counters
	// out is the outbound dialer, -x chain included, replaced whole on
	// reload; the server and the engines' RPC client dial through it.
	out atomic.Pointer[dial.Dialer]
	// active is the ruleset requests and the API see (nil: none). lua is
	// the Lua engine, kept while a -c config installs no ruleset so that
	// SIGHUP can re-run it; table is a loaded route table.
	active atomic.Pointer[engineBox]
	lua    *script.Engine
	table  *dsl.Engine
	// started is when the process started serving, for uptimes.
	started time.Time
	// startedUp, for a daemon started by -d, stops copying the log to
	// the waiting parent; nil otherwise.
	startedUp func()
	// apiToken is what the API requires and the RPC client sends ("" for
	// none); apiMetricsOpen exempts /metrics from it.
	apiToken       string
	apiMetricsOpen bool
}

// buildDialer builds the dialer of the configuration: the -x chain,
// parsed once here, and the resolver of --nameserver. It checks -f too,
// which the server parses. On an error the previous dialer stays.
func (d *daemon) buildDialer() error {
	c := d.conf
	if c.Forward != "" {
		if _, err := addr.ParseTarget(c.Forward); err != nil {
			return err
		}
	}
	o, err := dial.OptionsFrom(c)
	if err != nil {
		return err
	}
	o.Stats, o.Logger = d.stats, d.log
	d.out.Store(dial.New(o))
	return nil
}

func (d *daemon) dialer() *dial.Dialer { return d.out.Load() }

// dial is the engines' dialer (await.invoke, neosocksd.invoke): the
// current one, so that a reload applies to the next call.
func (d *daemon) dial(ctx context.Context, target string, hops route.Chain) (net.Conn, error) {
	return d.out.Load().DialString(ctx, target, hops)
}

func (d *daemon) serve(ident *identity, sigs signals) int {
	conf, log := d.conf, d.log
	var router route.Router
	if e := d.activeEngine(); e != nil {
		router = e
	}
	srv, err := server.New(server.Options{
		Config: conf, Router: router, Dialer: d.dialer(), Stats: d.stats, Logger: log,
		NoEventLoop: eventLoopOff(),
	})
	if err != nil {
		return fatal(log, "unable to parse outbound configuration: %s", err)
	}
	if err := srv.Listen(); err != nil {
		return fatal(log, "failed to start server: %s", err)
	}
	var apiLn net.Listener
	if conf.RestAPI != "" {
		if apiLn, err = listenAPI(conf); err != nil {
			return fatal(log, "failed to start server: %s", err)
		}
		log.Log(context.Background(), config.LevelNotice, "listen: "+apiLn.Addr().String())
		apiLn = server.GuardListener(apiLn, log)
		if ap, err := netipAddrOf(apiLn.Addr()); err == nil && !ap.IsLoopback() && d.apiToken == "" {
			log.Warn("the API is not bound to a loopback address: anyone who reaches it can run code in the ruleset")
		}
	}
	if ident != nil {
		if err := dropPrivileges(*ident); err != nil {
			return fatal(log, "%s", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ctx) }()
	if apiLn != nil {
		a := &api.Server{
			Stats:   d.stats,
			Ruleset: d.ruleset,
			Admit:   srv.Admit,
			Timeout: conf.TimeoutDuration(),
			Version: version,
			Started: d.started,
			Logger:  log,

			Token:       d.apiToken,
			MetricsOpen: d.apiMetricsOpen,
		}
		go func() { done <- a.Serve(ctx, apiLn) }()
	}
	if d.startedUp != nil {
		d.startedUp()
	}
	notifyDaemonParent()
	sdNotify("READY=1")

	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				return fatal(log, "server: %s", err)
			}
		case <-sigs.reload:
			sdNotify("RELOADING=1")
			d.reload(srv)
			sdNotify("READY=1")
		case <-sigs.stop:
			sdNotify("STOPPING=1")
			return d.shutdown(srv, cancel)
		}
	}
}

// shutdown stops accepting, drains relays until drainTimeout and closes
// the ruleset engine, waiting for it up to closeTimeout; a second signal
// meanwhile ends the process at once (see watchSignals).
func (d *daemon) shutdown(srv *server.Server, cancel context.CancelFunc) int {
	ctx, stop := context.WithTimeout(context.Background(), drainTimeout)
	defer stop()
	srv.Shutdown(ctx)
	cancel()
	if d.lua != nil {
		closed := make(chan struct{})
		go func() { // abandoned with the process when the VM is stuck
			d.lua.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(closeTimeout):
			d.log.Warn("ruleset stuck in native code: exiting without closing it")
			return 0
		}
	}
	d.log.Log(context.Background(), config.LevelNotice, "server shutdown gracefully")
	return 0
}

// ruleset returns the active engine for the API, nil without one.
func (d *daemon) ruleset() api.Ruleset {
	if e := d.activeEngine(); e != nil {
		return e
	}
	return nil
}

// reload re-runs -c or -r (SIGHUP, cli.md §10): a failure keeps the old
// ruleset. A -c config then also re-applies the log level, the base dial
// request (-x, -f) and the resolver.
func (d *daemon) reload(srv *server.Server) {
	c := d.conf
	switch {
	case d.table != nil:
		if err := d.table.Reload(); err != nil {
			d.log.Warn("reload: ruleset error: " + errorText(err))
			return
		}
	case c.Config != "" || c.Ruleset != "":
		if d.lua == nil {
			e, err := d.newScript()
			if err != nil {
				d.log.Warn("reload: " + err.Error())
				return
			}
			d.lua = e
		}
		if err := d.lua.Reload(c); err != nil {
			kind := "ruleset"
			if c.Config != "" {
				kind = "config"
			}
			d.log.Warn("reload: " + kind + " error: " + err.Error())
			return
		}
		d.activateLua()
		if e := d.activeEngine(); e != nil {
			srv.SetRouter(e)
		} else {
			srv.SetRouter(nil)
		}
	default:
		d.log.Debug("reload: no ruleset or config to reload")
		return
	}
	// New values of a -c table apply to new connections; a table that
	// fails the config check, or a bad -x or -f, keeps the old ones.
	if p := c.Check(); p.Err() != nil {
		d.log.Warn("reload: configuration check failed: " + p.Err().Error())
		return
	}
	d.level.Set(config.SlogLevel(c.LogLevel))
	if err := d.buildDialer(); err != nil {
		d.log.Warn("reload: unable to parse outbound configuration: " + err.Error())
	} else if err := srv.Reconfigure(c, d.dialer()); err != nil {
		d.log.Warn("reload: " + err.Error())
	}
	d.log.Log(context.Background(), config.LevelNotice, "reload: config successfully reloaded")
}

func isRouteTable(path string) bool { return strings.HasSuffix(path, ".nrt") }
