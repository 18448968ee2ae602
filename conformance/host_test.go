package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/script"
)

// TestProtectedCallsReadAlike runs the same protected calls on the
// daemon's engine (the scheduler's configuration of stdlib's host layer)
// and on LuaEngine (the synchronous configuration): what pcall, xpcall and
// the coroutine functions that see through them return must read the same,
// or the suite would compare rulesets under rules the daemon does not
// have. Each case's results come back as the error of the route callback.
// The daemon runs a callback in a routine and LuaEngine on the main
// thread, so cases that need a coroutine make their own.
//
// The cases from "pcall is the host layer's" on read differently when
// the engines do not share the host layer's code: before they did, the
// synchronous engine's pcall was a Go function ("=[C]"), named a Go
// function's bad argument "(anonymous)", could not yield inside a
// coroutine, said a coroutine was not yieldable, "normal" and resumable
// inside its own pcall (resuming it overflowed the Go stack), let a yield
// across a Go call corrupt the coroutine ("register underflow") and raised
// a wrapped coroutine's error without its caller's position.
func TestProtectedCallsReadAlike(t *testing.T) {
	cases := []struct{ name, body string }{
		{"error from pcall", `return pcall(error, "boom")`},
		{"error with level 2", `return pcall(function() error("up", 2) end)`},
		{"error position", `return pcall(function() error("where") end)`},
		{"call a nil", `return pcall(nil)`},
		{"call a table", `return pcall({})`},
		{"callable table", `return pcall(setmetatable({}, {__call = function(_, x) return x end}), 7)`},
		{"no results", `return select("#", pcall(function() end))`},
		{"trailing nils", `return select("#", pcall(function() return 1, nil, nil end))`},
		{"xpcall handler", `return xpcall(error, function(m) return "h:" .. m end, "e")`},
		{"xpcall call a nil", `return xpcall(nil, function(m) return "h:" .. m end)`},
		{"handler raises", `return xpcall(error, function(m) error("h") end, "x")`},
		{"handler raises on nil", `return xpcall(nil, function(m) error("h", 0) end)`},
		{"nested", `return pcall(pcall, error, "in")`},
		{"nested xpcall, failing inner handler", `return xpcall(function()
			return xpcall(error, function() error("h2") end, "in")
		end, function(m) return "outer:" .. tostring(m) end)`},
		{"handler runs before unwinding", `local function deep() error("deep", 0) end
			return xpcall(function() deep() end, function(m) return m .. "@" .. debug.getinfo(2, "n").name end)`},
		{"running is not pcall", `local a = coroutine.running(); return pcall(function() return coroutine.running() == a end)`},
		{"error value not a str", `local ok, e = pcall(error, 42); return ok, math.type(e), e`},
		{"upvalues shared after a caught error", `local x = 1
			local function get() return x end
			pcall(function() x = 5 error("boom") end)
			x = x + 1
			return get()`},
		{"escaped closure keeps its value", `local escaped
			pcall(function() local secret = "mine" escaped = function() return secret end error("boom") end)
			local function clobber() local a, b, c, d = "x1", "x2", "x3", "x4" return a, b, c, d end
			clobber()
			return escaped()`},
		{"pcall is the host layer's", `local p, x = debug.getinfo(pcall, "S"), debug.getinfo(xpcall, "S")
			return p.source, p.what, p.linedefined, x.source, x.linedefined`},
		{"bad argument of a Go function", `return pcall(string.rep)`},
		{"yield inside pcall", `local co = coroutine.wrap(function(a)
				return pcall(function(x) local y = coroutine.yield(x + 1) return y * 2 end, a)
			end)
			local first = co(1)
			return first, co(5)`},
		{"yield through nested protected calls", `local co = coroutine.wrap(function()
				return pcall(pcall, xpcall, function() return coroutine.yield("deep") .. "!" end, print)
			end)
			local first = co()
			return first, co("back")`},
		{"error after a yield, with a handler", `local co = coroutine.wrap(function()
				return xpcall(function() coroutine.yield() error("late", 0) end, function(m) return "h:" .. m end)
			end)
			co()
			return co()`},
		{"isyieldable inside pcall", `return coroutine.wrap(function() return pcall(coroutine.isyieldable) end)()`},
		{"running inside pcall", `return coroutine.wrap(function()
				local me = coroutine.running()
				return pcall(function() local r, main = coroutine.running() return r == me, main end)
			end)()`},
		{"status inside pcall", `return coroutine.wrap(function()
				local me = coroutine.running()
				return pcall(function() return coroutine.status(me) end)
			end)()`},
		{"resume the running coroutine from pcall", `return coroutine.wrap(function()
				return pcall(coroutine.resume, (coroutine.running()))
			end)()`},
		{"yield across a Go call inside pcall", `return coroutine.wrap(function()
				return pcall(table.sort, {3, 1, 2}, function(a, b) coroutine.yield() return a < b end)
			end)()`},
		{"yield across a Go call outside pcall", `local co = coroutine.create(function()
				table.sort({3, 1, 2}, function(a, b) coroutine.yield() return a < b end)
			end)
			return coroutine.resume(co)`},
		{"error raised through wrap", `return pcall(coroutine.wrap(function() error("x") end))`},
		{"error raised through wrap called from Lua", `local f = coroutine.wrap(function() error("x") end)
			return pcall(function() f() end)`},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := `local function show(...)
	local t = table.pack(...)
	for i = 1, t.n do t[i] = tostring(t[i]) end
	return table.concat(t, "|")
end
return { resolve = function() error(show((function() ` + tc.body + ` end)()), 0) end }
`
			path := filepath.Join(dir, "rules.lua")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			c := config.Default()
			daemon, err := script.New(script.Options{Config: &c})
			if err != nil {
				t.Fatal(err)
			}
			defer daemon.Close()
			if err := daemon.LoadRuleset(path); err != nil {
				t.Fatal(err)
			}
			d, err := daemon.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "example.test:80"})
			if err != nil || d.Verdict != route.Error {
				t.Fatalf("daemon: %v, %v, want an error decision", d, err)
			}
			sync, err := NewLuaEngine("lua", []byte(src), "=ruleset", LuaOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer sync.Close()
			out, err := sync.Decide(Request{Callback: route.Resolve, Addr: "example.test:80"})
			if err != nil || out.Verdict != route.Error {
				t.Fatalf("conformance: %v, %v, want an error outcome", out, err)
			}
			if d.Reason != out.Reason {
				t.Errorf("daemon reads %q, conformance %q", d.Reason, out.Reason)
			}
		})
	}
}
