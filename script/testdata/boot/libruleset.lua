#!/usr/bin/env neosocksd -r
-- the shipped framework through require, with a routing table
local libruleset = require("libruleset")
_G.redirect_name = {
	{ match.exact("lib.test:80"), rule.redirect("127.0.0.1:9") },
}
return libruleset
