-- generated from ex2.nrt by nrt translate; edit the route table, not this file
local ruleset = require("libruleset")

-- set big (ex2.nrt:6:5)
local set4_big = inet.subnet({ "203.0.113.0/24", "198.51.100.7/32" })
local set6_big = inet6.subnet({ "2001:db8:beef::/48" })
local CHAINS = {}
_G.redirect_name = {
    -- ex2.nrt:11:5
    { match.exact({ "peer0.lan:22" }), rule.redirect("host-gateway:22"), "ssh" },
    -- ex2.nrt:12:5
    { match.exact({ "peer0.lan:80", "peer0.lan:443" }), rule.redirect(":8443"), "web" },
    -- ex2.nrt:13:5
    { match.domain({ "lan", "local" }), rule.direct(), "lan" },
}
_G.redirect = nil
_G.redirect6 = nil
_G.route = {
    -- ex2.nrt:20:5
    { inet.subnet({ "192.168.32.0/24" }), rule.proxy("socks4a://192.168.32.1:1080"), "region1" },
    -- ex2.nrt:21:5
    { inet.subnet({ "192.168.33.0/24" }), rule.proxy("socks4a://192.168.32.1:1080", "socks4a://192.168.33.1:1080"), "region2" },
    -- ex2.nrt:22:5
    { inet.subnet({ "192.168.0.0/16" }), rule.direct(), "lan" },
    -- ex2.nrt:23:5
    { set4_big, rule.direct(), "biglist" },
}
_G.route6 = {
    -- ex2.nrt:26:5
    { set6_big, rule.direct(), "biglist" },
}
_G.hosts = {
    ["gateway.region1.lan"] = "192.168.32.1", -- ex2.nrt:16:5
    ["host123.region2.lan"] = "192.168.33.123", -- ex2.nrt:17:5
}
_G.secrets = {
    ["lamer"] = "secret",
}
-- ex2.nrt:28:1
_G.route_default = { rule.proxy("socks5://user:p%40ss%20word@gateway.lan:1080"), "wan" }
return ruleset
