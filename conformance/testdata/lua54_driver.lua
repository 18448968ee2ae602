-- Runs a Lua ruleset on Debian's lua5.4 with stdlib's pure-Lua host
-- stand-ins and prints one line per request, for the conformance suite's
-- comparison with gopher-lua. Run from the stdlib directory:
--   lua5.4 testdata/lua54_host.lua <this file> <ruleset.lua> <requests> <auth 0|1>
-- Request lines: callback US has-user US user US has-pass US pass US addr.
-- Output lines: verdict US target US hops (RS-separated) US events
-- (RS-separated, tag GS addr). US = \31, RS = \30, GS = \29.
local US, RS, GS = "\31", "\30", "\29"
local rsfile, reqfile, auth = arg[2], arg[3], arg[4] == "1"

neosocksd.config = function()
    return { loglevel = 3, auth_required = auth }
end
local native = require("libruleset.native")
local events = {}
native.ruleevent = function(tag, addr)
    events[#events + 1] = tostring(tag) .. GS .. addr
end
native.authfail = function(user)
    events[#events + 1] = "auth-fail" .. GS .. (user == nil and "" or tostring(user))
end
local captured
await.forward = function(...)
    captured = table.pack(...)
    return true
end
await.resolve = function()
    return nil
end

local rs = dofile(rsfile)
_G.ruleset = rs

local function fields(line)
    local t = {}
    for f in (line .. US):gmatch("(.-)" .. US) do
        t[#t + 1] = f
    end
    return t
end

local n = 0
for line in io.lines(reqfile) do
    local f = fields(line)
    local user = f[2] == "1" and f[3] or nil
    local pass = f[4] == "1" and f[5] or nil
    events, captured = {}, nil
    local ok = pcall(rs[f[1]], f[6], user, pass)
    local out
    if not ok then
        out = "E" .. US .. US
    elseif captured == nil or captured[1] == nil then
        out = "X" .. US .. US
    else
        local hops = {}
        for i = captured.n, 2, -1 do
            hops[#hops + 1] = tostring(captured[i])
        end
        out = "R" .. US .. tostring(captured[1]) .. US .. table.concat(hops, RS)
    end
    io.write(out, US, table.concat(events, RS), "\n")
    n = n + 1
end
return n
