package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/script"
)

// loadEngine loads -c, -r or a route table, if any was given.
func (d *daemon) loadEngine() error {
	c := d.conf
	switch {
	case c.Ruleset != "" && isRouteTable(c.Ruleset):
		t, err := dsl.LoadFile(c.Ruleset, dsl.Options{
			AuthRequired: c.AuthRequired,
			Resolve:      d.dialer.Resolve,
			Logger:       d.log,
		})
		if err != nil {
			return fmt.Errorf("unable to load ruleset: %s\n%w", c.Ruleset, err)
		}
		d.engine = tableEngine{t}
	case c.Ruleset != "" || c.Config != "":
		e, err := script.New(script.Options{
			Config:  c,
			Stats:   d.stats,
			Dial:    d.dialWithBase,
			Resolve: d.dialer.Resolve,
			Logger:  d.log,
			Version: version,
			Started: d.started,
		})
		if err != nil {
			return fmt.Errorf("ruleset engine: %w", err)
		}
		if c.Config != "" {
			if err := e.LoadConfig(c.Config, c); err != nil {
				e.Close()
				d.log.Error("config load: " + err.Error())
				return fmt.Errorf("unable to load config: %s", c.Config)
			}
		} else if err := e.LoadRuleset(c.Ruleset); err != nil {
			e.Close()
			d.log.Error("ruleset load: " + err.Error())
			return fmt.Errorf("unable to load ruleset: %s", c.Ruleset)
		}
		if !e.HasRuleset() {
			// A config that installs no ruleset leaves the server without one.
			e.Close()
			return nil
		}
		d.engine = e
	}
	return nil
}

// tableEngine adapts a compiled route table to the daemon's engine
// interface.
type tableEngine struct{ *dsl.Engine }

func (t tableEngine) Reload(*config.Config) error { return t.Engine.Reload() }
func (t tableEngine) Close()                      {}

// listenAPI binds the --api listener with the same socket options as the
// proxy listeners.
func listenAPI(conf *config.Config) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil && conf.ReusePort {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
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
