-- minimal.lua: the smallest useful ruleset. Everything goes out directly,
-- except loopback and link-local destinations, which are refused.
--
--   neosocksd -l 127.0.0.1:1080 -r minimal.lua
local ruleset = require("libruleset")

_G.route = {
    { inet.subnet({ "127.0.0.0/8", "169.254.0.0/16" }), rule.reject() },
}
_G.route6 = {
    { inet6.subnet({ "::1/128", "fe80::/10" }), rule.reject() },
}
_G.route_default = { rule.direct() }

return ruleset
