-- A ruleset loaded after libruleset54.lua replaced the module "libruleset".
local lib = require("libruleset")
assert(lib.version == "standard Lua 5.4", "the replaced module is not the one required")
_G.route6 = {
    { inet6.subnet("fe80::/10"), rule.reject() },
    { inet6.subnet({ "2001:db8::/32", "fc00::/7" }), rule.redirect("[::1]:" .. tostring(_G.PORT6 or 1)) },
}
return lib.ruleset
