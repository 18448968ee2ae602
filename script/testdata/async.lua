-- The RouteAsync tests' ruleset: a small libruleset table ruleset (as
-- nsbench rulesetgen -form table writes them) behind hand-written
-- callbacks for the cases libruleset does not make. Every await.forward's
-- Lua-visible results are appended to _G.trace.
_G.libruleset = require("libruleset")
local lib = _G.libruleset
local reject = rule.reject()
_G.redirect_name = {
    { match.domain({ ".blocked.test", ".ads.test" }), reject },
    { match.exact({ "exact.blocked.test:80" }), reject },
    { match.host("sink.test"), rule.redirect("127.0.0.1:") },
    { match.host("refuse.test"), rule.redirect("10.9.9.9:1") },
    { match.host("slow.test"), rule.redirect("192.0.2.9:9") },
    { match.host("chain.test"), rule.proxy("socks5://127.0.0.2:1080") },
}
_G.route = {
    { inet.subnet({ "10.0.0.0/8", "172.16.0.0/12" }), reject },
    { inet.subnet("127.0.0.0/8"), rule.direct() },
}
_G.route6 = {
    { inet6.subnet("::1/128"), rule.direct() },
}
_G.route_default = { reject }

_G.trace = ""
local function note(...)
    local parts = {}
    for i = 1, select("#", ...) do
        parts[i] = tostring((select(i, ...)))
    end
    _G.trace = _G.trace .. table.concat(parts, " ") .. "\n"
    return select(2, ...) -- the results, without the label
end

local special = {}
special["plain.test"] = function() return "127.0.0.1:7" end
special["plainchain.test"] = function() return "127.0.0.1:7", "socks5://127.0.0.3:1080" end
special["nil.test"] = function() return nil end
special["raise.test"] = function(addr) error("raised for " .. addr) end
special["table.test"] = function() return {} end
special["true.test"] = function() return true end
special["badaddr.test"] = function() return "no-port" end
special["badproxy.test"] = function() return "127.0.0.1:7", "bogus" end
special["long.test"] = function() return string.rep("a", 1100) .. ":80" end
special["many.test"] = function()
    local t = {}
    for i = 1, 300 do t[i] = "127.0.0.1:7" end
    return table.unpack(t)
end
special["failover.test"] = function()
    return note("failover", lib.failover("127.0.0.1:7", { { "socks5://127.0.0.1:1" }, {} }))
end
special["failover-none.test"] = function()
    return note("failover", lib.failover("10.9.9.9:1", { {}, { "socks5://127.0.0.1:1" } }))
end
special["twice.test"] = function()
    note("first", await.forward("10.9.9.9:1"))
    return note("second", await.forward("127.0.0.1:7"))
end
special["refuseforward.test"] = function()
    return note("refused", await.forward("10.9.9.9:1"))
end
special["slowforward.test"] = function()
    return note("slow", await.forward("192.0.2.9:9"))
end
special["hopforward.test"] = function()
    return note("hop", await.forward("127.0.0.1:7", "socks5://127.0.0.1:1"))
end
special["sleepy.test"] = function(addr)
    await.sleep(0.01)
    return note("after sleep", await.forward("127.0.0.1:7"))
end
special["record.test"] = function()
    return note("record", await.forward("127.0.0.1:7"))
end
special["outlive.test"] = function()
    note("outlive", await.forward("127.0.0.1:7"))
    await.sleep(0.01)
    note("outlive", "still running")
    return "127.0.0.1:8"
end
special["afterforward.test"] = function()
    note("forward", await.forward("127.0.0.1:7"))
    error("raised after committing")
end
special["forwardtwice.test"] = function()
    note("forward", await.forward("127.0.0.1:7"))
    return note("again", pcall(await.forward, "127.0.0.1:7"))
end
special["spin.test"] = function()
    while true do end
end
special["forwardnil.test"] = function()
    return note("nil forward", await.forward(nil))
end

local rs = {}
function rs.resolve(addr, user, pass)
    local f = special[addr:match("^(.*):%d+$")]
    if f ~= nil then
        return f(addr, user, pass)
    end
    return lib.resolve(addr, user, pass)
end
rs.route = lib.route
rs.route6 = lib.route6
return rs
