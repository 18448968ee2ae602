package script

import (
	"context"
	"net"
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
