package script

import (
	"context"
	"testing"
)

// TestMainThreadProtectedCalls checks pcall/xpcall made by the main thread
// (ruleset loading, invoke): they run in a pooled thread like those of
// routines, so upvalues stay shared across a caught error, results keep
// their trailing nils and a yield inside fails as in Lua 5.4.
func TestMainThreadProtectedCalls(t *testing.T) {
	te := loadTestRuleset(t, Options{Config: configForTest()}, "testdata/safety.lua")
	for _, code := range []string{
		// upvalues shared with the running frame after a caught error
		`local x = 1
		local function get() return x end
		for _, catch in ipairs({pcall, function(f) return xpcall(f, function(m) return m end) end}) do
			x = 1
			assert(not catch(function() error("boom") end))
			x = 2
			assert(get() == 2, "closure sees the frame's write")
		end`,
		// an escaped closure keeps its own value
		`for _, catch in ipairs({pcall, function(f) return xpcall(f, function(m) return m end) end}) do
			local escaped
			catch(function()
				local secret = "mine"
				escaped = function() return secret end
				error("boom")
			end)
			local function clobber() local a, b, c, d, e = "x1", "x2", "x3", "x4", "x5" return a, b, c, d, e end
			clobber()
			assert(escaped() == "mine", tostring(escaped()))
		end`,
		`assert(select('#', pcall(function() return nil end)) == 2, 'one nil')`,
		`assert(select('#', pcall(function() end)) == 1, 'no results')`,
		`assert(select('#', xpcall(function(...) return ... end, print, 1, nil)) == 3, 'xpcall arguments')`,
		`local e = {} local ok, v = pcall(error, e) assert(not ok and v == e, 'table error')`,
		`local ok, v = pcall(error, "plain") assert(not ok and v == "plain", v)`,
		`local ok, v = pcall(coroutine.yield, 1) assert(not ok and v == 'attempt to yield from outside a coroutine', v)`,
		`local ok, v = xpcall(function() local t = nil return t.x end, debug.traceback)
		assert(not ok and v:find("attempt to index") and v:find("stack traceback"), v)`,
		`local ok, v = xpcall(function() pcall(error, "inner") error("outer", 0) end, function(m) return "h:" .. m end)
		assert(not ok and v == "h:outer", v)`,
	} {
		if err := te.Invoke(context.Background(), []byte(code)); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}
}
