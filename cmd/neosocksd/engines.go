package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/script"
)

// loadEngine loads -c, -r or a route table, if any was given. A script or
// table that does not load is a *loadError.
func (d *daemon) loadEngine() error {
	c := d.conf
	switch {
	case c.Ruleset != "" && isRouteTable(c.Ruleset):
		t, err := dsl.LoadFile(c.Ruleset, dsl.Options{
			AuthRequired: c.AuthRequired,
			Resolve:      d.resolve,
			Logger:       d.log,
		})
		if err != nil {
			return &loadError{kind: "ruleset", path: c.Ruleset, err: err}
		}
		d.table = t
		d.setActive(t)
	case c.Ruleset != "" || c.Config != "":
		e, err := d.newScript()
		if err != nil {
			return err
		}
		if c.Config != "" {
			err = e.LoadConfig(c.Config, c)
		} else {
			err = e.LoadRuleset(c.Ruleset)
		}
		if err != nil {
			e.Close()
			if c.Config != "" {
				return &loadError{kind: "config", path: c.Config, err: err}
			}
			return &loadError{kind: "ruleset", path: c.Ruleset, err: err}
		}
		d.lua = e
		d.activateLua()
	}
	return nil
}

// loadError is a -c config, -r ruleset or route table that failed to load.
type loadError struct {
	kind string // "config" or "ruleset"
	path string
	err  error
}

func (e *loadError) Error() string { return fmt.Sprintf("unable to load %s: %s", e.kind, e.path) }

func (e *loadError) Unwrap() error { return e.err }

// detail is the reason, with positions naming the file: Lua reports a
// position in the loaded chunk by its chunk name ("ruleset:4: ..."), which
// is rewritten to the path ("rules.lua:4: ..."); a route table's
// diagnostics carry file:line:col already.
func (e *loadError) detail() string {
	var diags *dsl.Diagnostics
	if errors.As(e.err, &diags) {
		return diags.Brief() // one line: a log record is one line
	}
	msg := strings.TrimRight(e.err.Error(), "\n")
	if rest, ok := strings.CutPrefix(msg, e.kind+":"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' && e.path != "-" {
		return e.path + ":" + rest
	}
	return msg
}

// reportLoad logs why start-up (or --check) failed, each reason once, and
// returns the exit status 1.
func reportLoad(log *slog.Logger, err error) int {
	var le *loadError
	if errors.As(err, &le) {
		log.Error(le.kind + " load: " + le.detail())
		return fatal(log, "%s", le)
	}
	return fatal(log, "%s", err)
}

// errorText renders an engine's error for one log record: a route
// table's diagnostics on one line (their terminal form spans several),
// anything else as it is (the log handler escapes line breaks).
func errorText(err error) string {
	var diags *dsl.Diagnostics
	if errors.As(err, &diags) {
		return diags.Brief()
	}
	return err.Error()
}

func (d *daemon) newScript() (*script.Engine, error) {
	e, err := script.New(script.Options{
		Config:  d.conf,
		Stats:   d.stats,
		Dial:    d.dial,
		Resolve: d.resolve,
		Logger:  d.log,
		Version: version,
		Started: d.started,

		APIToken: d.apiToken,
	})
	if err != nil {
		return nil, fmt.Errorf("ruleset engine: %w", err)
	}
	return e, nil
}

// activateLua makes the Lua engine the active ruleset if its _G.ruleset
// is a table, and drops the active ruleset otherwise (the engine stays,
// for the next reload of a -c config).
func (d *daemon) activateLua() {
	if d.lua.HasRuleset() {
		d.setActive(d.lua)
	} else {
		d.setActive(nil)
	}
}

// setActive installs e (nil for none) as the ruleset the API sees.
func (d *daemon) setActive(e engine) {
	if e == nil {
		d.active.Store(nil)
		return
	}
	d.active.Store(&engineBox{e})
}

// activeEngine returns the active ruleset, or nil.
func (d *daemon) activeEngine() engine {
	if b := d.active.Load(); b != nil {
		return b.e
	}
	return nil
}

// engineBox lets an interface value live behind an atomic.Pointer.
type engineBox struct{ e engine }

// resolve serves the engines' name resolution with the current dialer.
func (d *daemon) resolve(ctx context.Context, host string) (netip.Addr, error) {
	return d.dialer().Resolve(ctx, host)
}

// listenAPI binds the --api listener with the same socket options as the
// proxy listeners.
func listenAPI(conf *config.Config) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil && conf.ReusePort {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", conf.RestAPI)
}

func netipAddrOf(a net.Addr) (netip.Addr, error) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}
