-- generated from ex1.nrt by nrt translate; edit the route table, not this file
local ruleset = require("libruleset")

local CHAINS = {}
_G.redirect_name = {
    -- ex1.nrt:7:5
    { match.domain({ "local" }), rule.direct() },
    -- ex1.nrt:8:5
    { match.exact({ "server.lan:22" }), rule.redirect("127.0.0.1:22"), "ssh" },
    -- ex1.nrt:9:5
    { match.exact({ "server.lan:80" }), rule.redirect("127.0.0.1:80") },
    -- ex1.nrt:10:5
    { match.exact({ "server.lan:443" }), rule.reject() },
    -- ex1.nrt:11:5
    { match.host({ "server.lan" }), rule.redirect("127.0.0.1:"), "localhost" },
    -- ex1.nrt:12:5
    { composite.maybe(_G, "biglist_name"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}
_G.redirect = {
    -- ex1.nrt:18:5
    { match.exact({ "1.1.1.1:53" }), rule.redirect("127.0.0.53:53") },
    -- ex1.nrt:19:5
    { match.exact({ "1.0.0.1:53" }), rule.redirect("127.0.0.53:53") },
}
_G.redirect6 = {
    -- ex1.nrt:22:5
    { match.port(53), rule.redirect("127.0.0.53:53") },
}
_G.route = {
    -- ex1.nrt:25:5
    { inet.subnet({ "127.0.0.0/8", "169.254.0.0/16" }), rule.reject() },
    -- ex1.nrt:26:5
    { inet.subnet({ "192.168.0.0/16" }), rule.direct(), "lan" },
    -- ex1.nrt:27:5
    { composite.maybe(_G, "biglist"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}
_G.route6 = {
    -- ex1.nrt:30:5
    { inet6.subnet({ "::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "::ffff:0.0.0.0/96" }), rule.reject() },
    -- ex1.nrt:31:5
    { composite.maybe(_G, "biglist6"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}
_G.hosts = {
    ["site1.lan"] = "192.168.1.100", -- ex1.nrt:15:5
}
_G.secrets = {
}
-- ex1.nrt:33:1
_G.route_default = { rule.proxy("socks5://user:pass@gateway.lan:1080"), "gateway" }
return ruleset
