-- pcall and xpcall results, error values, handlers and arguments as in
-- Lua 5.4. Pure Lua: runs on gopher-lua under `go test` and on Lua 5.4.
local H = dofile("testdata/harness.lua")
local eq, ok, pack = H.eq, H.ok, H.pack

-- results, including trailing nils
eq(pack(pcall(function() end)), { n = 1, true }, "no results")
eq(pack(pcall(function() return nil end)), { n = 2, true }, "one nil")
eq(pack(pcall(function() return 1, nil, nil end)), { n = 4, true, 1 }, "trailing nils")
eq(pack(pcall(function(...) return ... end, 1, nil, 3)), { n = 4, true, 1, nil, 3 }, "arguments")
eq(pack(pcall(select, "#", nil, nil)), { n = 2, true, 2 }, "Go function")
eq(pack(xpcall(function(...) return select("#", ...), ... end, print, "a", nil)), { n = 4, true, 2, "a" }, "xpcall arguments")
eq(pack(xpcall(function() return nil end, print)), { n = 2, true }, "xpcall one nil")

-- error values
local e = {}
eq(pack(pcall(error, e)), { n = 2, false, e }, "table error")
eq(pack(pcall(error, nil)), { n = 2, false }, "nil error")
eq(pack(pcall(error, "plain")), { n = 2, false, "plain" }, "Go function raising a string")
eq(pack(pcall(error, "lvl0", 0)), { n = 2, false, "lvl0" }, "level 0")
local okv, msg = pcall(function() error("where") end)
ok(not okv and msg:find("pcall_test.lua:%d+: where$") ~= nil, "position: " .. tostring(msg))
okv, msg = pcall(function() local t = nil; return t.x end)
ok(not okv and msg:find("attempt to index") ~= nil, "runtime error: " .. tostring(msg))
eq(pack(pcall(nil)), { n = 2, false, "attempt to call a nil value" }, "not callable")
eq(pack(pcall(setmetatable({}, { __call = function(self, a) return a * 2 end }), 21)), { n = 2, true, 42 }, "__call")

-- xpcall: the handler gets the error value and runs at the error point
eq(pack(xpcall(error, function(m) return "h:" .. tostring(m) end, "x", 0)), { n = 2, false, "h:x" }, "handler")
eq(pack(xpcall(function() error(e) end, function(m) return m == e end)), { n = 2, false, true }, "handler table value")
local function deep() error("deep error") end
local _, tb = xpcall(function() deep() end, debug.traceback)
ok(type(tb) == "string" and tb:find("deep error", 1, true) and tb:find("pcall_test.lua:%d+: in [^\n]*deep") ~= nil,
    "traceback shows the erroring frame: " .. tostring(tb))
local where
xpcall(function() deep() end, function(m)
    where = debug.traceback()
    return m
end)
ok(where ~= nil and where:find("pcall_test.lua:%d+: in [^\n]*deep") ~= nil, "handler runs before unwinding: " .. tostring(where))
eq(pack(xpcall(function() error("a") end, function() error("b", 0) end)), { n = 2, false, "error in error handling" }, "error in the handler")
okv = xpcall(function() error("a") end, function() error("b", 0) end)
eq(okv, false, "error in the handler fails the call")

-- a pcall nested in xpcall leaves the outer handler in place
local seen = {}
okv, msg = xpcall(function()
    seen[#seen + 1] = select(2, pcall(error, "inner", 0))
    error("outer", 0)
end, function(m) return "handled " .. m end)
eq({ okv, msg, seen[1] }, { false, "handled outer", "inner" }, "nested pcall in xpcall")

-- nested protected calls and results through several levels
eq(pack(pcall(pcall, error, "n", 0)), { n = 3, true, false, "n" }, "pcall(pcall, error)")
eq(pack(pcall(xpcall, function() return 1, 2 end, print)), { n = 4, true, true, 1, 2 }, "pcall(xpcall)")

-- coroutines: running inside pcall is the caller's thread
local co = coroutine.create(function()
    local inner = select(2, pcall(coroutine.running))
    return inner == coroutine.running()
end)
eq(pack(coroutine.resume(co)), { n = 2, true, true }, "coroutine.running inside pcall")
local main, ismain = select(2, pcall(coroutine.running))
eq(ismain, true, "ismain inside pcall on the main thread")
okv, msg = pcall(coroutine.yield, 1)
eq({ okv, msg }, { false, "attempt to yield from outside a coroutine" }, "yield on the main thread")

-- coroutines: a yield inside pcall suspends the coroutine, and what it is
-- resumed with goes back into the protected function
co = coroutine.create(function(a)
    local inner = { pcall(function(x)
        local y = coroutine.yield(x + 1, coroutine.isyieldable())
        local z = coroutine.yield(y * 2)
        return z, nil
    end, a) }
    return table.unpack(inner, 1, 3)
end)
eq(pack(coroutine.resume(co, 1)), { n = 3, true, 2, true }, "yield inside pcall, isyieldable there")
eq(pack(coroutine.resume(co, 5)), { n = 2, true, 10 }, "resumed into the protected function")
eq(pack(coroutine.resume(co, "z")), { n = 4, true, true, "z" }, "pcall returns at the end")
eq(coroutine.status(co), "dead", "the coroutine ended")
-- an error after a yield is caught by the pcall, and xpcall's handler
-- sees it where it was raised
co = coroutine.wrap(function()
    local r1 = pack(pcall(function() coroutine.yield("p") error("after", 0) end))
    local r2 = pack(xpcall(function() coroutine.yield("x") error("late", 0) end, function(m) return "h:" .. m end))
    local r3 = pack(xpcall(function() coroutine.yield("f") error("e", 0) end, function(m) error("in handler") end))
    return r1, r2, r3
end)
eq(co(), "p", "first yield")
eq(co(), "x", "second yield")
eq(co(), "f", "third yield")
local r1, r2, r3 = co()
eq(r1, { n = 2, false, "after" }, "error after a yield")
eq(r2, { n = 2, false, "h:late" }, "handler after a yield")
eq(r3, { n = 2, false, "error in error handling" }, "failing handler after a yield")
-- nested protected calls pass a yield through every level
co = coroutine.wrap(function()
    return pcall(pcall, xpcall, function() return coroutine.yield("deep") .. "!" end, print)
end)
eq(co(), "deep", "yield through three protected calls")
eq(pack(co("back")), { n = 4, true, true, true, "back!" }, "results through three protected calls")
-- a yield across a Go call (a sort comparator) still fails, and pcall
-- catches that
co = coroutine.wrap(function()
    return pcall(table.sort, { 3, 1, 2 }, function(a, b) coroutine.yield() return a < b end)
end)
okv, msg = co()
ok(okv == false and msg:find("attempt to yield across a C%-call boundary") ~= nil, "yield across a comparator: " .. tostring(msg))

-- coroutine.wrap raises a coroutine's error with its caller's position in
-- front (5.4)
local wrapped = coroutine.wrap(function() error("wrapped") end)
okv, msg = pcall(function() wrapped() end)
ok(not okv and msg:find("^[^:]*pcall_test.lua:%d+: [^:]*pcall_test.lua:%d+: wrapped$") ~= nil, "wrap's error: " .. tostring(msg))

-- many protected calls, errors included, in a loop
local n = 0
for i = 1, 200 do
    local s = pcall(function() if i % 2 == 0 then error("even") end end)
    if s then n = n + 1 end
end
eq(n, 100, "loop")

return H.count
