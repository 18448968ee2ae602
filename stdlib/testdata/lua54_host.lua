-- Lua 5.4 stand-ins for the Go host, used to run the pure-Lua test files
-- on Debian's lua5.4 against the same libruleset.lua: neosocksd.* address
-- helpers, await = {}, and a pure-Lua "libruleset.native". Lua 5.4 only
-- (bit operators); never embedded.
--
-- usage: lua5.4 testdata/lua54_host.lua <test file>

package.path = "lua/?.lua;" .. package.path

local function split(s)
    s = tostring(s)
    if #s > 261 then
        error(string.format("address too long: %d bytes", #s), 2)
    end
    local i = s:match(".*():")
    if not i then
        error("invalid address: `" .. s .. "'", 2)
    end
    local host, port = s:sub(1, i - 1), s:sub(i + 1)
    if #host >= 2 and host:sub(1, 1) == "[" and host:sub(-1) == "]" then
        return host:sub(2, -2), port
    end
    if host:find(":", 1, true) then
        error("invalid address: `" .. s .. "'", 2)
    end
    return host, port
end

local function parse_ipv4(s)
    if type(s) ~= "string" and type(s) ~= "number" then
        return
    end
    s = tostring(s)
    local p = { s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
    if #p ~= 4 then
        return
    end
    local v = 0
    for _, d in ipairs(p) do
        if #d > 3 or (#d > 1 and d:sub(1, 1) == "0") or tonumber(d) > 255 then
            return
        end
        v = v * 256 + tonumber(d)
    end
    return v
end

local function groups(part, allow_v4)
    local g = {}
    if part == "" then
        return g
    end
    local items = {}
    for item in (part .. ":"):gmatch("(.-):") do
        items[#items + 1] = item
    end
    for idx, item in ipairs(items) do
        if item:find(".", 1, true) then
            local v4 = idx == #items and allow_v4 and parse_ipv4(item)
            if not v4 then
                return nil
            end
            g[#g + 1] = v4 >> 16
            g[#g + 1] = v4 & 0xffff
        else
            if #item < 1 or #item > 4 or item:find("%X") then
                return nil
            end
            g[#g + 1] = tonumber(item, 16)
        end
    end
    return g
end

local function parse_ipv6(s)
    if type(s) ~= "string" then
        return
    end
    if #s < 2 or #s > 45 or s:find("[^%x:%.]") then
        return
    end
    local head, tail = s, nil
    local i = s:find("::", 1, true)
    if i then
        head, tail = s:sub(1, i - 1), s:sub(i + 2)
        if tail:find("::", 1, true) then
            return
        end
    end
    local hg = groups(head, tail == nil)
    local tg = groups(tail or "", true)
    if not hg or not tg then
        return
    end
    local g = {}
    if tail then
        if #hg + #tg > 7 then
            return
        end
        for _, v in ipairs(hg) do
            g[#g + 1] = v
        end
        for _ = 1, 8 - #hg - #tg do
            g[#g + 1] = 0
        end
        for _, v in ipairs(tg) do
            g[#g + 1] = v
        end
    else
        if #hg ~= 8 then
            return
        end
        g = hg
    end
    -- two 64-bit integers (high, low), as the original on Lua 5.4
    return g[1] << 48 | g[2] << 32 | g[3] << 16 | g[4], g[5] << 48 | g[6] << 32 | g[7] << 16 | g[8]
end

_G.neosocksd = {
    splithostport = split,
    parse_ipv4 = parse_ipv4,
    parse_ipv6 = parse_ipv6,
    config = function()
        return { loglevel = 3, auth_required = false }
    end,
}
_G.await = {}

local function lower(s)
    return (s:gsub("%u", function(c)
        return string.char(c:byte() + 32)
    end))
end

local function join(h, p)
    if h:find(":", 1, true) then
        return "[" .. h .. "]:" .. p
    end
    return h .. ":" .. p
end

local function list_arg(v)
    if type(v) == "table" then
        return v
    end
    return { v }
end

local function canonical(s)
    local labels = {}
    for l in lower(s):gmatch("[^.]+") do
        labels[#labels + 1] = l
    end
    return table.concat(labels, ".")
end

local function split_cidr(s, max)
    local i = s:match(".*()/")
    if not i then
        return s, max
    end
    local p = s:sub(i + 1)
    if p == "" or #p > 3 or p:find("%D") then
        return nil
    end
    local bits = tonumber(p)
    if bits > max then
        return nil
    end
    return s:sub(1, i - 1), bits
end

local function parse_cidr(s)
    local a, bits = split_cidr(s, 32)
    if not a then
        error(string.format("invalid prefix size %q", s), 2)
    end
    local ip = parse_ipv4(a)
    if not ip or (bits < 32 and (ip << bits) & 0xffffffff ~= 0) then
        error(string.format("invalid subnet %q", s), 2)
    end
    return ip, bits
end

local function mask32(b)
    if b <= 0 then
        return 0
    end
    if b >= 32 then
        return 0xffffffff
    end
    return (0xffffffff << (32 - b)) & 0xffffffff
end

-- mask64(b) is the mask of the first b bits of a 64-bit half (b is
-- clamped to 0..64).
local function mask64(b)
    if b <= 0 then
        return 0
    end
    if b >= 64 then
        return -1
    end
    return ~(-1 >> b)
end

local function parse_cidr6(s)
    local a, bits = split_cidr(s, 128)
    if not a then
        error(string.format("invalid prefix size %q", s), 2)
    end
    local hi, lo = parse_ipv6(a)
    if not hi or hi & ~mask64(bits) ~= 0 or lo & ~mask64(bits - 64) ~= 0 then
        error(string.format("invalid subnet %q", s), 2)
    end
    return hi, lo, bits
end

local function format_timestamp(t)
    local s = os.date("%Y-%m-%dT%H:%M:%S%z", math.floor(t))
    return s:sub(1, -3) .. ":" .. s:sub(-2)
end

local function where(level)
    local info = debug.getinfo(level + 1, "Sl")
    local src = info.source
    if src:sub(1, 1) == "@" then
        src = src:sub(2):match("[^/]*$")
    else
        src = info.short_src
    end
    return src .. ":" .. info.currentline
end

local function verbose()
    return type(_G.config) == "table" and (_G.config.loglevel or 0) >= 6
end

local function print_line(msg, level)
    print("D " .. format_timestamp(os.time()) .. " " .. where(level + 1) .. " " .. msg)
end

local function join_args(...)
    local t = {}
    for i = 1, select("#", ...) do
        t[i] = tostring((select(i, ...)))
    end
    return table.concat(t, "\t")
end

local function record(msg)
    if verbose() then
        print_line(msg, 3)
    end
    local rl = _G.recent_events
    if type(rl) ~= "table" then
        return
    end
    local last = rl.len > 0 and rl[rl.pos]
    if last and last[1] == msg then
        last[2] = last[2] + 1
        last[3] = os.time()
        return
    end
    local pos = rl.pos % rl.cap + 1
    rl[pos] = { msg, 1, os.time() }
    rl.pos = pos
    if rl.len < rl.cap then
        rl.len = rl.len + 1
    end
end

local native = {
    split = split,
    join = join,
    lower = lower,
    quote = function(v)
        return string.format("%q", v)
    end,
    parse_ipv4 = parse_ipv4,
    parse_ipv6 = parse_ipv6,
    parse_cidr = parse_cidr,
    parse_cidr6 = parse_cidr6,
    format_timestamp = format_timestamp,
    now = os.time,
    -- no native reader here: unmarshal always takes the load path
    unmarshal = function()
        return false
    end,
}

function native.exact(v)
    local set = {}
    for _, s in ipairs(list_arg(v)) do
        split(s)
        set[lower(s)] = true
    end
    return function(addr)
        if type(addr) ~= "string" and type(addr) ~= "number" then
            return false
        end
        return set[lower(tostring(addr))] == true
    end
end

function native.host(v)
    local set = {}
    for _, s in ipairs(list_arg(v)) do
        set[lower(s)] = true
    end
    return function(addr)
        return set[lower((split(addr)))] == true
    end
end

function native.domain(v)
    local set = {}
    for _, s in ipairs(v) do
        local c = canonical(s)
        if c ~= "" then
            set[c] = true
        end
    end
    return function(addr)
        local h = canonical((split(addr)))
        while h ~= "" do
            if set[h] then
                return true
            end
            local i = h:find(".", 1, true)
            if not i then
                return false
            end
            h = h:sub(i + 1)
        end
        return false
    end
end

function native.domain1(s)
    s = lower(s)
    if s:sub(1, 1) == "." then
        s = s:sub(2)
    end
    local dot = "." .. s
    return function(addr)
        local h = lower((split(addr)))
        return h == s or h:sub(-#dot) == dot
    end
end

function native.subnet(v)
    local nets = {}
    for _, s in ipairs(list_arg(v)) do
        local ip, bits = parse_cidr(s)
        nets[#nets + 1] = { ip, mask32(bits) }
    end
    return function(ip)
        if math.type(ip) ~= "integer" then
            error("inet.subnet: address expected, got " .. type(ip), 2)
        end
        for _, n in ipairs(nets) do
            if ip & n[2] == n[1] then
                return true
            end
        end
        return false
    end
end

function native.subnet6(v)
    local nets = {}
    for _, s in ipairs(list_arg(v)) do
        local hi, lo, bits = parse_cidr6(s)
        nets[#nets + 1] = { hi, lo, mask64(bits), mask64(bits - 64) }
    end
    return function(hi, lo)
        if math.type(hi) ~= "integer" then
            error("inet6.subnet: address expected, got " .. type(hi), 2)
        end
        if math.type(lo) ~= "integer" then
            error("inet6.subnet: address expected, got " .. type(lo), 2)
        end
        for _, n in ipairs(nets) do
            if hi & n[3] == n[1] and lo & n[4] == n[2] then
                return true
            end
        end
        return false
    end
end

function native.log(...)
    if verbose() then
        print_line(join_args(...), 2)
    end
end

function native.logf(fmt, ...)
    if verbose() then
        print_line(string.format(fmt, ...), 2)
    end
end

function native.evlog(...)
    record(join_args(...))
end

function native.evlogf(fmt, ...)
    record(string.format(fmt, ...))
end

function native.ruleevent(tag, addr)
    record(string.format("[%s] %q", tostring(tag), addr))
end

function native.authfail(user)
    record(string.format("authenticate failed: %q", user))
end

package.preload["libruleset.native"] = function()
    return native
end

local file = assert(arg[1], "usage: lua5.4 testdata/lua54_host.lua <test file>")
local n = dofile(file)
io.write(string.format("%s: %d assertions\n", file, n))
