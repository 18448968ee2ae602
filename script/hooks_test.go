package script

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

func TestHooksAndTheirErrors(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	ctx := context.Background()
	q := "abc"
	if got := te.Stats(ctx, 1500*time.Millisecond, &q); got != "dt=number q=abc" {
		t.Errorf("stats: %q", got)
	}
	if got := te.Stats(ctx, time.Second, nil); got != "dt=number q=nil" {
		t.Errorf("stats without q: %q", got)
	}
	if got := te.Metrics(ctx); !strings.Contains(got, "lua_test 1") {
		t.Errorf("metrics: %q", got)
	}
	if got := te.Healthy(ctx); got != "" {
		t.Errorf("healthy: %q", got)
	}
	te.invoke(t, `mode.healthy = "sick"`)
	if got := te.Healthy(ctx); got != "sick" {
		t.Errorf("sick: %q", got)
	}

	te.invoke(t, `mode.resolve, mode.route, mode.route6 = "raise", "raise", "raise"
mode.stats, mode.metrics, mode.healthy, mode.tick = "raise", "raise", "raise", "raise"`)
	for _, r := range []struct {
		cb   route.Callback
		addr string
	}{{route.Resolve, "a.test:1"}, {route.Route, "192.0.2.1:1"}, {route.Route6, "[::1]:1"}} {
		d := routeOf(t, te.Engine, r.cb, r.addr)
		if d.Verdict != route.Error || !strings.Contains(d.Reason, r.cb.String()+" failed") {
			t.Errorf("%s: %v %q", r.cb, d.Verdict, d.Reason)
		}
	}
	if got := te.Stats(ctx, time.Second, nil); !strings.Contains(got, "stats failed") {
		t.Errorf("raising stats: %q", got)
	}
	if got := te.Metrics(ctx); got != "" {
		t.Errorf("raising metrics: %q", got)
	}
	if got := te.Healthy(ctx); !strings.Contains(got, "healthy failed") {
		t.Errorf("raising healthy: %q", got)
	}
	te.invoke(t, `mode.stats = "table"`)
	if got := te.Stats(ctx, time.Second, nil); !strings.Contains(got, "healthy failed") {
		t.Errorf("stats returning a table appends the last error: %q", got)
	}
	// tick keeps running after errors
	te.invoke(t, `neosocksd.setinterval(0.01)`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		done := false
		_ = te.do(ctx, func(v *vm) {
			done = v.L.DoString(`assert(_G.ticks >= 3)`) == nil
		})
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tick did not keep running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	te.invoke(t, `neosocksd.setinterval(0)`)
	if !strings.Contains(te.log.String(), "ruleset.tick: ") || !strings.Contains(te.log.String(), "tick failed") {
		t.Errorf("tick error not logged:\n%s", te.log.String())
	}

	// a ruleset replaced by a non-table: Route cannot start (HTTP 500)
	te.invoke(t, `_G.ruleset = nil`)
	if _, err := te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "a.test:1"}); err == nil ||
		!strings.Contains(err.Error(), "attempt to index a nil value") {
		t.Errorf("Route with no ruleset table: %v", err)
	}
	if got := te.Healthy(ctx); !strings.Contains(got, "attempt to index") {
		t.Errorf("healthy without ruleset table: %q", got)
	}
}

func TestInvokeSandboxAndLastError(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	te.invoke(t, "x = 1; _G.y = 2")
	te.invoke(t, `assert(x == nil and y == 2, "sandbox leaked")`)
	err := te.Invoke(context.Background(), []byte(`error("kaput")`))
	if err == nil || !strings.Contains(err.Error(), "kaput") {
		t.Fatalf("invoke error: %v", err)
	}
	te.invoke(t, `assert(tostring(neosocksd.stats().lasterror):find("kaput"), "lasterror not recorded")`)
	err = te.Invoke(context.Background(), []byte(`await.sleep(1)`))
	if err == nil || !strings.Contains(err.Error(), "not in asynchronous routine") {
		t.Fatalf("await on the main thread: %v", err)
	}
	if err := te.Invoke(context.Background(), []byte("return +")); err == nil || !strings.Contains(err.Error(), "(invoke):1:") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestUpdateModule(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	ctx := context.Background()
	te.invoke(t, `_G.mymod = require("testdata.mymod")`)
	if err := te.Update(ctx, "testdata.mymod", "", []byte(`return { v = 2 }`)); err != nil {
		t.Fatal(err)
	}
	// not aliased: _G.mymod is not _G["testdata.mymod"]
	te.invoke(t, `assert(package.loaded["testdata.mymod"].v == 2 and _G.mymod.v == 1)`)
	te.invoke(t, `_G.alias = { v = 1 }; package.loaded.alias = _G.alias`)
	if err := te.Update(ctx, "alias", "", []byte(`local name = ... ; return { v = 3, name = name }`)); err != nil {
		t.Fatal(err)
	}
	te.invoke(t, `assert(_G.alias.v == 3 and _G.alias.name == "alias" and package.loaded.alias == _G.alias)`)
	if err := te.Update(ctx, "alias", "", []byte(`_G.ran = true`)); err != nil {
		t.Fatal(err)
	}
	te.invoke(t, `assert(package.loaded.alias == true and _G.alias == nil and _G.ran)`)
	if err := te.Update(ctx, "alias", "", []byte(`error("nope")`)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("failed module update: %v", err)
	}
	if err := te.Update(ctx, "", "@x.lua", []byte(`error("bad ruleset")`)); err == nil || !strings.Contains(err.Error(), "x.lua:1: bad ruleset") {
		t.Fatalf("failed ruleset update: %v", err)
	}
	if d := routeOf(t, te.Engine, route.Resolve, "a.test:1"); d.Verdict != route.Forward {
		t.Fatalf("old ruleset lost: %v", d)
	}
}

// TestUpdateLibrulesetFor54 replaces the module "libruleset" with one
// written for standard Lua 5.4 (64-bit IPv6 masks over parse_ipv6's (hi,
// lo)), as /ruleset/update?module=libruleset does; every later ruleset
// load must keep working and route IPv6 by those masks.
func TestUpdateLibrulesetFor54(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/trivial.lua")
	ctx := context.Background()
	mod, err := os.ReadFile("testdata/libruleset54.lua")
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Update(ctx, "libruleset", "@libruleset.lua", mod); err != nil {
		t.Fatalf("module update: %v", err)
	}
	rs, err := os.ReadFile("testdata/uses_libruleset54.lua")
	if err != nil {
		t.Fatal(err)
	}
	for i, port := range []string{"7", "8"} {
		te.invoke(t, "_G.PORT6 = "+port)
		if err := te.Update(ctx, "", "@ruleset.lua", rs); err != nil {
			t.Fatalf("ruleset load %d after the module update: %v", i+1, err)
		}
		for _, tc := range []struct {
			addr string
			want route.Verdict
			to   string
		}{
			{"[fe80::1]:80", route.Reject, ""},
			{"[febf:ffff::1]:80", route.Reject, ""},
			{"[fec0::1]:80", route.Forward, "[fec0::1]:80"},
			{"[2001:db8:ffff::1]:443", route.Forward, "[::1]:" + port},
			{"[2001:db9::1]:443", route.Forward, "[2001:db9::1]:443"},
			{"[fd12::1]:22", route.Forward, "[::1]:" + port},
		} {
			d := routeOf(t, te.Engine, route.Route6, tc.addr)
			if d.Verdict != tc.want || tc.to != "" && d.Target != tc.to {
				t.Errorf("load %d: route6 %s = %v %q, want %v %q", i+1, tc.addr, d.Verdict, d.Target, tc.want, tc.to)
			}
		}
	}
}

func TestGCAndClose(t *testing.T) {
	// building the junk is not what is tested: a generous budget keeps a
	// loaded machine from aborting it
	te := loadTestRuleset(t, Options{Budget: 10 * time.Second}, "testdata/basic.lua")
	te.invoke(t, `_G.junk = {} for i = 1, 1e5 do _G.junk[i] = { i } end _G.junk = nil`)
	before, after, err := te.GC(context.Background())
	if err != nil || before.Allocated == 0 || after.Allocated == 0 {
		t.Fatalf("GC: %v %+v %+v", err, before, after)
	}
	if rt := te.Runtime(); rt.Events.N == 0 {
		t.Errorf("no entries timed: %+v", rt)
	}
	// a request parked in a long sleep is answered when the engine closes
	te.invoke(t, `_G.ruleset.resolve = function() await.sleep(60) return "a.test:1" end`)
	done := make(chan error, 1)
	go func() {
		_, err := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "x.test:1"})
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); te.Runtime().ThreadsActive == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never started")
		}
	}
	te.Close()
	select {
	case err := <-done:
		if err != nil && err != ErrClosed {
			t.Errorf("pending Route after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending Route not released by Close")
	}
	if _, err := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "x.test:1"}); err != ErrClosed {
		t.Errorf("Route after Close: %v", err)
	}
}

func TestIdleTicking(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	te.invoke(t, `neosocksd.setinterval(-1)`)
	for deadline := time.Now().Add(5 * time.Second); te.Invoke(context.Background(), []byte(`assert(_G.ticks >= 5)`)) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("idle ticking did not run")
		}
	}
	te.invoke(t, `neosocksd.setinterval(0/0) _G.ticks = 0`)
	// requests still flow while ticking ran, and it is stopped now
	if d := routeOf(t, te.Engine, route.Resolve, "a.test:1"); d.Verdict != route.Forward {
		t.Fatal(d)
	}
	te.invoke(t, `assert(_G.ticks == 0)`)
}

// TestRequestGraphFromFirstRequest routes requests through libruleset
// before any tick and expects its POST /stats graph to count them.
func TestRequestGraphFromFirstRequest(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/boot/libruleset.lua")
	for range 3 {
		routeOf(t, te.Engine, route.Resolve, "lib.test:80")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := te.Stats(ctx, time.Second, nil)
	want := "> Request Stats (avg=3.0/min, max=3)\n*\n*\n*\n*\n*\n-*"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("stats end:\n%s\nwant the graph:\n%s", got, want)
	}
}
