-- A ruleset in the style of neosocksd's example/ruleset_simple.lua (the
-- decisions of ex1 of the route-table design): every routing table,
-- match.*, rule.*, inet*.subnet and composite.maybe.
_G.libruleset = require("libruleset")

_G.redirect_name = {
    -- access mDNS sites directly
    { match.domain(".local"), rule.direct() },
    -- ssh and the web interface of the local server
    { match.exact("server.lan:22"), rule.redirect("127.0.0.1:22"), "ssh" },
    { match.exact("server.lan:80"), rule.redirect("127.0.0.1:80") },
    { match.exact("server.lan:443"), rule.reject() },
    { match.host("server.lan"), rule.redirect("127.0.0.1:"), "localhost" },
    -- a big list of names, loaded at run time
    { composite.maybe(_G, "biglist_name"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}

_G.hosts = {
    ["site1.lan"] = "192.168.1.100",
    ["site6.lan"] = "2001:db8::100",
}

_G.redirect = {
    { match.exact("1.1.1.1:53"), rule.redirect("127.0.0.53:53") },
    { match.exact("1.0.0.1:53"), rule.redirect("127.0.0.53:53") },
}

_G.redirect6 = {
    { match.port(53), rule.redirect("127.0.0.53:53") },
}

_G.route = {
    { inet.subnet("127.0.0.0/8"), rule.reject() },
    { inet.subnet("169.254.0.0/16"), rule.reject() },
    { inet.subnet("192.168.0.0/16"), rule.direct(), "lan" },
    { composite.maybe(_G, "biglist"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}

_G.route6 = {
    { inet6.subnet({ "::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "::ffff:0:0/96" }), rule.reject() },
    { composite.maybe(_G, "biglist6"), rule.proxy("socks4a://front-proxy.lan:1080"), "biglist" },
}

_G.route_default = { rule.proxy("socks5://user:pass@gateway.lan:1080"), "gateway" }

local ruleset = setmetatable({}, {
    __index = function(_, k)
        return _G.libruleset[k]
    end,
})
return ruleset
