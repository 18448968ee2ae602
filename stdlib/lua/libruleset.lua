-- libruleset.lua: the ruleset framework of neosocksd, rewritten for the Go
-- port (gopher-lua, Lua 5.1 syntax). Load it with `require "libruleset"`;
-- the value it returns is a complete ruleset driven by the global routing
-- tables described below.
--
-- This file must parse and run under Lua 5.1: no integer division, no bit
-- operators, no goto. Everything that needs 64-bit integers or bit masks
-- (CIDR prefixes), and everything on the hot decision path that would be
-- slow in an interpreter (big-list indexes, event logging), lives in the Go
-- module "libruleset.native".
--
-- Numbers. Integers are exact 64-bit Lua 5.4 integers on the host:
--   * neosocksd.parse_ipv4(s) returns one non-negative 32-bit value;
--   * neosocksd.parse_ipv6(s) returns two 64-bit integers (hi, lo), like the
--     original on standard Lua 5.4; parse_cidr6 returns (hi, lo, bits) and
--     the matchers of _G.route6 (inet6.subnet, composites, functions)
--     receive (hi, lo).
--
-- Fixes against the original framework (P1..P5 of the route-table design):
--   P1  re-joining a host and a port brackets hosts that contain ':'
--       (rule.redirect with "h:" or ":p", _G.hosts, rule.resolve), so IPv6
--       hosts give "[2001:db8::1]:80", never "2001:db8::1:80".
--   P2  match.domain{...} indexes its list in a Go set of canonical suffixes:
--       a domain listed before its own subdomain no longer raises.
--   P3  rule.resolve() resolves the HOST (not "host:port"), keeps the port
--       and joins them (P1) before routing the result.
--   P4  re-entries through rule.default(), rule.resolve() and
--       rule.loopback() count per request; the 17th re-entry raises
--       "routing loop" instead of recursing until the stack overflows.
--       The count travels as a hidden second argument: actions are called
--       as action(addr, depth), and the actions of this file (lb.*,
--       rule.maybe included) pass it on; an action written by a user that
--       drops it restarts the count.
--   P5  host names are lower-cased ASCII-only (A-Z), as C Lua does; the
--       runtime installs the same ASCII string.lower/upper.
--
-- Exact semantics (shared with the Go route-table engine):
--   * split(addr) is neosocksd.splithostport; lower() is ASCII-only;
--     join(h, p) brackets h when it contains ':'.
--   * match.exact: lower(addr) is in the set; addr is not split.
--     match.host: lower(host) is in the set. match.port(a, b): n =
--     tonumber(port) and a <= n <= b. match.domain{...}: a whole-label
--     suffix of lower(host), empty labels ignored, is in the set.
--     Splitting matchers raise on an unsplittable addr.
--   * Rule chains are scanned in order; an entry is {matcher, action [, tag]}
--     or {functional_matcher} (returning action, tag). The first hit runs
--     its action with the string addr; a tag records the event
--     `[tag] "addr"` (evlogf("[%s] %q", tag, addr)) before the action runs.
--   * The IPv4/IPv6 tables are only consulted (and addr only split) when
--     _G.route/_G.route6 is set. A hostname whose (lower-cased) host has no
--     _G.hosts entry keeps its original case.
--   * lb.iwrr(t, cyclesize): interleaved weighted round robin. With max =
--     the largest weight > 0, every weight of t becomes w / max in place;
--     entries whose weight was <= 0 are dropped, the others keep their
--     order. step = 1 / cyclesize (0.01 without cyclesize; cyclesize must
--     be a number >= 1, a smaller one would never pick). With state
--     i = 0, r = 0 and the n kept entries, each call does
--         repeat i = i % n + 1 until r < w[i]
--         r = r + step; if r >= 1 then r = r - 1 end
--     and runs entry i (all in float64). With no positive weight the action
--     returns nothing (reject).
--   * inet.subnet / inet6.subnet matchers raise when they get no address
--     (route/route6 of a host that is not an address of the family), as
--     the original's `ip & mask` on nil does; only match.any() matches it.
--   * Authentication (only with auth_required): _G.ruleset.authenticate if
--     present decides; otherwise s = _G.secrets[username] allows the request
--     iff s == true or (s ~= nil and s == password). A SOCKS4/4A user ID
--     comes with a nil password, so only s == true admits it. An unknown
--     user is always rejected (even with a nil password); the event
--     `authenticate failed: "<user>"` is recorded.
--
-- Event logging: evlog/evlogf and rule tags record into _G.recent_events
-- (whatever the log level) and print `D <time> <file>:<line> <msg>` when
-- _G.config.loglevel >= 6. Go code observes them with stdlib.SetEventSink.

local native = require("libruleset.native")

local split, join, lower = native.split, native.join, native.lower
local parse_ipv4, parse_ipv6 = native.parse_ipv4, native.parse_ipv6
local quote, ruleevent = native.quote, native.ruleevent
local unpack = table.unpack or unpack
local running = coroutine.running

-- Every closure a declarative constructor below returns is remembered with
-- what it was built from, so that a checker (nrt conform --prove) can read
-- the rule tables back as data after the ruleset has loaded. The table is
-- weak-keyed: it never keeps a closure alive, and the request path never
-- reads it. It is reachable only as require("libruleset.native").provenance.
local provenance = setmetatable({}, { __mode = "k" })
native.provenance = provenance

-- remember records f as built by kind from the given arguments (a table
-- with the arguments at 1..n) and returns f.
local function remember(kind, f, ...)
    provenance[f] = { kind = kind, n = select("#", ...), ... }
    return f
end

_G.config = neosocksd.config()

-- Utilities ----------------------------------------------------------------

function _G.printf(fmt, ...)
    print(string.format(fmt, ...))
end

_G.format_timestamp = native.format_timestamp
_G.log, _G.logf = native.log, native.logf
_G.evlog, _G.evlogf = native.evlog, native.evlogf
_G.parse_cidr, _G.parse_cidr6 = native.parse_cidr, native.parse_cidr6

function string.startswith(s, sub)
    return s:sub(1, #sub) == sub
end

function string.endswith(s, sub)
    return s:sub(-#sub) == sub
end

function table.get(t, ...)
    for i = 1, select("#", ...) do
        if t == nil then
            return nil
        end
        t = t[(select(i, ...))]
    end
    return t
end

local function pack(...)
    return { n = select("#", ...), ... }
end

-- text-mode load with an environment: loadstring + setfenv on the Lua 5.1
-- host (the runtime's 5.4 shims make loadstring read Lua 5.4 text, hex
-- floats included), load(s, name, "t", env) elsewhere
local loadtext
if loadstring ~= nil and setfenv ~= nil then
    loadtext = function(s, name, env)
        local f, err = loadstring(s, name)
        if f ~= nil then
            setfenv(f, env)
        end
        return f, err
    end
else
    loadtext = function(s, name, env)
        return load(s, name, "t", env)
    end
end

-- unmarshal(s) = assert(load("return " .. s, "=(unmarshal)", "t", {}))();
-- the text marshal produces is read natively (same values, no compiler)
local fast_unmarshal = native.unmarshal

local function unmarshal_done(s, ok, ...)
    if ok then
        return ...
    end
    local f = assert(loadtext("return " .. s, "=(unmarshal)", {}))
    return f()
end

function _G.unmarshal(s)
    return unmarshal_done(s, fast_unmarshal(s))
end

function package.replace(modname, chunk)
    local old = package.loaded[modname]
    local aliased = old ~= nil and rawequal(_G[modname], old)
    local m = chunk(modname)
    if m ~= nil then
        package.loaded[modname] = m
    else
        package.loaded[modname] = true
    end
    if aliased then
        _G[modname] = m
    end
    return m
end

-- list: a table with list methods
local list = { __name = "list" }
list.__index = list

function list:new(t)
    return setmetatable(t or {}, self)
end

function list:check(t)
    if getmetatable(t) == self then
        return t
    end
    return nil
end

function list:totable()
    return setmetatable(self, nil)
end

function list:insert(...)
    table.insert(self, ...)
    return self
end

function list:remove(...)
    return table.remove(self, ...)
end

function list:unpack(i, j)
    return unpack(self, i or 1, j or #self)
end

function list:concat(...)
    return table.concat(self, ...)
end

function list:iter()
    return ipairs(self)
end

function list:insertf(fmt, ...)
    self[#self + 1] = string.format(fmt, ...)
    return self
end

function list:append(t)
    local n = #self
    for i = 1, #t do
        self[n + i] = t[i]
    end
    return self
end

function list:map(f)
    for i = 1, #self do
        self[i] = f(self[i])
    end
    return self
end

function list:reverse()
    local i, j = 1, #self
    while i < j do
        self[i], self[j] = self[j], self[i]
        i, j = i + 1, j - 1
    end
    return self
end

function list:sort(...)
    table.sort(self, ...)
    return self
end

_G.list = list

-- rlist: ring buffer; items at 1..cap, pos = slot of the newest item.
-- rlist:new(cap, t) uses t (default {}) as storage; t's items 1..n (n <= cap)
-- count as pushed in that order.
local rlist = { __name = "rlist" }
rlist.__index = rlist

function rlist:new(cap, t)
    t = t or {}
    local n = #t
    if n > cap then
        n = cap
    end
    t.pos, t.len, t.cap = n, n, cap
    return setmetatable(t, self)
end

function rlist:check(t)
    if getmetatable(t) == self then
        return t
    end
    return nil
end

function rlist:push(v)
    local pos = self.pos % self.cap + 1
    self[pos] = v
    self.pos = pos
    if self.len < self.cap then
        self.len = self.len + 1
    end
end

function rlist:get(i)
    local len = self.len
    if i < 0 then
        i = len + i + 1
    end
    if i < 1 or i > len then
        return nil
    end
    return self[(self.pos - i) % self.cap + 1]
end

function rlist:iter()
    local i = 0
    return function()
        i = i + 1
        if i > self.len then
            return nil
        end
        return i, self:get(i)
    end
end

_G.rlist = rlist

-- keep ring buffers across reloads of this module
local function keep_rlist(t, cap)
    if type(t) == "table" and type(t.cap) == "number" then
        return setmetatable(t, rlist)
    end
    return rlist:new(cap)
end

_G.recent_events = keep_rlist(_G.recent_events, 100)
_G.stat_requests = keep_rlist(_G.stat_requests, 60)
_G.RECENT_EVENTS_STATS = _G.RECENT_EVENTS_STATS or 10
_G.num_requests = _G.num_requests or 0
_G.num_authorized = _G.num_authorized or 0
_G.secrets = _G.secrets or {}

-- regex.compat: Perl-style class escapes to POSIX bracket expressions
local compat_classes = {
    d = "[0-9]",
    D = "[^0-9]",
    w = "[a-zA-Z0-9_]",
    W = "[^a-zA-Z0-9_]",
    s = "[[:space:]]",
    S = "[^[:space:]]",
}

local function regex_compat(s)
    return (s:gsub("\\(.)", compat_classes))
end

if type(regex) == "table" then
    if regex.compat == nil then
        regex.compat = regex_compat
    end
    regex_compat = regex.compat
end

-- Matchers -----------------------------------------------------------------

local match = {}

function match.any()
    return function()
        return true
    end
end

function match.exact(s)
    return native.exact(s)
end

function match.host(s)
    return native.host(s)
end

function match.port(from, to)
    if type(from) == "table" then
        local set = {}
        for _, p in ipairs(from) do
            set[tostring(p)] = true
        end
        return function(addr)
            local _, port = split(addr)
            return set[port] == true
        end
    end
    to = to or from
    return function(addr)
        local _, port = split(addr)
        local n = tonumber(port)
        return n ~= nil and from <= n and n <= to
    end
end

function match.domain(s)
    if type(s) == "table" then
        return native.domain(s)
    end
    return native.domain1(s)
end

function match.domaintree(tree)
    if type(tree) ~= "table" then
        error("domain tree should be a table", 2)
    end
    return function(addr)
        local host = lower((split(addr)))
        local node = tree
        local e = #host
        while e > 0 do
            local s = e
            while s > 0 and host:byte(s) ~= 46 do
                s = s - 1
            end
            if s < e then
                node = node[host:sub(s + 1, e)]
                if node == true then
                    return true
                end
                if type(node) ~= "table" then
                    return false
                end
            end
            e = s - 1
        end
        return false
    end
end

function match.pattern(p)
    if type(p) == "table" then
        local ps = { unpack(p) }
        return function(addr)
            for i = 1, #ps do
                if addr:find(ps[i]) then
                    return true
                end
            end
            return false
        end
    end
    return function(addr)
        return addr:find(p) ~= nil
    end
end

function match.regex(r)
    if type(r) == "table" then
        local rs = {}
        for _, s in ipairs(r) do
            local ok, re = pcall(regex.compile, regex_compat(s))
            if ok then
                rs[#rs + 1] = re
            else
                evlogf("match.regex: invalid regex %q: %s", s, tostring(re))
            end
        end
        return function(addr)
            for i = 1, #rs do
                if rs[i]:find(addr) then
                    return true
                end
            end
            return false
        end
    end
    local re = regex.compile(regex_compat(r))
    return function(addr)
        return re:find(addr) ~= nil
    end
end

_G.match = match

_G.inet = { subnet = native.subnet }
_G.inet6 = { subnet = native.subnet6 }

-- Rule chains --------------------------------------------------------------

-- find_rule returns the action and tag of the first entry of chain that
-- matches the matcher arguments, or nil.
local function find_rule(chain, ...)
    for i = 1, #chain do
        local entry = chain[i]
        local m, action = entry[1], entry[2]
        if action == nil then
            local a, tag = m(...)
            if a then
                return a, tag
            end
        elseif m(...) then
            return action, entry[3]
        end
    end
    return nil
end

local composite = {}

function composite.inverse(f)
    return function(...)
        return not f(...)
    end
end

function composite.anyof(fs)
    return function(...)
        for i = 1, #fs do
            if fs[i](...) then
                return true
            end
        end
        return false
    end
end

function composite.allof(fs)
    return function(...)
        for i = 1, #fs do
            if not fs[i](...) then
                return false
            end
        end
        return true
    end
end

function composite.maybe(t, k)
    return function(...)
        local f = t[k]
        if f == nil then
            return false
        end
        return f(...)
    end
end

function composite.subchain(t, k)
    return function(...)
        local chain = t[k]
        if chain == nil then
            return nil
        end
        return find_rule(chain, ...)
    end
end

_G.composite = composite

-- Routing flow -------------------------------------------------------------

-- P4: every flow and action receives the number of re-entries made so far
-- in this request as a hidden second argument (actions of users ignore it;
-- the actions of this file pass it on); re-entering actions add one
local MAX_HOPS = 16

local function hop(depth)
    depth = (depth or 0) + 1
    if depth > MAX_HOPS then
        error("routing loop: more than " .. MAX_HOPS .. " re-entries", 0)
    end
    return depth
end

local name_flow, ipv4_flow, ipv6_flow

local function default_flow(addr, depth)
    local d = _G.route_default
    if d == nil then
        return addr
    end
    local tag = d[2]
    if tag ~= nil then
        ruleevent(tag, addr)
    end
    return d[1](addr, depth)
end

-- ip_flow makes the flow of IPv4 or IPv6 addresses: the global table named
-- redirect matched on the address, then the one named route matched on the
-- host parsed by parse, then the default; each table is read only when its
-- turn comes
local function ip_flow(redirect, route, parse)
    return function(addr, depth)
        local t = _G[redirect]
        if t ~= nil then
            local action, tag = find_rule(t, addr)
            if action then
                if tag ~= nil then
                    ruleevent(tag, addr)
                end
                return action(addr, depth)
            end
        end
        t = _G[route]
        if t ~= nil then
            local host = split(addr)
            local action, tag = find_rule(t, parse(host))
            if action then
                if tag ~= nil then
                    ruleevent(tag, addr)
                end
                return action(addr, depth)
            end
        end
        return default_flow(addr, depth)
    end
end

ipv4_flow = ip_flow("redirect", "route", parse_ipv4)
ipv6_flow = ip_flow("redirect6", "route6", parse_ipv6)

name_flow = function(addr, depth)
    local t = _G.redirect_name
    if t ~= nil then
        local action, tag = find_rule(t, addr)
        if action then
            if tag ~= nil then
                ruleevent(tag, addr)
            end
            return action(addr, depth)
        end
    end
    local host, port = split(addr)
    host = lower(host)
    local hosts = _G.hosts
    if hosts ~= nil then
        local mapped = hosts[host]
        if mapped ~= nil then
            addr = join(mapped, port)
            host = mapped
        end
    end
    if parse_ipv4(host) then
        return ipv4_flow(addr, depth)
    end
    if parse_ipv6(host) then
        return ipv6_flow(addr, depth)
    end
    return default_flow(addr, depth)
end

-- route an address whose host is already known: IPv4, IPv6 or a name
local function reroute(addr, host, depth)
    if parse_ipv4(host) then
        return ipv4_flow(addr, depth)
    end
    if parse_ipv6(host) then
        return ipv6_flow(addr, depth)
    end
    return name_flow(addr, depth)
end

local decide = {}

function decide.resolve(addr)
    return name_flow(addr, 0)
end

function decide.route(addr)
    return ipv4_flow(addr, 0)
end

function decide.route6(addr)
    return ipv6_flow(addr, 0)
end

-- Actions ------------------------------------------------------------------

-- reverse turns a first-hop-first proxy list into the returned order
local function reverse(...)
    local n = select("#", ...)
    local t = {}
    for i = 1, n do
        t[n - i + 1] = (select(i, ...))
    end
    return t, n
end

local rule = {}

function rule.direct()
    return function(addr)
        return addr
    end
end

function rule.reject()
    return function()
        return nil
    end
end

function rule.default()
    return function(addr, depth)
        return default_flow(addr, hop(depth))
    end
end

function rule.redirect(dst, ...)
    local h, p = split(dst)
    local chain, n = reverse(...)
    if h ~= "" and p ~= "" then
        return function()
            return dst, unpack(chain, 1, n)
        end
    end
    return function(addr)
        local ah, ap = split(addr)
        if h ~= "" then
            ah = h
        end
        if p ~= "" then
            ap = p
        end
        return join(ah, ap), unpack(chain, 1, n)
    end
end

function rule.proxy(...)
    local chain, n = reverse(...)
    return function(addr)
        return addr, unpack(chain, 1, n)
    end
end

function rule.maybe(t, k)
    return function(addr, depth)
        local f = t[k]
        if f == nil then
            return nil
        end
        return f(addr, depth)
    end
end

function rule.rewrite(pattern, repl, ...)
    local chain, n = reverse(...)
    return function(addr)
        local a = addr:gsub(pattern, repl)
        return a, unpack(chain, 1, n)
    end
end

function rule.loopback(pattern, repl)
    return function(addr, depth)
        depth = hop(depth)
        local a = addr:gsub(pattern, repl)
        return reroute(a, (split(a)), depth)
    end
end

function rule.resolve()
    return function(addr, depth)
        depth = hop(depth)
        local host, port = split(addr)
        local ip = await.resolve(host)
        if ip == nil then
            return nil
        end
        local a = join(ip, port)
        if parse_ipv4(ip) then
            return ipv4_flow(a, depth)
        end
        if parse_ipv6(ip) then
            return ipv6_flow(a, depth)
        end
        return nil
    end
end

_G.rule = rule

local lb = {}

function lb.roundrobin(t)
    local i = 0
    return function(addr, depth)
        i = i % #t + 1
        return t[i](addr, depth)
    end
end

function lb.iwrr(t, cyclesize)
    local step = 0.01
    if cyclesize ~= nil then
        if type(cyclesize) ~= "number" or not (cyclesize >= 1) then
            error("cyclesize must be a number >= 1", 2)
        end
        step = 1 / cyclesize
    end
    local max = 0
    for _, e in ipairs(t) do
        if e[1] > max then
            max = e[1]
        end
    end
    local w, acts = {}, {}
    if max > 0 then
        for _, e in ipairs(t) do
            local v = e[1]
            e[1] = v / max
            if v > 0 then
                w[#w + 1], acts[#acts + 1] = e[1], e[2]
            end
        end
    end
    local n = #w
    local i, r = 0, 0
    return remember("iwrr", function(addr, depth)
        if n == 0 then
            return
        end
        repeat
            i = i % n + 1
        until r < w[i]
        r = r + step
        if r >= 1 then
            r = r - 1
        end
        return acts[i](addr, depth)
    end, t, cyclesize)
end

_G.lb = lb

-- Provenance ---------------------------------------------------------------

-- recorded wraps the constructor t[name] so that what it returns is
-- remembered as kind; the closures themselves are untouched.
local function recorded(t, name, kind)
    local ctor = t[name]
    t[name] = function(...)
        return remember(kind, ctor(...), ...)
    end
end

for _, name in ipairs({ "any", "exact", "host", "port", "domain", "pattern", "regex" }) do
    recorded(match, name, name)
end
recorded(_G.inet, "subnet", "subnet")
recorded(_G.inet6, "subnet", "subnet6")
for _, name in ipairs({ "inverse", "anyof", "allof", "maybe", "subchain" }) do
    recorded(composite, name, name)
end
for _, name in ipairs({ "direct", "reject", "default", "redirect", "proxy", "maybe", "rewrite", "loopback", "resolve" }) do
    recorded(rule, name, "rule." .. name)
end
recorded(lb, "roundrobin", "roundrobin")
-- match.domaintree and lb.iwrr raise at level 2 (their caller); a wrapper
-- would move that blame, so iwrr remembers itself and domaintree, which
-- no proof could use anyway, stays unrecorded.

-- The ruleset --------------------------------------------------------------

local ruleset = {}
local auth_required = config.auth_required

local function authenticate(addr, username, password)
    local rs = _G.ruleset
    local f = nil
    if type(rs) == "table" then
        f = rs.authenticate
    end
    if f ~= nil then
        if f(addr, username, password) then
            return true
        end
        return false
    end
    local s = _G.secrets[username]
    if s == true or (s ~= nil and s == password) then
        return true
    end
    native.authfail(username)
    return false
end

local function request(flow, addr, username, password)
    _G.num_requests = _G.num_requests + 1
    if auth_required and not authenticate(addr, username, password) then
        return nil
    end
    _G.num_authorized = _G.num_authorized + 1
    return await.forward(flow(addr, 0))
end

function ruleset.resolve(addr, username, password)
    return request(name_flow, addr, username, password)
end

function ruleset.route(addr, username, password)
    return request(ipv4_flow, addr, username, password)
end

function ruleset.route6(addr, username, password)
    return request(ipv6_flow, addr, username, password)
end

ruleset.decide = decide

-- the entry points are remembered so that a checker can tell the
-- libruleset flow from a ruleset that replaced it
remember("flow", ruleset.resolve)
remember("flow", ruleset.route)
remember("flow", ruleset.route6)

function ruleset.failover(addr, chains)
    for _, chain in ipairs(chains) do
        if await.forward(addr, unpack(chain)) == true then
            return true
        end
    end
    return false
end

function ruleset.tick()
    _G.stat_requests:push(_G.num_requests)
end

-- render_requests draws the requests of each tick interval, oldest first:
-- the intervals between the num_requests samples ruleset.tick() pushed,
-- then the current interval up to num_requests now, so that requests count
-- from the first second rather than after two ticks. Until the ring of
-- samples wraps, the first interval starts from zero, where num_requests
-- started. The average and maximum include the current, partial interval.
local function render_requests(w)
    local sr = _G.stat_requests
    local deltas = {}
    local prev = nil
    if sr.len < sr.cap then
        prev = 0
    end
    for i = sr.len, 1, -1 do
        local v = sr:get(i)
        if prev ~= nil then
            deltas[#deltas + 1] = v - prev
        end
        prev = v
    end
    deltas[#deltas + 1] = _G.num_requests - prev
    local n, sum, max = #deltas, 0, 0
    for i = 1, n do
        sum = sum + deltas[i]
        if deltas[i] > max then
            max = deltas[i]
        end
    end
    local avg = 0
    if n > 0 then
        avg = sum / n
    end
    w:insertf("> Request Stats (avg=%.1f/min, max=%d)", avg, max)
    for row = 5, 1, -1 do
        local cells = {}
        for i = 1, n do
            if max > 0 and deltas[i] * 5 >= row * max then
                cells[i] = "*"
            else
                cells[i] = " "
            end
        end
        w:insert(table.concat(cells))
    end
    w:insert(string.rep("-", n) .. "*")
end

function ruleset.stats(dt)
    local w = list:new()
    w:insert("> Recent Events")
    local limit = _G.RECENT_EVENTS_STATS
    for i, ev in _G.recent_events:iter() do
        if i > limit then
            break
        end
        local msg, count, tstamp = ev[1], ev[2], ev[3]
        if count > 1 then
            w:insertf("%s %s (x%d)", format_timestamp(tstamp), msg, count)
        else
            w:insertf("%s %s", format_timestamp(tstamp), msg)
        end
    end
    render_requests(w)
    return w:concat("\n")
end

-- Async helpers ------------------------------------------------------------

-- A future is shared: any number of routines may get() it, before or after
-- the routine ends, and each receives the same ok, results... (or false and
-- the same error value). The routines waiting are woken in the order they
-- called get(); a waiter that finishes on being woken may wake its own
-- waiters in turn, so a chain of futures unwinds within one resume.
local future = {}
future.__index = future

function future:get()
    if self.result == nil then
        local waiters = self.waiters
        if waiters == nil then
            waiters = {}
            self.waiters = waiters
        end
        waiters[#waiters + 1] = running()
        coroutine.yield()
    end
    return unpack(self.result, 1, self.result.n)
end

function _G.async(f, ...)
    local t = setmetatable({}, future)
    local co, err = neosocksd.async(function(...)
        t.result = pack(...)
        local waiters = t.waiters
        t.waiters = nil
        if waiters ~= nil then
            for i = 1, #waiters do
                coroutine.resume(waiters[i])
            end
        end
    end, f, ...)
    if co == nil then
        t.result = pack(false, err)
    end
    return t
end

function await.callback(f, ...)
    local co = running()
    local result, waiting = nil, false
    f(function(...)
        result = pack(...)
        if waiting then
            coroutine.resume(co)
        end
    end, ...)
    if result == nil then
        waiting = true
        coroutine.yield()
    end
    return unpack(result, 1, result.n)
end

-- RPC helpers --------------------------------------------------------------

_G.rpc = _G.rpc or {}

function rpc.echo(...)
    return ...
end

_G.msgh = _G.msgh or {}

function msgh.nop()
end

function await.rpcall(target, func, ...)
    local code = string.format("return rpc[%s](%s)", quote(func), marshal(...))
    local ok, f = await.invoke(code, unpack(target))
    if not ok then
        return false, f
    end
    return f()
end

function neosocksd.sendmsg(target, func, ...)
    local code = string.format("msgh[%s](%s)", quote(func), marshal(...))
    neosocksd.invoke(code, unpack(target))
end

return ruleset
