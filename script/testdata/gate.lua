-- every request waits at a gate the test opens
local ruleset = {}
function ruleset.resolve(addr)
	_G.waiting = (_G.waiting or 0) + 1
	while not _G.open do
		await.sleep(0.001)
	end
	return addr
end
return ruleset
