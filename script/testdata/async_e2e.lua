-- The RouteAsync end-to-end test's ruleset: a small libruleset table
-- ruleset (as nsbench rulesetgen -form table writes them) behind
-- hand-written callbacks: failover, reject, raise, sleep, a refused
-- forward. _G.ECHO (an echo server) and _G.DEAD (a closed port) are set
-- before it loads.
_G.libruleset = require("libruleset")
local lib = _G.libruleset
local reject = rule.reject()
_G.redirect_name = {
    { match.domain({ ".blocked.test", ".ads.test" }), reject },
    { match.exact({ "exact.blocked.test:80" }), reject },
    { match.host("sink.test"), rule.redirect("127.0.0.1:") },
    { match.host("refuse.test"), rule.redirect(_G.DEAD) },
}
_G.route = {
    { inet.subnet({ "10.0.0.0/8", "172.16.0.0/12" }), reject },
    { inet.subnet("127.0.0.0/8"), rule.direct() },
}
_G.route6 = {
    { inet6.subnet("::1/128"), rule.direct() },
}
_G.route_default = { reject }

local special = {}
special["failover.test"] = function()
    return lib.failover(_G.ECHO, { { "socks5://" .. _G.DEAD }, {} })
end
special["raise.test"] = function(addr) error("raised for " .. addr) end
special["slow.test"] = function()
    await.sleep(0.02)
    return await.forward(_G.ECHO)
end
special["plain.test"] = function() return _G.ECHO end
special["nil.test"] = function() return nil end

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
