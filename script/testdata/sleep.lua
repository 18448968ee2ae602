-- Every request parks in await.sleep for an hour; _G.parked counts them.
_G.parked = 0
local ruleset = {}
function ruleset.resolve(addr)
	_G.parked = _G.parked + 1
	await.sleep(3600)
	return addr
end
return ruleset
