-- full.lua: a ruleset for a small office, showing most of libruleset.
--
--   neosocksd -l 127.0.0.1:1080 --http 127.0.0.1:8080 --api 127.0.0.1:9080 -r full.lua
--
-- Requests flow through the tables below in this order: redirect_name
-- (names as the client sent them), hosts, then, for IP addresses,
-- redirect/route (IPv4) or redirect6/route6 (IPv6), and finally
-- route_default. The first rule that matches decides; a tag (the third
-- field) records an event that /stats shows under "Recent Events".
local ruleset = require("libruleset")

-- Proxies, first hop first. The gateway's password, if it has one, comes
-- from the environment, so that this file can be shared; os.getenv runs
-- when the ruleset loads. (Percent-encode a password's special characters.)
local gateway = "socks5://gateway.lan:1080"
local password = os.getenv("GATEWAY_PASSWORD")
if password ~= nil then
    gateway = "socks5://office:" .. password .. "@gateway.lan:1080"
end
local backup = "http://backup.lan:3128"

-- With --auth-required, these users may connect: a password, or true for
-- "any password". Without --auth-required the table is not consulted.
_G.secrets = {
    alice = "correct horse battery staple",
    monitoring = true,
}

-- Names as the client sent them ("host:port").
_G.redirect_name = {
    -- the office wiki moved; old bookmarks keep working
    { match.exact("wiki.office.lan:80"), rule.redirect("intranet.office.lan:8080"), "wiki" },
    -- local names never leave the building
    { match.domain({ ".lan", ".local" }), rule.direct(), "lan" },
    -- two exits for video, alternating request by request
    { match.domain({ "video.example" }), lb.roundrobin({ rule.proxy(gateway), rule.proxy(backup) }), "video" },
    -- a regular expression (POSIX ERE) on the whole "host:port"
    { match.regex("^ads[0-9]*\\.example\\.(com|net):"), rule.reject(), "ads" },
}

-- Static names, looked up before DNS.
_G.hosts = {
    ["printer.office.lan"] = "192.168.1.20",
}

-- IPv4 destinations.
_G.route = {
    { inet.subnet({ "127.0.0.0/8", "169.254.0.0/16" }), rule.reject() },
    { inet.subnet("192.168.0.0/16"), rule.direct(), "lan" },
    -- the lab is two hops away: through the gateway, then the lab's proxy
    { inet.subnet("10.20.0.0/16"), rule.proxy(gateway, "socks4a://lab.lan:1080"), "lab" },
}

-- IPv6 destinations.
_G.route6 = {
    { inet6.subnet({ "::1/128", "fe80::/10" }), rule.reject() },
    { inet6.subnet("fd00::/8"), rule.direct(), "lan" },
}

-- Everything else: mostly through the gateway, one request in four through
-- the backup proxy.
_G.route_default = {
    lb.iwrr({
        { 3, rule.proxy(gateway) },
        { 1, rule.proxy(backup) },
    }),
    "internet",
}

return ruleset
