package main

import (
	"fmt"
	"log/slog"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// checkOnly serves --check and --dump-config: it runs start-up's own
// checks and loads (checkConfig, daemon.load) and exits without binding a
// listener, daemonizing or dropping privileges.
//
// --dump-config without -c keeps the original's behaviour: the config
// check, then the dump, and a -r file is not read. With -c the config file
// runs first, so the dump shows what it set (the original ignores the
// file here, which makes the option useless for checking one). --check
// also loads -r, resolves -u's user and group, and prints "configuration
// ok" on success. Warnings and errors go to the log as at start-up; the
// exit status is 0 or 1.
func checkOnly(o *options, log *slog.Logger, level *slog.LevelVar) int {
	conf := &o.conf
	if conf.Config == "" {
		if err := checkConfig(log, conf); err != nil {
			return fatal(log, "%s", err)
		}
		if o.dumpConfig && !o.check {
			fmt.Print(conf.DumpLua())
			return 0
		}
	}
	level.Set(config.SlogLevel(conf.LogLevel))
	d := newDaemon(conf, log, level)
	err := d.load()
	if d.lua != nil {
		d.lua.Close()
	}
	if err != nil {
		return reportLoad(log, err)
	}
	if o.check && conf.UserName != "" {
		if _, err := parseIdentity(conf.UserName); err != nil {
			return fatal(log, "-u %s: %s", conf.UserName, err)
		}
	}
	if o.dumpConfig {
		fmt.Print(conf.DumpLua())
		return 0
	}
	fmt.Println("configuration ok")
	return 0
}
