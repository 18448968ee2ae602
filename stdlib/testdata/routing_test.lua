-- The routing flow end to end: a ruleset in the style of the original's
-- example/ruleset_simple.lua decides a table of requests through
-- ruleset.resolve/route/route6 with await.forward stubbed to capture its
-- arguments. Pure Lua: also runs on Lua 5.4 with lua54_host.lua.
local H = dofile("testdata/harness.lua")
local eq, ok, pack = H.eq, H.ok, H.pack

-- captured state is kept in tables that are mutated, never reassigned
local cap = { events = {}, resolved = {} }

_G.print = function(line)
    -- D <timestamp> <file>:<line> <msg>
    local msg = line:match("^D %S+ %S+ (.*)$")
    if msg then
        cap.events[#cap.events + 1] = msg
    end
end

local fake_dns = {
    ["x.new.example"] = "203.0.113.7",
    ["v6.new.example"] = "2001:db8::7",
}
await.resolve = function(host)
    cap.resolved[#cap.resolved + 1] = host
    return fake_dns[host]
end
await.forward = function(...)
    cap.fwd = pack(...)
    if select("#", ...) == 0 or (...) == nil then
        return nil
    end
    return true
end

local function load_ruleset(conf)
    neosocksd.config = function()
        return conf
    end
    package.loaded.libruleset = nil
    _G.biglist_name, _G.biglist, _G.biglist6 = nil, nil, nil
    _G.ruleset = dofile("testdata/ruleset_simple.lua")
    return _G.ruleset
end

local ruleset = load_ruleset({ loglevel = 6, auth_required = false })

local GW = "socks5://user:pass@gateway.lan:1080"
local FRONT = "socks4a://front-proxy.lan:1080"

-- { callback, addr, want (forward arguments, first = target; {} = reject), events }
local cases = {
    { "resolve", "www.example.com:443", { "www.example.com:443", GW }, { '[gateway] "www.example.com:443"' } },
    { "resolve", "printer.local:631", { "printer.local:631" }, {} },
    { "resolve", "PRINTER.LOCAL:631", { "PRINTER.LOCAL:631" }, {} },
    { "resolve", "local:631", { "local:631" }, {} },
    { "resolve", "server.lan:22", { "127.0.0.1:22" }, { '[ssh] "server.lan:22"' } },
    { "resolve", "SERVER.LAN:80", { "127.0.0.1:80" }, {} },
    { "resolve", "server.lan:443", {}, {} },
    { "resolve", "Server.Lan:8080", { "127.0.0.1:8080" }, { '[localhost] "Server.Lan:8080"' } },
    { "resolve", "site1.lan:80", { "192.168.1.100:80" }, { '[lan] "192.168.1.100:80"' } },
    { "resolve", "SITE1.LAN:80", { "192.168.1.100:80" }, { '[lan] "192.168.1.100:80"' } },
    { "resolve", "site6.lan:443", { "[2001:db8::100]:443", GW }, { '[gateway] "[2001:db8::100]:443"' } },
    { "resolve", "site6.lan:53", { "127.0.0.53:53" }, {} },
    { "resolve", "1.1.1.1:53", { "127.0.0.53:53" }, {} },
    { "resolve", "1.1.1.1:54", { "1.1.1.1:54", GW }, { '[gateway] "1.1.1.1:54"' } },
    { "resolve", "[::1]:443", {}, {} },
    { "resolve", "[2001:DB8::1]:443", { "[2001:DB8::1]:443", GW }, { '[gateway] "[2001:DB8::1]:443"' } },
    { "resolve", "01.2.3.4:80", { "01.2.3.4:80", GW }, { '[gateway] "01.2.3.4:80"' } },
    { "resolve", "www.example.com.:80", { "www.example.com.:80", GW }, { '[gateway] "www.example.com.:80"' } },
    { "route", "1.1.1.1:53", { "127.0.0.53:53" }, {} },
    { "route", "1.0.0.1:53", { "127.0.0.53:53" }, {} },
    { "route", "127.0.0.1:80", {}, {} },
    { "route", "127.255.255.255:80", {}, {} },
    { "route", "128.0.0.0:80", { "128.0.0.0:80", GW }, { '[gateway] "128.0.0.0:80"' } },
    { "route", "169.254.1.1:80", {}, {} },
    { "route", "192.168.5.5:22", { "192.168.5.5:22" }, { '[lan] "192.168.5.5:22"' } },
    { "route", "192.169.0.0:22", { "192.169.0.0:22", GW }, { '[gateway] "192.169.0.0:22"' } },
    { "route", "8.8.8.8:443", { "8.8.8.8:443", GW }, { '[gateway] "8.8.8.8:443"' } },
    { "route", "255.255.255.255:1", { "255.255.255.255:1", GW }, { '[gateway] "255.255.255.255:1"' } },
    { "route6", "[::1]:80", {}, {} },
    { "route6", "[::]:80", {}, {} },
    { "route6", "[::2]:80", { "[::2]:80", GW }, { '[gateway] "[::2]:80"' } },
    { "route6", "[2001:db8::1]:53", { "127.0.0.53:53" }, {} },
    { "route6", "[fe80::1]:80", {}, {} },
    { "route6", "[febf:ffff::1]:80", {}, {} },
    { "route6", "[fec0::1]:80", { "[fec0::1]:80", GW }, { '[gateway] "[fec0::1]:80"' } },
    { "route6", "[fd00::1]:80", {}, {} },
    { "route6", "[::ffff:1.2.3.4]:80", {}, {} },
    { "route6", "[ff02::1]:80", {}, {} },
    { "route6", "[2001:db8::1]:443", { "[2001:db8::1]:443", GW }, { '[gateway] "[2001:db8::1]:443"' } },
}

local function run(cb, addr, user, pass)
    cap.fwd = nil
    for k in pairs(cap.events) do
        cap.events[k] = nil
    end
    local ok_, err = pcall(ruleset[cb], addr, user, pass)
    return ok_, err
end

local function check(c, label)
    local cb, addr, want, events = c[1], c[2], c[3], c[4]
    local ok_, err = run(cb, addr, c.user, c.pass)
    label = (label or "") .. cb .. " " .. addr
    eq(ok_, true, label .. ": raised " .. tostring(err))
    if #want == 0 then
        ok(cap.fwd == nil or cap.fwd[1] == nil, label .. ": want reject")
    else
        want.n = #want
        eq(cap.fwd, want, label .. ": forward arguments")
    end
    if events then
        eq(cap.events, events, label .. ": events")
    end
end

for _, c in ipairs(cases) do
    check(c)
end

-- unsplittable addresses raise (the request is rejected by the host)
eq(run("resolve", "no-port"), false, "unsplittable name")
eq(run("resolve", "::1:80"), false, "unbracketed IPv6")
eq(run("resolve", string.rep("a", 260) .. ":80"), false, "too long")
-- route/route6 of a host that is not an address of the family: the subnet
-- matchers of _G.route/_G.route6 get nil and raise, as the original's
-- ip & mask does
local ok_nil, err_nil = run("route", "1.2.3.4.5:80")
eq(ok_nil, false, "route of a non-IPv4 host raises")
ok(tostring(err_nil):find("address expected", 1, true) ~= nil, "route error: " .. tostring(err_nil))
ok_nil, err_nil = run("route6", "[fe80::1%eth0]:80")
eq(ok_nil, false, "route6 of a zoned IPv6 host raises")
ok(tostring(err_nil):find("address expected", 1, true) ~= nil, "route6 error: " .. tostring(err_nil))

-- the big lists are consulted at match time
_G.biglist_name = match.domain({ "blocked.example", "ads.example" })
_G.biglist = inet.subnet({ "203.0.113.0/24" })
_G.biglist6 = inet6.subnet({ "2001:db8:1::/48" })
check({ "resolve", "X.Blocked.Example:443", { "X.Blocked.Example:443", FRONT }, { '[biglist] "X.Blocked.Example:443"' } })
check({ "route", "203.0.113.9:80", { "203.0.113.9:80", FRONT }, { '[biglist] "203.0.113.9:80"' } })
check({ "route6", "[2001:db8:1:2::1]:80", { "[2001:db8:1:2::1]:80", FRONT }, { '[biglist] "[2001:db8:1:2::1]:80"' } })
check({ "resolve", "blocked.example.org:443", { "blocked.example.org:443", GW }, { '[gateway] "blocked.example.org:443"' } })

_G.biglist_name, _G.biglist, _G.biglist6 = nil, nil, nil

-- counters
local before = _G.num_requests
run("resolve", "a.example:1")
eq(_G.num_requests, before + 1, "num_requests")

-- decide.* are the pure decision functions
eq(pack(ruleset.decide.resolve("server.lan:22")), pack("127.0.0.1:22"), "decide.resolve")
eq(pack(ruleset.decide.route("192.168.1.1:1")), pack("192.168.1.1:1"), "decide.route")
eq(pack(ruleset.decide.route6("[::1]:1")), pack(nil), "decide.route6")

-- rule.resolve resolves the host, keeps the port (P3) and routes the result;
-- rule.loopback re-routes rewritten names
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("legacy.example"), rule.loopback("legacy%.example", "new.example") }
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("new.example"), rule.resolve(), "resolved" }
check({ "resolve", "x.new.example:80", { "203.0.113.7:80", GW }, { '[resolved] "x.new.example:80"', '[gateway] "203.0.113.7:80"' } })
eq(cap.resolved[#cap.resolved], "x.new.example", "await.resolve gets the host only")
check({ "resolve", "x.legacy.example:80", { "203.0.113.7:80", GW },
    { '[resolved] "x.new.example:80"', '[gateway] "203.0.113.7:80"' } })
check({ "resolve", "v6.new.example:53", { "127.0.0.53:53" }, { '[resolved] "v6.new.example:53"' } })
check({ "resolve", "unknown.new.example:80", {}, { '[resolved] "unknown.new.example:80"' } })

-- P4: routing loops raise instead of overflowing the stack
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("loop.example"), rule.loopback("^(.*)$", "%1") }
local ok_, err = run("resolve", "a.loop.example:80")
eq(ok_, false, "loopback loop raises")
ok(tostring(err):find("routing loop", 1, true) ~= nil, "loop error: " .. tostring(err))
local saved_default = _G.route_default
_G.route_default = { rule.default() }
ok_, err = run("route", "8.8.8.8:80")
eq(ok_, false, "default loop raises")
ok(tostring(err):find("routing loop", 1, true) ~= nil, "loop error: " .. tostring(err))
-- a finite chain of re-entries is fine, and the counter restarts per request
_G.route_default = { rule.proxy(GW) }
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("done.hop.example"), rule.direct(), "done" }
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("hop.example"), rule.loopback("^h(%d+)%.", function(n)
    if n == "0" then
        return "done."
    end
    return "h" .. (n - 1) .. "."
end) }
check({ "resolve", "h15.hop.example:1", { "done.hop.example:1" }, { '[done] "done.hop.example:1"' } })
check({ "resolve", "h15.hop.example:1", { "done.hop.example:1" }, { '[done] "done.hop.example:1"' } })
eq(run("resolve", "h16.hop.example:1"), false, "17 re-entries raise")
_G.route_default = saved_default

-- P1: hosts values that are IPv6 addresses are bracketed
_G.hosts["v6only.lan"] = "fe80::1"
check({ "resolve", "v6only.lan:80", {}, {} })
_G.hosts["name.lan"] = "other.example"
check({ "resolve", "name.lan:80", { "other.example:80", GW }, { '[gateway] "other.example:80"' } })

-- load balancers inside tables: one shared instance keeps its rotation
local rr = lb.roundrobin({ rule.redirect("10.0.0.1:80"), rule.redirect("10.0.0.2:80") })
_G.redirect_name[#_G.redirect_name + 1] = { match.domain("rr.example"), rr, "rr" }
_G.route[#_G.route + 1] = { inet.subnet("10.9.0.0/16"), rr, "rr" }
check({ "resolve", "a.rr.example:80", { "10.0.0.1:80" }, { '[rr] "a.rr.example:80"' } })
check({ "route", "10.9.1.1:80", { "10.0.0.2:80" }, { '[rr] "10.9.1.1:80"' } })
check({ "resolve", "a.rr.example:80", { "10.0.0.1:80" } })

-- subchains
_G.chains = { internal = {
    { composite.allof({ match.host("wiki.corp.example"), match.port(443) }), rule.redirect("10.1.0.10:443"), "wiki" },
    { match.domain({ "corp.example" }), rule.proxy("socks5://gw:1", "socks5://gw2:1"), "corp" },
} }
table.insert(_G.redirect_name, 1, { composite.subchain(_G.chains, "internal") })
check({ "resolve", "WIKI.corp.example:443", { "10.1.0.10:443" }, { '[wiki] "WIKI.corp.example:443"' } })
check({ "resolve", "wiki.corp.example:80", { "wiki.corp.example:80", "socks5://gw2:1", "socks5://gw:1" },
    { '[corp] "wiki.corp.example:80"' } })

-- authentication
ruleset = load_ruleset({ loglevel = 6, auth_required = true })
_G.secrets = { alice = "s3cret", robot = true }
local auth_before = _G.num_authorized
check({ "resolve", "www.example.com:443", { "www.example.com:443", GW }, { '[gateway] "www.example.com:443"' },
    user = "alice", pass = "s3cret" })
eq(_G.num_authorized, auth_before + 1, "num_authorized")
check({ "resolve", "www.example.com:443", {}, { 'authenticate failed: "alice"' }, user = "alice", pass = "nope" })
check({ "route", "8.8.8.8:443", { "8.8.8.8:443", GW }, nil, user = "robot", pass = "anything" })
check({ "route", "8.8.8.8:443", { "8.8.8.8:443", GW }, nil, user = "robot" })
check({ "resolve", "www.example.com:443", {}, { 'authenticate failed: "mallory"' }, user = "mallory" })
check({ "resolve", "www.example.com:443", {}, { "authenticate failed: nil" } })
eq(_G.num_authorized, auth_before + 3, "num_authorized after failures")
-- a user ruleset may decide itself
_G.ruleset.authenticate = function(addr, user, pass)
    return user == "bob"
end
check({ "resolve", "www.example.com:443", { "www.example.com:443", GW }, nil, user = "bob" })
check({ "resolve", "www.example.com:443", {}, {}, user = "alice", pass = "s3cret" })
_G.ruleset.authenticate = nil

-- failover: chains in proxyN..proxy1 order, first success wins
local tried = {}
await.forward = function(...)
    tried[#tried + 1] = table.concat({ ... }, " ")
    return #tried == 2
end
eq(ruleset.failover("h:1", { { "p1" }, { "p3", "p2" }, {} }), true, "failover")
eq(tried, { "h:1 p1", "h:1 p3 p2" }, "failover order")
tried = {}
await.forward = function(...)
    return false, "connection refused"
end
eq(ruleset.failover("h:1", { { "p1" }, {} }), false, "failover all fail")

return H.count
