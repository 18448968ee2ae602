-- written by hand, in the style of upstream's ruleset_simple.lua
local ruleset = require("libruleset")
local gw = "socks5://gw.lan:1080"
_G.secrets = { alice = "s3cret" }
_G.redirect_name = {
    { match.exact("server.lan:22"), rule.redirect("127.0.0.1:22"), "ssh" },
    { match.domain({ ".local" }), rule.direct() },
    { match.host("server.lan"), rule.redirect("127.0.0.1:"), "localhost" },
    { match.domain({ "lb.example" }), lb.roundrobin({ rule.proxy(gw), rule.direct() }), "lb" },
}
_G.hosts = { ["site1.lan"] = "192.168.1.100" }
_G.route = {
    { inet.subnet("127.0.0.0/8"), rule.reject() },
    { inet.subnet("192.168.0.0/24"), rule.direct(), "lan" },
}
_G.route6 = {
    { inet6.subnet({ "::1/128", "fe80::/10" }), rule.reject() },
}
_G.route_default = { rule.proxy(gw), "gw" }
return ruleset
