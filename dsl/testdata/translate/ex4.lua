-- generated from ex4.nrt by nrt translate; edit the route table, not this file
local ruleset = require("libruleset")

-- set corp (ex4.nrt:2:5)
local set_corp = match.domain({ "corp.example", "corp-cdn.example" })
-- set ads (ex4.nrt:3:5)
local set_ads = match.domain({ "doubleclick.net", "ads.example" })
-- set blocked (ex4.nrt:4:5)
local set_blocked = composite.anyof({ match.domain({ "tracker.example", "ads2.example" }), match.host({ "exact.block.example" }), match.regex({ "^ad[0-9]+\\." }), match.pattern({ "malware" }) })
local CHAINS = {}
-- chain internal (ex4.nrt:9:7)
CHAINS["internal"] = {
    -- ex4.nrt:10:5
    { composite.allof({ match.host({ "wiki.corp.example" }), composite.anyof({ match.port(80), match.port(443) }) }), rule.redirect("10.1.0.10:443"), "wiki" },
    -- ex4.nrt:11:5
    { composite.allof({ set_corp, composite.inverse(match.port(22)) }), rule.proxy("socks5://gw.lan:1080"), "corp" },
}
_G.redirect_name = {
    -- ex4.nrt:14:5
    { composite.subchain(CHAINS, "internal") },
    -- ex4.nrt:15:5
    { composite.anyof({ set_ads, set_blocked }), rule.reject(), "blocked" },
    -- ex4.nrt:16:5
    { match.pattern({ "^[%w-]+%.onion:%d+$" }), rule.proxy("socks5://127.0.0.1:9050"), "onion" },
    -- ex4.nrt:17:5
    { match.regex({ "^([a-z0-9-]+\\.)*s3\\.example:443$" }), rule.rewrite("%.s3%.example", ".s3-mirror.lan", "socks5://gw.lan:1080") },
    -- ex4.nrt:18:5
    { match.domain({ "legacy.example" }), rule.loopback("legacy%.example", "new.example") },
    -- ex4.nrt:19:5
    { match.domain({ "new.example" }), rule.resolve(), "resolved" },
}
_G.redirect = nil
_G.redirect6 = nil
_G.route = {
    -- ex4.nrt:22:5
    { composite.allof({ inet.subnet({ "10.0.0.0/8" }), composite.inverse(inet.subnet({ "10.66.0.0/16" })) }), rule.direct(), "rfc1918" },
}
_G.route6 = {
    -- ex4.nrt:25:5
    { inet6.subnet({ "2001:db8::/32" }), rule.default() },
}
_G.hosts = nil
_G.secrets = {
    ["alice"] = "s3cret",
    ["robot"] = true,
}
-- ex4.nrt:27:1
_G.route_default = { rule.proxy("socks5://gw.lan:1080"), "default" }
return ruleset
