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
// daemon's engine (the scheduler's host) and on LuaEngine (the
// synchronous host): what pcall and xpcall return must read the same, or
// the suite would compare rulesets under rules the daemon does not have.
// Each case's results come back as the error of the route callback.
// Left out: the name in "bad argument #1 to f" of a Go function that
// pcall calls directly, which each host's helper chunk gives differently
// (Lua 5.4 says 'string.rep').
func TestProtectedCallsReadAlike(t *testing.T) {
	cases := map[string]string{
		"error from pcall":      `return pcall(error, "boom")`,
		"error with level 2":    `return pcall(function() error("up", 2) end)`,
		"call a nil":            `return pcall(nil)`,
		"call a table":          `return pcall({})`,
		"callable table":        `return pcall(setmetatable({}, {__call = function(_, x) return x end}), 7)`,
		"no results":            `return select("#", pcall(function() end))`,
		"xpcall handler":        `return xpcall(error, function(m) return "h:" .. m end, "e")`,
		"xpcall call a nil":     `return xpcall(nil, function(m) return "h:" .. m end)`,
		"handler raises":        `return xpcall(error, function(m) error("h") end, "x")`,
		"handler raises on nil": `return xpcall(nil, function(m) error("h", 0) end)`,
		"nested":                `return pcall(pcall, error, "in")`,
		"running is not pcall":  `local a = coroutine.running(); return pcall(function() return coroutine.running() == a end)`,
		"error value not a str": `local ok, e = pcall(error, 42); return ok, math.type(e), e`,
	}
	dir := t.TempDir()
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			src := `local function show(...)
	local t = table.pack(...)
	for i = 1, t.n do t[i] = tostring(t[i]) end
	return table.concat(t, "|")
end
return { resolve = function() error(show((function() ` + body + ` end)()), 0) end }
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
