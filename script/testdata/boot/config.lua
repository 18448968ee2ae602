-- a unified boot config: fields plus the ruleset
local mode = ...
assert(mode == "config", "called with " .. tostring(mode))
_G.seen_timeout = neosocksd.config().timeout
local helper = require("helper")
local ruleset = {}
function ruleset.resolve(addr)
	return helper.target(addr)
end
return {
	listen = "127.0.0.1:1080",
	restapi = "127.0.0.1:9080",
	timeout = 30.5,
	loglevel = 6,
	auth_required = false,
	traceback = false,
	memlimit = 64,
	ruleset = ruleset,
}
