package script

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
)

func TestLoadConfig(t *testing.T) {
	te := newTestEngine(t, Options{})
	cfg := config.Default()
	cfg.Timeout = 12
	cfg.Listen = "0.0.0.0:1"
	cfg.TCPNoDelay = true
	if err := te.LoadConfig("testdata/boot/config.lua", &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:1080" || cfg.RestAPI != "127.0.0.1:9080" || cfg.Timeout != 30.5 ||
		cfg.LogLevel != 6 || cfg.MemLimit != 64 || !cfg.TCPNoDelay {
		t.Errorf("fields not applied: %+v", cfg)
	}
	if !te.HasRuleset() {
		t.Fatal("ruleset field not installed")
	}
	if d := routeOf(t, te.Engine, route.Resolve, "x.test:81"); d.Target != "127.0.0.1:81" {
		t.Errorf("ruleset from config (with require beside the script): %v %q", d, d.Reason)
	}
	te.invoke(t, `assert(_G.seen_timeout == 12, "config() during -c must show command-line values: " .. tostring(_G.seen_timeout))`)
	if te.Runtime().MemLimit != 64<<20 {
		t.Errorf("memlimit not applied to the engine: %d", te.Runtime().MemLimit)
	}
	// SIGHUP re-runs the same script in the same VM
	te.invoke(t, `_G.seen_timeout = nil; _G.kept = true`)
	if err := te.Reload(&cfg); err != nil {
		t.Fatal(err)
	}
	te.invoke(t, `assert(_G.kept and _G.seen_timeout == 30.5)`)
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"badtype.lua", "boot: field `loglevel' must be an integer\nconfig: failed to load fields"},
		{"badruleset.lua", "config: `ruleset' must be a table; use `-r' for a standalone ruleset file"},
		{"notable.lua", "config: expected table, got number"},
		{"missing.lua", "cannot open testdata/boot/missing.lua"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			te := newTestEngine(t, Options{})
			cfg := config.Default()
			before := cfg
			err := te.LoadConfig("testdata/boot/"+tc.file, &cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if cfg != before {
				t.Errorf("a failed load changed the configuration")
			}
		})
	}
	te := newTestEngine(t, Options{})
	cfg := config.Default()
	if err := te.LoadConfig("testdata/boot/assigns.lua", &cfg); err != nil || cfg.MaxSessions != 100 || !te.HasRuleset() {
		t.Fatalf("config assigning _G.ruleset: %v %d %v", err, cfg.MaxSessions, te.HasRuleset())
	}
}

func TestLoadRulesetForms(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/basic.lua.gz")
	if d := routeOf(t, te.Engine, route.Resolve, "chain.test:1"); d.Chain.Len() != 3 {
		t.Errorf("gzip ruleset: %v", d)
	}
	lib := loadTestRuleset(t, Options{}, "testdata/boot/libruleset.lua")
	// without Request.Dial, await.forward commits to a plain decision
	if d := routeOf(t, lib.Engine, route.Resolve, "lib.test:80"); d.Verdict != route.Forward || d.Target != "127.0.0.1:9" {
		t.Errorf("libruleset decision: %v %q %q", d.Verdict, d.Target, d.Reason)
	}
	// with it, a dial failure is a rejection
	refused := func(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
		return nil, &dial.Error{Kind: dial.Connect}
	}
	d, err := lib.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "lib.test:80", Dial: refused})
	if err != nil || d.Verdict != route.Reject {
		t.Errorf("libruleset with a failing dial: %v %v %q", err, d.Verdict, d.Reason)
	}
	bad := newTestEngine(t, Options{})
	if err := bad.LoadRuleset("testdata/boot/notable.lua"); err == nil || err.Error() != "ruleset: expected table, got number" {
		t.Fatalf("non-table ruleset: %v", err)
	}
	if bad.HasRuleset() {
		t.Error("HasRuleset after a failed load")
	}
	if err := bad.LoadRuleset("testdata/boot/badsyntax.lua"); err == nil {
		t.Fatal("missing file loaded")
	}
	if err := te.Update(context.Background(), "", "", []byte("return {")); err == nil || !strings.Contains(err.Error(), "ruleset:") {
		t.Fatalf("syntax error text: %v", err)
	}
}

func TestReloadKeepsOldRulesetOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.lua")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`_G.loads = (_G.loads or 0) + 1
return { resolve = function(addr) return "127.0.0.1:" .. _G.loads end }`)
	te := loadTestRuleset(t, Options{}, path)
	write(`return { resolve = function(addr) return "127.0.0.1:" .. (_G.loads + 10) end }`)
	if err := te.Reload(te.cfg); err != nil {
		t.Fatal(err)
	}
	if d := routeOf(t, te.Engine, route.Resolve, "a.test:1"); d.Target != "127.0.0.1:11" {
		t.Fatalf("after reload: %v", d)
	}
	write(`return {`)
	if err := te.Reload(te.cfg); err == nil {
		t.Fatal("broken reload accepted")
	}
	write(`error("at load time")`)
	if err := te.Reload(te.cfg); err == nil || !strings.Contains(err.Error(), "at load time") {
		t.Fatalf("raising reload: %v", err)
	}
	if d := routeOf(t, te.Engine, route.Resolve, "a.test:1"); d.Target != "127.0.0.1:11" {
		t.Fatalf("old ruleset not kept: %v", d)
	}

	// a -c reload whose table has no ruleset and leaves none drops it
	cpath := filepath.Join(dir, "c.lua")
	if err := os.WriteFile(cpath, []byte(`_G.ruleset = { resolve = function(a) return a end }
return { traceback = true }`), 0o644); err != nil {
		t.Fatal(err)
	}
	ce := newTestEngine(t, Options{})
	cfg := config.Default()
	if err := ce.LoadConfig(cpath, &cfg); err != nil || !ce.HasRuleset() || !cfg.Traceback {
		t.Fatalf("config: %v %v %v", err, ce.HasRuleset(), cfg.Traceback)
	}
	if err := ce.Invoke(context.Background(), []byte(`error("tb")`)); err == nil || !strings.Contains(err.Error(), "stack traceback") {
		t.Errorf("traceback from the config table not applied: %v", err)
	}
	if err := os.WriteFile(cpath, []byte(`_G.ruleset = nil return {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ce.Reload(&cfg); err != nil || ce.HasRuleset() {
		t.Fatalf("reload dropping the ruleset: %v %v", err, ce.HasRuleset())
	}
}

func TestLoadConfigWarnsUnknownFields(t *testing.T) {
	te := newTestEngine(t, Options{})
	path := filepath.Join(t.TempDir(), "config.lua")
	src := `return { listne = "127.0.0.1:1", colour = "blue", loglevel = 5, ruleset = {}, [1] = true }`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	if err := te.LoadConfig(path, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != 5 || cfg.Listen != "" {
		t.Errorf("known fields must apply and unknown ones be ignored: %+v", cfg)
	}
	out := te.log.String()
	for _, want := range []string{
		path + ": unknown field `listne' is ignored; did you mean `listen'?",
		path + ": unknown field `colour' is ignored\"",
		path + ": key 1 is no field name and is ignored",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, quiet := range []string{"`loglevel'", "`ruleset'"} {
		if strings.Contains(out, quiet) {
			t.Errorf("log warns about the known key %s:\n%s", quiet, out)
		}
	}
}
