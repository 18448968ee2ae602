-- libruleset unit tests. Pure Lua: runs on the gopher-lua host of go test
-- and on Lua 5.4 with the pure-Lua stand-ins of lua54_host.lua.
local H = dofile("testdata/harness.lua")
local eq, ok, raises, pack = H.eq, H.ok, H.raises, H.pack

-- note: gopher-lua closes every open upvalue when pcall catches an error,
-- so captured locals are never reassigned here, only mutated
local printed = {}
local function clear(t)
    for k in pairs(t) do
        t[k] = nil
    end
end
_G.print = function(...)
    local t = {}
    for i = 1, select("#", ...) do
        t[i] = tostring((select(i, ...)))
    end
    printed[#printed + 1] = table.concat(t, "\t")
end

neosocksd.config = function()
    return { loglevel = 4, auth_required = false }
end
package.loaded.libruleset = nil
local ruleset = require("libruleset")
eq(type(ruleset), "table", "require returns the ruleset")
eq(type(ruleset.decide.resolve), "function", "decide.resolve")
eq(config.loglevel, 4, "_G.config captured")

-- utilities
eq(string.startswith("hello", "he"), true, "startswith")
eq(string.startswith("hello", "lo"), false, "startswith no")
eq(string.startswith("hello", ""), true, "startswith empty")
eq(string.endswith("hello", "lo"), true, "endswith")
eq(string.endswith("hello", "he"), false, "endswith no")
eq(string.endswith("hello", ""), false, "endswith empty compares the whole string")
eq(string.endswith("", ""), true, "endswith empty on empty")
eq(table.get({ a = { b = { c = 1 } } }, "a", "b", "c"), 1, "table.get")
eq(table.get({ a = {} }, "a", "b", "c"), nil, "table.get nil-safe")
eq(table.get(nil, "a"), nil, "table.get nil root")
local root = {}
eq(table.get(root), root, "table.get no keys")

-- printf
clear(printed)
printf("%s=%d", "x", 42)
eq(printed[1], "x=42", "printf")

-- format_timestamp: local RFC 3339 with a +hh:mm offset
local ts = format_timestamp(0)
eq(#ts, 25, "format_timestamp length")
ok(ts:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d$") ~= nil, "format_timestamp shape " .. ts)
eq(format_timestamp(1714564800.9), format_timestamp(1714564800), "format_timestamp floors floats")
eq(format_timestamp(1714564800), os.date("%Y-%m-%dT%H:%M:%S", 1714564800) .. ts:sub(-6), "format_timestamp vs os.date")

-- list
local l = list:new({ 3, 1, 2 })
eq(list:check(l), l, "list:check")
eq(list:check({}), nil, "list:check plain")
eq(getmetatable(l).__name, "list", "list __name")
l:insert(4)
eq(l:concat(","), "3,1,2,4", "list:insert")
eq(l:remove(), 4, "list:remove")
eq(pack(l:unpack()), pack(3, 1, 2), "list:unpack")
l:sort()
eq(l:concat(","), "1,2,3", "list:sort")
l:reverse()
eq(l:concat(","), "3,2,1", "list:reverse")
l:map(function(v) return v * 10 end)
eq(l:concat(","), "30,20,10", "list:map")
l:append({ 5, 6 })
eq(l:concat(","), "30,20,10,5,6", "list:append")
l:insertf("%s-%s", "a", "b")
eq(l[#l], "a-b", "list:insertf")
local n = 0
for i, v in l:iter() do
    n = n + 1
    eq(v, l[i], "list:iter")
end
eq(n, 6, "list:iter count")
local plain = l:totable()
eq(getmetatable(plain), nil, "list:totable")

-- rlist
local r = rlist:new(3)
eq(r.len, 0, "rlist empty")
eq(r:get(1), nil, "rlist get empty")
r:push("a")
r:push("b")
eq(r:get(1), "b", "rlist newest")
eq(r:get(2), "a", "rlist second")
eq(r:get(-1), "a", "rlist oldest")
eq(r:get(3), nil, "rlist out of range")
r:push("c")
r:push("d")
eq(r.len, 3, "rlist len capped")
eq(r.cap, 3, "rlist cap")
eq(r:get(1), "d", "rlist evicts oldest")
eq(r:get(-1), "b", "rlist oldest after eviction")
eq(r:get(-3), "d", "rlist -len is newest")
eq(r:get(-4), nil, "rlist -len-1")
eq(r:get(0), nil, "rlist 0")
local seen = {}
for i, v in r:iter() do
    seen[i] = v
end
eq(seen, { "d", "c", "b" }, "rlist:iter newest first")
eq(rlist:check(r), r, "rlist:check")
local r2 = rlist:new(5, { "x", "y" })
eq(r2:get(1), "y", "rlist:new with items")
eq(r2.len, 2, "rlist:new with items len")

-- logging: quiet below loglevel 6, printed at 6
clear(printed)
log("a", 1)
logf("%d", 2)
eq(#printed, 0, "log quiet at loglevel 4")
config.loglevel = 6
log("a", 1, nil)
logf("x=%d", 2)
eq(#printed, 2, "log prints at loglevel 6")
ok(printed[1]:match("^D %d%d%d%d%-%d%d%-%d%dT[%d:]+[+-]%d%d:%d%d libruleset_test%.lua:%d+ a\t1\tnil$") ~= nil,
    "log format: " .. printed[1])
ok(printed[2]:match(" libruleset_test%.lua:%d+ x=2$") ~= nil, "logf format: " .. printed[2])
config.loglevel = 4

-- evlog records into recent_events whatever the level; repeats are counted
local before = recent_events.len
evlog("event", "one")
eq(recent_events:get(1)[1], "event\tone", "evlog message")
eq(recent_events:get(1)[2], 1, "evlog count")
evlogf("event%s", "\tone")
eq(recent_events:get(1)[2], 2, "evlogf repeat counted")
eq(recent_events.len, before + 1, "repeat does not push")
evlogf("other %q", "q\"x")
eq(recent_events:get(1)[1], 'other "q\\"x"', "evlogf %q")
eq(type(recent_events:get(1)[3]), "number", "event timestamp")

-- parse_cidr / parse_cidr6
eq(pack(parse_cidr("192.168.0.0/16")), pack(0xC0A80000, 16), "parse_cidr")
eq(pack(parse_cidr("0.0.0.0/0")), pack(0, 0), "parse_cidr /0")
eq(pack(parse_cidr("10.1.2.3")), pack(0x0A010203, 32), "parse_cidr bare address")
raises('invalid prefix size "10.0.0.0/33"', parse_cidr, "10.0.0.0/33")
raises('invalid prefix size "10.0.0.0/x"', parse_cidr, "10.0.0.0/x")
raises('invalid subnet "10.0.0.1/8"', parse_cidr, "10.0.0.1/8")
raises('invalid subnet "10.0.0/8"', parse_cidr, "10.0.0/8")
eq(pack(parse_cidr6("2001:db8::/32")), pack(0x20010db800000000, 0, 32), "parse_cidr6")
eq(pack(parse_cidr6("::1")), pack(0, 1, 128), "parse_cidr6 bare")
eq(pack(parse_cidr6("fe80::/10")), pack(0xfe80000000000000, 0, 10), "parse_cidr6 fe80")
eq(pack(parse_cidr6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), pack(-1, -1, 128), "parse_cidr6 all ones")
raises('invalid prefix size "::/129"', parse_cidr6, "::/129")
raises('invalid subnet "fe80::1/64"', parse_cidr6, "fe80::1/64")
raises('invalid subnet "1.2.3.4/8"', parse_cidr6, "1.2.3.4/8")

-- matchers
local m = match.any()
eq(m("x:1"), true, "match.any")
eq(m(nil), true, "match.any nil")

m = match.exact("Server.LAN:22")
eq(m("server.lan:22"), true, "exact lower")
eq(m("SERVER.lan:22"), true, "exact upper")
eq(m("server.lan:23"), false, "exact port differs")
eq(m("garbage"), false, "exact never splits")
m = match.exact({ "a.b:1", "[::1]:2" })
eq(m("A.B:1"), true, "exact list")
eq(m("[::1]:2"), true, "exact list v6")
eq(m("::1:2"), false, "exact list unbracketed")
raises("invalid address", match.exact, "nocolon")
raises("invalid address", match.exact, { "a:1", "::1:2" })

m = match.host({ "Server.lan", "::1" })
eq(m("server.LAN:80"), true, "host")
eq(m("[::1]:80"), true, "host v6")
eq(m("other.lan:80"), false, "host no")
raises("invalid address", m, "server.lan")
m = match.host("x.y")
eq(m("X.Y:1"), true, "host single")

m = match.port(80)
eq(m("a:80"), true, "port")
eq(m("a:81"), false, "port no")
eq(m("a:080"), true, "port 080 via tonumber")
eq(m("a:"), false, "port empty")
eq(m("a:http"), false, "port name")
m = match.port(8000, 8100)
eq(m("a:8000"), true, "port range low")
eq(m("a:8100"), true, "port range high")
eq(m("a:8101"), false, "port range above")
eq(m("a:7999"), false, "port range below")
m = match.port({ 22, "443" })
eq(m("a:22"), true, "port list")
eq(m("a:443"), true, "port list string")
eq(m("a:022"), false, "port list compares strings")

m = match.domain(".local")
eq(m("x.local:1"), true, "domain leading dot subdomain")
eq(m("local:1"), true, "domain leading dot apex")
eq(m("xlocal:1"), false, "domain whole label")
m = match.domain("Example.COM")
eq(m("www.example.com:443"), true, "domain single")
eq(m("EXAMPLE.com:443"), true, "domain single apex")
eq(m("example.com.:443"), false, "domain single trailing dot")
m = match.domain({ "example.com", ".lan", "a.b.c" })
eq(m("x.y.Example.Com:1"), true, "domain list")
eq(m("example.com.:1"), true, "domain list trailing dot")
eq(m("a..example.com:1"), true, "domain list empty label")
eq(m("com:1"), false, "domain list parent")
eq(m("fooexample.com:1"), false, "domain list partial label")
eq(m("host.lan:1"), true, "domain list leading dot")
eq(m("b.c:1"), false, "domain list shorter")
eq(m("x.a.b.c:1"), true, "domain list deep")
m = match.domain({ "com", "example.com" })
eq(m("x.example.com:1"), true, "P2: domain before subdomain")
raises("invalid address", m, "nocolon")

m = match.domaintree({ com = { example = true, other = { deep = true } }, lan = true })
eq(m("www.example.com:1"), true, "domaintree")
eq(m("EXAMPLE.COM:1"), true, "domaintree apex lowered")
eq(m("other.com:1"), false, "domaintree inner node")
eq(m("x.deep.other.com:1"), true, "domaintree deep")
eq(m("a.lan.:1"), true, "domaintree trailing dot")
eq(m("net:1"), false, "domaintree miss")
raises("domain tree should be a table", match.domaintree, "x")

m = match.pattern("^[%w-]+%.onion:%d+$")
eq(m("abc-d.onion:80"), true, "pattern")
eq(m("abc.onion.com:80"), false, "pattern no")
m = match.pattern({ "^a", "z:%d+$" })
eq(m("abc:1"), true, "pattern list first")
eq(m("xyz:1"), true, "pattern list second")
eq(m("xy:1"), false, "pattern list none")

if type(regex) == "table" and regex.compile then
    m = match.regex("^([a-z0-9-]+\\.)*s3\\.example:\\d+$")
    eq(m("a.s3.example:443"), true, "regex")
    eq(m("a.s3.example:x"), false, "regex no")
    m = match.regex({ "(", "^x" })
    eq(m("xy:1"), true, "regex list skips invalid")
    raises("", match.regex, "(")
    eq(regex.compat("\\d\\D\\w\\W\\s\\S\\.\\\\d"),
        "[0-9][^0-9][a-zA-Z0-9_][^a-zA-Z0-9_][[:space:]][^[:space:]]\\.\\\\d", "regex.compat")
end

-- subnets
m = inet.subnet("192.168.0.0/16")
eq(m(0xC0A80101), true, "subnet in")
eq(m(0xC0A90000), false, "subnet out")
-- the original computes ip & mask: no address raises
raises("inet.subnet: address expected, got nil", m, nil)
raises("address expected", m, 1.5)
raises("address expected", m, "192.168.1.1")
m = inet.subnet({ "10.0.0.0/8", "127.0.0.0/8", "1.2.3.4", "0.0.0.0/32" })
eq(m(0x0AFFFFFF), true, "subnet list last of /8")
eq(m(0x0B000000), false, "subnet list after /8")
eq(m(0x09FFFFFF), false, "subnet list before /8")
eq(m(0x01020304), true, "subnet bare address")
eq(m(0x01020305), false, "subnet bare address +1")
eq(m(0), true, "subnet 0.0.0.0/32")
m = inet.subnet("0.0.0.0/0")
eq(m(0xFFFFFFFF), true, "subnet /0")
raises("invalid subnet", inet.subnet, "10.0.0.1/8")
m = inet6.subnet({ "fe80::/10", "::1/128", "::ffff:0:0/96" })
eq(m(0xfe80000000000000, 1), true, "subnet6 fe80")
eq(m(0xfebfffffffffffff, -1), true, "subnet6 fe80 last")
eq(m(0xfec0000000000000, 0), false, "subnet6 after fe80")
eq(m(0, 1), true, "subnet6 ::1")
eq(m(0, 2), false, "subnet6 ::2")
eq(m(0, 0xffff01020304), true, "subnet6 v4-mapped")
raises("inet6.subnet: address expected, got nil", m, nil)
raises("address expected", m, 0xfe80000000000000)
raises("address expected", m, neosocksd.parse_ipv6("fe80::1%eth0"))
eq(m(neosocksd.parse_ipv6("fe80::1")), true, "subnet6 with parse_ipv6")

-- composites
local yes, no = match.any(), composite.inverse(match.any())
eq(no("x"), false, "inverse")
eq(composite.anyof({ no, yes })("x"), true, "anyof")
eq(composite.anyof({ no, no })("x"), false, "anyof none")
eq(composite.allof({ yes, yes })("x"), true, "allof")
eq(composite.allof({ yes, no })("x"), false, "allof one false")
eq(composite.allof({})("x"), true, "allof empty")
local holder = {}
m = composite.maybe(holder, "biglist")
eq(m("a:1"), false, "maybe absent")
holder.biglist = match.host("a")
eq(m("a:1"), true, "maybe present, looked up at match time")
local chains = {}
m = composite.subchain(chains, "c")
eq(m("a:1"), nil, "subchain absent")
chains.c = { { match.host("a"), rule.direct(), "t1" }, { match.any(), rule.reject() } }
local action, tag = m("a:1")
eq(tag, "t1", "subchain tag")
eq(action("a:1"), "a:1", "subchain action")
action, tag = m("b:1")
eq(tag, nil, "subchain untagged")
eq(action("b:1"), nil, "subchain second rule")

-- actions
eq(pack(rule.direct()("h:1")), pack("h:1"), "direct")
eq(pack(rule.reject()("h:1")), pack(nil), "reject")
eq(pack(rule.redirect("10.0.0.1:22")("h:1")), pack("10.0.0.1:22"), "redirect")
eq(pack(rule.redirect("10.0.0.1:22", "p1", "p2")("h:1")), pack("10.0.0.1:22", "p2", "p1"), "redirect chain reversed")
eq(pack(rule.redirect(":8443")("h:1")), pack("h:8443"), "redirect port only")
eq(pack(rule.redirect("x.lan:")("h:1")), pack("x.lan:1"), "redirect host only")
eq(pack(rule.redirect(":8443")("[::1]:1")), pack("[::1]:8443"), "P1 redirect port keeps brackets")
eq(pack(rule.redirect("[::2]:")("h:1")), pack("[::2]:1"), "P1 redirect v6 host")
raises("invalid address", rule.redirect, "nocolon")
eq(pack(rule.proxy("p1", "p2", "p3")("h:1")), pack("h:1", "p3", "p2", "p1"), "proxy")
eq(pack(rule.proxy()("h:1")), pack("h:1"), "proxy empty")
local maybe_t = {}
eq(pack(rule.maybe(maybe_t, "a")("h:1")), pack(nil), "rule.maybe absent")
maybe_t.a = rule.proxy("p")
eq(pack(rule.maybe(maybe_t, "a")("h:1")), pack("h:1", "p"), "rule.maybe present")
eq(pack(rule.rewrite("%.s3%.example", ".mirror.lan", "gw")("a.s3.example:443")),
    pack("a.mirror.lan:443", "gw"), "rewrite")

-- load balancers
local function tagged(name)
    return function()
        return name
    end
end
local rr = lb.roundrobin({ tagged("a"), tagged("b"), tagged("c") })
local got = {}
for i = 1, 7 do
    got[i] = rr("x:1")
end
eq(table.concat(got), "abcabca", "roundrobin")

local weights = { { 2, tagged("a") }, { 1, tagged("b") } }
local w = lb.iwrr(weights)
eq(weights[1][1], 1, "iwrr normalises in place")
eq(weights[2][1], 0.5, "iwrr normalises in place 2")
got = {}
for i = 1, 3 do
    got[i] = w("x:1")
end
eq(table.concat(got), "aba", "iwrr 2:1 over 3 calls")
-- r advances one step per pick: b is eligible while r < 0.5, i.e. for the
-- first 51 picks of each cycle of 100 (alternating), then only a
for i = 4, 100 do
    got[i] = w("x:1")
end
eq(table.concat(got), string.rep("ab", 25) .. string.rep("a", 50), "iwrr 2:1 first cycle")
local counts = { a = 0, b = 0 }
for _ = 1, 50 do
    local v = w("x:1")
    counts[v] = counts[v] + 1
end
eq(counts.a, 25, "iwrr second cycle a")
eq(counts.b, 25, "iwrr second cycle b")
local zeros = { { 0, tagged("a") }, { -1, tagged("b") } }
w = lb.iwrr(zeros)
eq(pack(w("x:1")), pack(), "iwrr no positive weight")
eq(pack(w("x:1")), pack(), "iwrr no positive weight twice")
eq(zeros[2][1], -1, "iwrr without positive weight leaves t")
local mixed = { { 1, tagged("a") }, { 0, tagged("z") }, { 3, tagged("b") }, { -3, tagged("y") } }
w = lb.iwrr(mixed, 3)
eq(mixed[1][1], 1 / 3, "iwrr normalises w/max")
eq(mixed[4][1], -1, "iwrr normalises dropped weights too")
got = {}
for i = 1, 8 do
    got[i] = w("x:1")
end
eq(table.concat(got), "abbabbab", "iwrr cycle 3 skips weights <= 0")
raises("cyclesize", lb.iwrr, { { 1, tagged("a") } }, 0.5)
raises("cyclesize", lb.iwrr, { { 1, tagged("a") } }, "3")

-- marshal / unmarshal
if marshal then
    eq(pack(unmarshal(marshal("a", { "b", ["c"] = "d" }, true, nil, 42))),
        pack("a", { "b", c = "d" }, true, nil, 42), "unmarshal(marshal(...))")
    eq(unmarshal('"\\\n"'), "\n", "unmarshal escaped newline")
    raises("", unmarshal, "math.huge")
end

-- package.replace
package.loaded.mymod = { v = 1 }
_G.mymod = package.loaded.mymod
local m2 = package.replace("mymod", function(name)
    return { v = 2, name = name }
end)
eq(m2.name, "mymod", "package.replace passes the name")
eq(package.loaded.mymod.v, 2, "package.replace package.loaded")
eq(_G.mymod.v, 2, "package.replace aliased global")
package.loaded.other = { v = 1 }
package.replace("other", function() end)
eq(package.loaded.other, true, "package.replace nil -> true")

-- rpc helpers
eq(pack(rpc.echo(1, nil, "x")), pack(1, nil, "x"), "rpc.echo")
eq(pack(msgh.nop(1)), pack(), "msgh.nop")
if marshal then
    local sent
    await.invoke = function(code, ...)
        sent = pack(code, ...)
        return true, function()
            return true, "pong"
        end
    end
    eq(pack(await.rpcall({ "api:80", "socks5://p:1" }, "echo", "ping", { 1 })), pack(true, "pong"), "rpcall")
    eq(sent, pack('return rpc["echo"]("ping",{1,})', "api:80", "socks5://p:1"), "rpcall code")
    await.rpcall({ "api:80" }, 'a"b', nil)
    eq(sent[1], 'return rpc["a\\"b"](nil)', "rpcall quotes the name")
    await.invoke = function()
        return false, "connection failed"
    end
    eq(pack(await.rpcall({ "api:80" }, "echo")), pack(false, "connection failed"), "rpcall failure")
    neosocksd.invoke = function(code, ...)
        sent = pack(code, ...)
    end
    neosocksd.sendmsg({ "peer:80" }, "nop", 1)
    eq(sent, pack('msgh["nop"](1)', "peer:80"), "sendmsg")
end

-- await.callback: synchronous callback
eq(pack(await.callback(function(cb, a)
    cb(a, "y")
end, "x")), pack("x", "y"), "await.callback synchronous")

-- await.callback: callback called later from another coroutine
local saved
local co = coroutine.create(function()
    return await.callback(function(cb)
        saved = cb
    end)
end)
eq(coroutine.resume(co), true, "callback yields")
eq(coroutine.status(co), "suspended", "callback waiting")
saved("late", 1)
eq(coroutine.status(co), "dead", "callback resumed")

-- async futures
neosocksd.async = function(finish, f, ...)
    local c = coroutine.create(function(...)
        finish(pcall(f, ...))
    end)
    coroutine.resume(c, ...)
    return c
end
local fut = async(function(a, b)
    return a + b
end, 1, 2)
eq(pack(fut:get()), pack(true, 3), "async future")
fut = async(function()
    error("boom", 0)
end)
eq(pack(fut:get()), pack(false, "boom"), "async error")
local finish_later
neosocksd.async = function(finish)
    finish_later = finish
    return coroutine.create(function() end)
end
fut = async(function() end)
local early, got = {}, {}
for i = 1, 3 do
    early[i] = coroutine.create(function()
        got[i] = pack(fut:get())
    end)
    eq(coroutine.resume(early[i]), true, "future waiter " .. i .. " yields")
end
finish_later(true, "x", nil)
for i = 1, 3 do
    eq(coroutine.status(early[i]), "dead", "future waiter " .. i .. " woken")
    eq(got[i], pack(true, "x", nil), "future waiter " .. i .. " results")
end
eq(pack(fut:get()), pack(true, "x", nil), "future read after it finished")
neosocksd.async = function()
    return nil, "cannot start"
end
fut = async(function() end)
eq(fut.result[1], false, "async start failure")
eq(fut.result[2], "cannot start", "async start failure message")

-- tick and stats
_G.stat_requests = rlist:new(60)
package.loaded.libruleset = nil
ruleset = require("libruleset")

-- request_chart returns the header and the chart lines of ruleset.stats
local function request_chart()
    local out, inchart = {}, false
    -- (a call inside the for's iterator expression trips gopher-lua)
    local text = ruleset.stats(0) .. "\n"
    for s in text:gmatch("(.-)\n") do
        inchart = inchart or s:match("^> Request Stats") ~= nil
        if inchart then
            out[#out + 1] = s
        end
    end
    return out
end

-- before any tick, requests count at once
_G.num_requests = 4
eq(request_chart(), { "> Request Stats (avg=4.0/min, max=4)", "*", "*", "*", "*", "*", "-*" }, "chart before a tick")
ruleset.tick()
_G.num_requests = 5
eq(request_chart(), { "> Request Stats (avg=2.5/min, max=4)", "* ", "* ", "* ", "* ", "**", "--*" },
    "chart with the current interval")

-- a full ring: the oldest sample is only the base of the first interval
_G.stat_requests = rlist:new(3)
for _, v in ipairs({ 100, 110, 130, 160 }) do
    _G.num_requests = v
    ruleset.tick()
end
_G.num_requests = 170
eq(request_chart(), { "> Request Stats (avg=20.0/min, max=30)", " * ", " * ", "** ", "** ", "***", "---*" },
    "chart of a wrapped ring")

_G.stat_requests = rlist:new(60)
_G.num_requests = 0
ruleset.tick()
_G.num_requests = 10
ruleset.tick()
_G.num_requests = 15
ruleset.tick()
evlog("stats event")
evlog("stats event")
local text = ruleset.stats(60)
local lines = {}
for s in (text .. "\n"):gmatch("(.-)\n") do
    lines[#lines + 1] = s
end
eq(lines[1], "> Recent Events", "stats header")
ok(lines[2]:match("^%d%d%d%d%-[%d%-T:+]+ stats event %(x2%)$") ~= nil, "stats repeated event: " .. lines[2])
local k = 2
while lines[k] and not lines[k]:match("^> Request Stats") do
    k = k + 1
end
ok(k <= 2 + RECENT_EVENTS_STATS, "stats limits recent events")
eq(lines[k], "> Request Stats (avg=3.8/min, max=10)", "stats request header")
eq(lines[k + 1], " *  ", "stats chart top row")
eq(lines[k + 5], " ** ", "stats chart bottom row")
eq(lines[k + 6], "----*", "stats axis")
eq(lines[k + 7], nil, "stats no trailing line")
ok(text:sub(-1) ~= "\n", "stats no trailing newline")

return H.count
