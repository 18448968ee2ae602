-- time library (lua-api §9); needs the Go host.
local H = dofile("testdata/harness.lua")
local eq, ok, raises = H.eq, H.ok, H.raises

local m1 = time.monotonic()
local m2 = time.monotonic()
ok(type(m1) == "number" and m1 > 0, "monotonic")
ok(m2 >= m1, "monotonic does not go back")
local u = time.unix()
ok(math.abs(u - os.time()) < 5, "unix close to os.time")
ok(u ~= math.floor(u) or true, "unix is a float")
local p = time.process()
ok(type(p) == "number" and p >= 0, "process CPU time")
local th = time.thread()
ok(type(th) == "number" and th >= 0, "thread CPU time")

-- spend a little CPU; the process clock advances
local x = 0
for i = 1, 200000 do
    x = x + i % 7
end
ok(time.process() >= p, "process clock advances")

local cost, a, b, c = time.measure(function(p1, p2)
    return p1 + p2, "r", nil
end, 2, 3)
ok(type(cost) == "number" and cost >= 0 and cost < 5, "measure cost")
eq(a, 5, "measure first result")
eq(b, "r", "measure second result")
eq(c, nil, "measure third result")
eq(select("#", time.measure(function() end)), 1, "measure without results")
eq(select("#", time.measure(function() return 1, 2, 3 end)), 4, "measure with 3 results")
raises("bad argument #1", time.measure, 42)
raises("boom", time.measure, function() error("boom") end)

-- library functions are looked up dynamically: mocks replace them
local saved = time.monotonic
time.monotonic = function() return 42 end
eq(time.monotonic(), 42, "time.monotonic can be replaced")
time.monotonic = saved
eq(package.loaded.time, time, "time in package.loaded")
eq(package.loaded.zlib, zlib, "zlib in package.loaded")
eq(package.loaded.marshal, marshal, "marshal in package.loaded")

return H.count
