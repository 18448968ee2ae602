-- a ruleset driven by simple tables, for the engine tests
_G.hits = _G.hits or 0
local ruleset = {}

local redirect = {
	["redirect.test:80"] = { "127.0.0.1:" .. tostring(_G.UPSTREAM_PORT or 1) },
}

function ruleset.resolve(addr, user, pass)
	_G.hits = _G.hits + 1
	_G.lastuser, _G.lastpass = user, pass
	local host, port = neosocksd.splithostport(addr)
	if host == "reject.test" then
		return nil
	elseif host == "error.test" then
		error("boom")
	elseif host == "garbage.test" then
		return {}
	elseif host == "badaddr.test" then
		return "no port here"
	elseif host == "chain.test" then
		return "127.0.0.1:" .. port, "socks5://127.0.0.3:1080", "socks4a://127.0.0.2:1080", "http://127.0.0.1:8080"
	elseif host == "sleep.test" then
		await.sleep(0.01)
		return "127.0.0.1:" .. port
	elseif host == "resolve.test" then
		local ip = await.resolve("localhost")
		return ip .. ":" .. port
	elseif host == "pcall.test" then
		local ok, v = pcall(function()
			await.sleep(0)
			return "127.0.0.1:" .. port
		end)
		assert(ok, v)
		return v
	elseif host == "xpcall.test" then
		local ok, msg = xpcall(function()
			await.sleep(0)
			error("inner")
		end, function(m) return "handled: " .. tostring(m) end)
		assert(not ok)
		if not msg:find("handled: ruleset:", 1, true) then
			error("handler did not run: " .. tostring(msg))
		end
		return "127.0.0.1:" .. port
	elseif host == "loop.test" then
		while true do end
	elseif host == "redirect.test" then
		return redirect[addr][1]
	end
	return addr
end

function ruleset.route(addr)
	if addr:sub(1, 3) == "10." then return nil end
	return addr
end

function ruleset.route6(addr)
	return addr
end

return ruleset
