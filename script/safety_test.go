package script

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

func TestRunawayCallbacks(t *testing.T) {
	te := loadTestRuleset(t, Options{Budget: 150 * time.Millisecond}, "testdata/safety.lua")
	tests := []struct {
		name, addr, reason string
	}{
		{name: "infinite loop", addr: "loop.test:1", reason: ErrBudget.Error()},
		{name: "loop around pcall", addr: "pcallloop.test:1", reason: ErrBudget.Error()},
		{name: "unbounded allocation", addr: "alloc.test:1", reason: ""},
		{name: "vararg recursion", addr: "vararg.test:1", reason: "overflow"},
		{name: "string.rep 2^33", addr: "rep.test:1", reason: "resulting string too large"},
		{name: "yield in sort comparator", addr: "sortyield.test:1", reason: "attempt to yield across a C-call boundary"},
		{name: "yield in metamethod", addr: "metayield.test:1", reason: "attempt to yield across a C-call boundary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// other requests keep flowing while and after the bad one runs
			done := make(chan route.Decision, 1)
			go func() {
				d, _ := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: tc.addr})
				done <- d
			}()
			var d route.Decision
			select {
			case d = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the bad request never finished")
			}
			if d.Verdict != route.Error || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("decision %v %q, want error containing %q", d.Verdict, d.Reason, tc.reason)
			}
			if d := routeOf(t, te.Engine, route.Resolve, "ok.test:8"); d.Verdict != route.Forward || d.Target != "127.0.0.1:8" {
				t.Fatalf("next request: %v", d)
			}
		})
	}
	if n := te.Safety().Runaways; n < 2 {
		t.Errorf("runaways counted %d, want at least 2", n)
	}
	if !strings.Contains(te.log.String(), ErrBudget.Error()) {
		t.Errorf("runaway not logged:\n%s", te.log.String())
	}
	for _, tc := range []string{"pcallvararg.test:1", "xpcallvararg.test:1"} {
		if d := routeOf(t, te.Engine, route.Resolve, tc); d.Verdict != route.Reject {
			t.Errorf("%s: %v %q", tc, d.Verdict, d.Reason)
		}
	}
}

func TestRunawayMainThread(t *testing.T) {
	te := loadTestRuleset(t, Options{Budget: 150 * time.Millisecond}, "testdata/safety.lua")
	for _, code := range []string{
		"while true do end",
		"while true do pcall(function() while true do end end) end",
		"local function f(...) f(1, ...) end f()",
		"local t = {} while true do t[#t+1] = tostring(#t) end",
	} {
		err := te.Invoke(context.Background(), []byte(code))
		if err == nil {
			t.Fatalf("%q: no error", code)
		}
		te.invoke(t, "_G.alive = true")
	}
}

func TestGoPanicRebuildsVM(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/basic.lua")
	if err := te.Update(context.Background(), "extra", "", []byte("return { answer = 42 }")); err != nil {
		t.Fatal(err)
	}
	if err := te.Update(context.Background(), "", "", []byte(`return { resolve = function(a) return "127.0.0.1:7" end }`)); err != nil {
		t.Fatal(err)
	}
	te.invoke(t, "_G.transient = true")
	_ = te.do(context.Background(), func(v *vm) { panic("simulated gopher-lua panic") })
	if d := routeOf(t, te.Engine, route.Resolve, "example.com:443"); d.Verdict != route.Forward || d.Target != "127.0.0.1:7" {
		t.Fatalf("after rebuild: %v %q %q", d.Verdict, d.Target, d.Reason)
	}
	te.invoke(t, `assert(package.loaded.extra.answer == 42, "module update not replayed")
assert(_G.transient == nil, "state not rebuilt")`)
	if te.Safety().Rebuilds != 1 {
		t.Errorf("rebuilds %d", te.Safety().Rebuilds)
	}
}

func TestMemLimitAbortsAllocatingEntry(t *testing.T) {
	c := configForTest()
	c.MemLimit = 1 // MiB: the process heap is always above it
	te := loadTestRuleset(t, Options{Config: c, Budget: time.Minute}, "testdata/safety.lua")
	start := time.Now()
	d := routeOf(t, te.Engine, route.Resolve, "alloc.test:1")
	if d.Verdict != route.Error || !strings.Contains(d.Reason, ErrBudget.Error()) {
		t.Fatalf("allocating callback: %v %q", d.Verdict, d.Reason)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the memory limit did not cut the entry short")
	}
	if d := routeOf(t, te.Engine, route.Resolve, "ok.test:8"); d.Verdict != route.Forward {
		t.Fatalf("next request: %v", d)
	}
	if te.Runtime().MemLimit != 1<<20 {
		t.Errorf("MemLimit %d", te.Runtime().MemLimit)
	}
}

// TestCrashCasesWithTraceback repeats the stack-overflow cases with
// --traceback, where gopher-lua builds tracebacks of overflowed stacks.
func TestCrashCasesWithTraceback(t *testing.T) {
	c := configForTest()
	c.Traceback = true
	te := loadTestRuleset(t, Options{Config: c}, "testdata/safety.lua")
	for _, a := range []string{"vararg.test:1", "pcallvararg.test:1", "xpcallvararg.test:1", "rep.test:1"} {
		d := routeOf(t, te.Engine, route.Resolve, a)
		if d.Verdict == route.Forward {
			t.Errorf("%s: forwarded", a)
		}
	}
	for _, code := range []string{
		"local function f(...) f(1, ...) end f()",
		"local function f(...) return f(1, ...), 1 end f()",
		"local function f(...) local t = {...} f(unpack(t), 1, 2, 3) end f()",
		"string.rep('x', 2^33)",
		"string.rep('x', 2^20, string.rep('y', 2^20))",
	} {
		if err := te.Invoke(context.Background(), []byte(code)); err == nil {
			t.Errorf("%q: no error", code)
		}
	}
	// caught on the main thread as in Lua 5.4: xpcall returns false and
	// the handler's traceback of the overflowed stack
	for _, code := range []string{
		"local function f(...) f(1, ...) end local ok, tb = xpcall(f, debug.traceback) assert(not ok and tb:find('stack overflow'), tb)",
		"local function f(...) f(1, ...) end local ok, tb = xpcall(f, neosocksd.traceback) assert(not ok and tb:find('stack overflow'), tb)",
		"local function f(...) f(1, ...) end local ok, e = pcall(f) assert(not ok and e:find('stack overflow'), e)",
	} {
		if err := te.Invoke(context.Background(), []byte(code)); err != nil {
			t.Errorf("%q: %v", code, err)
		}
	}
	if d := routeOf(t, te.Engine, route.Resolve, "ok.test:8"); d.Verdict != route.Forward {
		t.Fatalf("after the crash cases: %v %q", d.Verdict, d.Reason)
	}
	t.Logf("rebuilds: %d", te.Safety().Rebuilds)
}

func TestStuckInNativeCodeIsReported(t *testing.T) {
	slow := func(ctx context.Context, host string) (netip.Addr, error) {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		return netip.MustParseAddr("192.0.2.1"), nil
	}
	te := loadTestRuleset(t, Options{Budget: 50 * time.Millisecond, Resolve: slow}, "testdata/basic.lua")
	err := te.Invoke(context.Background(), []byte(`neosocksd.resolve("slow.test") _G.after = true`))
	if err == nil || !strings.Contains(err.Error(), ErrBudget.Error()) {
		t.Fatalf("blocking native call: %v", err)
	}
	if !strings.Contains(te.log.String(), "ruleset stuck in native code") {
		t.Errorf("not reported:\n%s", te.log.String())
	}
	te.invoke(t, `assert(_G.after == nil)`)
}
