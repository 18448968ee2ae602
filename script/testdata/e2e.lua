-- end-to-end ruleset: the tests set _G.ECHO (an echo server) and
-- _G.PROXY (another proxy) with /ruleset/invoke before connecting
local ruleset = {}

local function failover(addr, chains)
	local errs = {}
	for _, chain in ipairs(chains) do
		local ok, err = await.forward(addr, table.unpack(chain))
		if ok then
			return true
		end
		errs[#errs + 1] = tostring(err)
	end
	_G.forward_errors = table.concat(errs, ";")
	return false
end

function ruleset.resolve(addr, user, pass)
	local host = neosocksd.splithostport(addr)
	if host == "echo.test" then
		return _G.ECHO
	elseif host == "reject.test" then
		return nil
	elseif host == "chain.test" then
		return _G.ECHO, "socks5://" .. _G.PROXY
	elseif host == "sleep.test" then
		await.sleep(0.01)
		return _G.ECHO
	elseif host == "failover.test" then
		-- first a dead port, then the echo server
		local ok = failover(_G.ECHO, { { "socks5://" .. _G.DEAD }, {} })
		return ok
	elseif host == "allfail.test" then
		return failover(_G.DEAD, { {}, {} })
	elseif host == "loop.test" then
		while true do end
	elseif host == "forwardlate.test" then
		local ok = await.forward(_G.ECHO)
		await.sleep(0.01)
		_G.after_commit = ok
		return "ignored.invalid:1"
	end
	return nil
end

return ruleset
