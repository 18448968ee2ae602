local ruleset = {}
function ruleset.resolve(addr)
	_G.rejected = (_G.rejected or 0) + 1
	return nil
end
ruleset.route = ruleset.resolve
ruleset.route6 = ruleset.resolve
return ruleset
