-- generated from ex3.nrt by nrt translate; edit the route table, not this file
local ruleset = require("libruleset")

-- action backends (ex3.nrt:1:19)
local action_backends = lb.iwrr({ { 100, rule.redirect("10.0.0.1:30001") }, { 100, rule.redirect("10.0.0.2:30001") }, { 100, rule.redirect("10.0.0.3:30001") }, { 100, rule.redirect("10.0.0.4:30001") }, { 50, rule.redirect("10.0.0.5:30001") } }, 100)
-- action egress (ex3.nrt:2:17)
local action_egress = lb.roundrobin({ rule.proxy("socks5://e1.lan:1080"), rule.proxy("socks5://e2.lan:1080"), rule.direct() })
local CHAINS = {}
_G.redirect_name = {
    -- ex3.nrt:4:5
    { match.domain({ "admin.example" }), action_egress, "admin" },
}
_G.redirect = nil
_G.redirect6 = nil
_G.route = {
    -- ex3.nrt:7:5
    { inet.subnet({ "10.9.0.0/16" }), action_egress, "admin" },
}
_G.route6 = nil
_G.hosts = nil
_G.secrets = {
}
-- ex3.nrt:9:1
_G.route_default = { action_backends }
return ruleset
