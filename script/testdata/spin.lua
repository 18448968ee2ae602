-- routines that poll with await.sleep(0) must not starve other work
local ruleset = {}
function ruleset.resolve(addr)
	while not _G.open do
		await.sleep(0)
	end
	return addr
end
return ruleset
