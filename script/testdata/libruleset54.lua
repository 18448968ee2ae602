-- A small ruleset framework written for standard Lua 5.4, in the style a
-- user of the C original deploys with /ruleset/update?module=libruleset:
-- IPv6 subnets are (hi, lo) pairs of 64-bit integers from
-- neosocksd.parse_ipv6, matched with 64-bit masks. It replaces the embedded
-- libruleset; later rulesets `require "libruleset"` and get this one.
local M = {}

-- mask(bits) is the mask of the first bits of one 64-bit half.
local function mask(bits)
    if bits <= 0 then
        return 0
    elseif bits >= 64 then
        return 0xFFFFFFFFFFFFFFFF
    end
    return ~(0xFFFFFFFFFFFFFFFF >> bits)
end

function M.parse_cidr6(s)
    local a, n = s:match("^(.-)/(%d+)$")
    local bits = tonumber(n or 128)
    a = a or s
    if not bits or bits > 128 then
        error(string.format("invalid prefix size %q", s), 2)
    end
    local hi, lo = neosocksd.parse_ipv6(a)
    local mhi, mlo = mask(bits), mask(bits - 64)
    if not hi or (hi & mhi) ~= hi or (lo & mlo) ~= lo then
        error(string.format("invalid subnet %q", s), 2)
    end
    return hi, lo, mhi, mlo
end

_G.inet6 = {}
function inet6.subnet(list)
    if type(list) == "string" then
        list = { list }
    end
    local nets = {}
    for i, s in ipairs(list) do
        nets[i] = { M.parse_cidr6(s) }
    end
    return function(hi, lo)
        for _, n in ipairs(nets) do
            if (hi & n[3]) == n[1] and (lo & n[4]) == n[2] then
                return true
            end
        end
        return false
    end
end

_G.rule = {}
function rule.direct()
    return function(addr) return addr end
end
function rule.reject()
    return function() return nil end
end
function rule.redirect(to)
    return function() return to end
end

local function first(chain, ...)
    for _, entry in ipairs(chain or {}) do
        if entry[1](...) then
            return entry[2]
        end
    end
end

-- ruleset callbacks: route6 consults _G.route6 with (hi, lo)
local ruleset = {}
function ruleset.route6(addr)
    local host = neosocksd.splithostport(addr)
    local action = first(_G.route6, neosocksd.parse_ipv6(host))
    if action then
        return action(addr)
    end
    return addr
end
function ruleset.resolve(addr)
    return addr
end
ruleset.route = ruleset.resolve
M.ruleset = ruleset
M.version = "standard Lua 5.4"
return M
